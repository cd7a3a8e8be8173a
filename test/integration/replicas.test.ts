import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../support/cluster.ts';
import { REAL_WORLD } from '../support/fixtures.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { shoalObjects } from '../support/objects.ts';
import { startShoal } from '../support/shoal.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, kubectl, newNamespace } = useCluster();
const podinfo = join(REAL_WORLD, 'podinfo-kustomize');

const deployment = (name: string, replicas?: number) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
${replicas === undefined ? '' : `  replicas: ${replicas}\n`}  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {containers: [{name: app, image: "registry.invalid/${name}:1"}]}
`;

interface Live {
  spec: { replicas: number };
  metadata: {
    managedFields: {
      manager: string;
      operation: string;
      fieldsV1?: { 'f:spec'?: Record<string, unknown> };
    }[];
  };
}

describe('replica counts Git does not own', () => {
  let ns: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  const live = (name: string) =>
    kube.get<Live>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name });
  const replicasOwners = async (name: string) =>
    ((await live(name))?.metadata.managedFields ?? [])
      .filter((m) => m.fieldsV1?.['f:spec']?.['f:replicas'] !== undefined)
      .map((m) => `${m.manager}/${m.operation}`);
  /** Triggers `n` syncs through the requested-at annotation and waits for each to be handled. */
  const syncTimes = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const token = `sync-${Date.now()}-${i}`;
      await kubectl(
        '-n',
        ns,
        'annotate',
        '--overwrite',
        'appgroup',
        'app',
        `shoal.dev/requested-at=${token}`,
      );
      await waitFor(
        `sync ${i}`,
        async () => (await o.getGroup('app'))?.status?.lastHandledReconcileAt === token,
      );
    }
  };

  beforeAll(async () => {
    ns = await newNamespace('replicas');
    o = shoalObjects(kube, ns);
    repo = await gitRepo({
      'apps/web.yaml': deployment('web', 10),
      'apps/worker.yaml': deployment('worker', 1),
      'apps/legacy.yaml': deployment('legacy', 3),
      'apps/podinfo/deployment.yaml': await readFile(join(podinfo, 'deployment.yaml'), 'utf8'),
      'apps/podinfo/hpa.yaml': await readFile(join(podinfo, 'hpa.yaml'), 'utf8'),
    });
    shoal = await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    await o.source('repo', { url: repo.url, interval: '1m' });
    await o.group('app', {
      sourceRef: { name: 'repo' },
      path: 'apps',
      interval: '1h',
      apps: [
        { name: 'web', autoscaling: { minReplicas: 2, maxReplicas: 5 } },
        { name: 'worker', replicas: 3 },
      ],
    });
    await o.groupAt('app', await repo.head());
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.remove();
  });

  it('creates workloads at the manifest count clamped to [min, max], a fixed count, or the HPA minimum', async () => {
    expect((await live('web'))?.spec.replicas).toBe(5);
    expect((await live('worker'))?.spec.replicas).toBe(3);
    expect((await live('podinfo'))?.spec.replicas).toBe(2);
    expect((await live('legacy'))?.spec.replicas).toBe(3);
    for (const name of ['web', 'worker', 'podinfo'])
      expect(await replicasOwners(name), name).toEqual(['shoal-autoscaler/Apply']);
    expect(await replicasOwners('legacy')).toEqual(['shoal/Apply']);
  });

  it('twenty syncs after another manager changed the count leave it untouched', async () => {
    await kube.apply(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: ns },
        spec: { replicas: 4 },
      },
      { fieldManager: 'shoal-autoscaler', force: true, dryRun: false },
    );
    await kubectl('-n', ns, 'scale', 'deployment', 'podinfo', '--replicas=3');
    await syncTimes(20);
    expect((await live('web'))?.spec.replicas).toBe(4);
    expect((await live('podinfo'))?.spec.replicas).toBe(3);
  });

  it('hands the count over, not back to 1, when a synced workload joins spec.apps', async () => {
    await o.group('app', {
      sourceRef: { name: 'repo' },
      path: 'apps',
      interval: '1h',
      apps: [
        { name: 'web', autoscaling: { minReplicas: 2, maxReplicas: 5 } },
        { name: 'worker', replicas: 3 },
        { name: 'legacy', autoscaling: { minReplicas: 1, maxReplicas: 10 } },
      ],
    });
    await waitFor('generation observed', async () => {
      const g = await o.getGroup('app');
      return g?.status?.observedGeneration === g?.metadata.generation && o.ready(g)?.status === 'True';
    });
    expect((await live('legacy'))?.spec.replicas).toBe(3);
    expect(await replicasOwners('legacy')).toEqual(['shoal-autoscaler/Apply']);
    await syncTimes(2);
    expect((await live('legacy'))?.spec.replicas).toBe(3);
  });
});
