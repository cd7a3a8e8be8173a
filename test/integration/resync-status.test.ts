import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubernetesObject } from '../../src/api/object.ts';
import { useCluster } from '../support/cluster.ts';
import type { ProxiedRequest } from '../support/fault-proxy.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { waitForApplyStep } from '../support/metrics.ts';
import { shoalObjects } from '../support/objects.ts';
import { startProxiedShoal } from '../support/shoal.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, kubectl, newNamespace } = useCluster();

// A Deployment an HPA in the same set scales (so the sync never sends its replicas), the HPA, and a
// PodDisruptionBudget: three kinds whose status their controllers keep writing. Tier A runs no
// controllers, so the test writes their status (and the HPA's scale) as they would.
const files = {
  'apps/web.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: "registry.invalid/web:1"}]}
`,
  'apps/hpa.yaml': `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 6
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}}]
`,
  'apps/pdb.yaml': `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: web}}
`,
};

describe('re-syncs of objects whose controllers write their status', () => {
  let ns: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startProxiedShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  let round = 0;

  /** What the controllers do between two syncs: status writes of all three, and a scale of web. */
  const controllersAtWork = async () => {
    round += 1;
    const status = (resource: string, body: unknown) =>
      kubectl(
        '-n',
        ns,
        'patch',
        resource,
        'web',
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify(body),
      );
    await status('deployment', {
      status: { observedGeneration: round, replicas: 2 + round, readyReplicas: round },
    });
    await status('hpa', {
      status: {
        currentReplicas: 2 + round,
        desiredReplicas: 2 + round,
        lastScaleTime: new Date().toISOString(),
      },
    });
    await status('pdb', {
      status: {
        currentHealthy: round,
        desiredHealthy: 1,
        disruptionsAllowed: 0,
        expectedPods: 2 + round,
        observedGeneration: 1,
      },
    });
    // The HPA controller scales through the scale subresource, as kube-controller-manager.
    await kubectl(
      '-n',
      ns,
      'patch',
      'deployment',
      'web',
      '--subresource=scale',
      '--type=merge',
      '--field-manager=kube-controller-manager',
      '-p',
      JSON.stringify({ spec: { replicas: 2 + round } }),
    );
  };

  /** The dry runs and applies the operator sent for the three objects since log index `from`. */
  const sent = (from: number) =>
    shoal.proxy.log
      .slice(from)
      .filter(
        (r: ProxiedRequest) =>
          r.method === 'PATCH' &&
          r.path.includes(`/namespaces/${ns}/`) &&
          /\/(deployments|horizontalpodautoscalers|poddisruptionbudgets)\/web$/.test(r.path),
      )
      .map((r) => `${r.query.get('dryRun') ? 'dry-run' : 'apply'} ${r.path.split('/').slice(-2).join('/')}`);

  /** One of the three objects (all named web), as the API server has it now. */
  const web = <T extends KubernetesObject>(apiVersion: string, kind: string) =>
    kube.get<T>({ apiVersion, kind, namespace: ns, name: 'web' });
  const replicas = async () =>
    (await web<KubernetesObject & { spec: { replicas: number } }>('apps/v1', 'Deployment'))?.spec.replicas;
  const resourceVersions = () =>
    Promise.all(
      [
        ['apps/v1', 'Deployment'],
        ['autoscaling/v2', 'HorizontalPodAutoscaler'],
        ['policy/v1', 'PodDisruptionBudget'],
      ].map(async ([apiVersion = '', kind = '']) => (await web(apiVersion, kind))?.metadata?.resourceVersion),
    );

  beforeAll(async () => {
    ns = await newNamespace('resync-status');
    o = shoalObjects(kube, ns);
    repo = await gitRepo(files);
    shoal = await startProxiedShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    await o.source('repo', { url: repo.url, interval: '1h' });
    await o.group('app', { sourceRef: { name: 'repo' }, path: 'apps', interval: '1h' });
    await o.groupAt('app', await repo.head());
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.remove();
  });

  it('the first sync applied all three, each after a dry run', () => {
    const first = sent(0);
    expect(new Set(first.filter((s) => s.startsWith('apply')))).toEqual(
      new Set([
        'apply deployments/web',
        'apply horizontalpodautoscalers/web',
        'apply poddisruptionbudgets/web',
      ]),
    );
    expect(first.filter((s) => s.startsWith('dry-run'))).toHaveLength(3);
  });

  it('status writes and a scale by the HPA moved every resourceVersion: a re-sync still sends nothing', async () => {
    const rvBefore = await resourceVersions();
    await controllersAtWork();
    const rvAfter = await resourceVersions();
    for (const [i, rv] of rvAfter.entries()) expect(rv).not.toBe(rvBefore[i]);
    const from = shoal.proxy.log.length;
    const token = `r-${Date.now()}`;
    await kubectl('-n', ns, 'annotate', '--overwrite', 'appgroup', 'app', `shoal.dev/requested-at=${token}`);
    await waitFor(
      're-sync handled',
      async () => (await o.getGroup('app'))?.status?.lastHandledReconcileAt === token,
    );
    expect(sent(from)).toEqual([]);
    expect(await replicas()).toBe(2 + round);
    const ready = (await o.getGroup('app'))?.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready?.status).toBe('True');
  });

  it('the same while no operator ran: a restarted one finds the group unchanged by status.appliedDigest', async () => {
    const digest = (await o.getGroup('app'))?.status?.appliedDigest;
    expect(digest).toMatch(/^sha256:/);
    await shoal.stop();
    await controllersAtWork();
    shoal = await startProxiedShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    await waitForApplyStep(shoal.metricsUrl);
    expect(sent(0)).toEqual([]);
    expect((await o.getGroup('app'))?.status?.appliedDigest).toBe(digest);
  });

  it('a change of the spec by hand is still a change: the group is applied in full and it is reverted', async () => {
    const from = shoal.proxy.log.length;
    await kubectl('-n', ns, 'patch', 'pdb', 'web', '--type=merge', '-p', '{"spec":{"minAvailable":0}}');
    await waitFor('reverted', async () => {
      const pdb = await web<KubernetesObject & { spec: { minAvailable: number } }>(
        'policy/v1',
        'PodDisruptionBudget',
      );
      return pdb?.spec.minAvailable === 1;
    });
    expect(sent(from)).toContain('apply poddisruptionbudgets/web');
    expect(await replicas()).toBe(2 + round);
  });
});
