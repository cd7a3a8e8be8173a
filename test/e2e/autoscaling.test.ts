/**
 * The autoscaler on a behaving cluster: KWOK pods whose CPU usage is a pod annotation, reported by
 * metrics-server through metrics.k8s.io, a controller-manager that makes the pods, and Shoal deciding
 * the replica count every sync period (3 s here) and syncing Git meanwhile.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppStatus } from '../../src/api/app-group.ts';
import { parseMilli } from '../../src/api/quantity.ts';
import { listPodMetrics } from '../../src/metrics/pod-metrics.ts';
import { USAGE_ANNOTATIONS } from '../controlplane/tier-b.ts';
import { useCluster } from '../support/cluster.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { scrapeMetric } from '../support/metrics.ts';
import { shoalObjects } from '../support/objects.ts';
import { startShoal } from '../support/shoal.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, kubectl, newNamespace } = useCluster();

const SYNC_PERIOD_S = 3;
const SCALE_DOWN_WINDOW_S = 20;

const deployment = [
  'apiVersion: apps/v1',
  'kind: Deployment',
  'metadata: {name: web}',
  'spec:',
  '  replicas: 2',
  '  selector: {matchLabels: {app: web}}',
  '  template:',
  `    metadata: {labels: {app: web}, annotations: {${USAGE_ANNOTATIONS.cpu}: 100m}}`,
  '    spec:',
  '      containers: [{name: web, image: "nginx:1.27", resources: {requests: {cpu: 500m, memory: 64Mi}}}]',
  '',
].join('\n');
const settings = (value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: ${value}}\n`;

/** A utilisation of about 20 % ("19%" to "21%"). */
const near20 = (current: string | undefined) => /^(19|20|21)%$/.test(current ?? '');

interface Pod {
  metadata: { name: string };
  status?: { phase?: string };
}
interface Live {
  spec: { replicas: number };
  metadata: {
    managedFields?: {
      manager: string;
      subresource?: string;
      fieldsV1?: { 'f:spec'?: Record<string, unknown> };
    }[];
  };
}

describe('autoscaling on tier B (metrics-server usage, scale subresource writes)', () => {
  let ns: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  const live = () =>
    kube.get<Live>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' });
  const running = async () =>
    (await kube.list<Pod>('v1', 'Pod', { namespace: ns, labelSelector: 'app=web' })).items.filter(
      (p) => p.status?.phase === 'Running',
    );
  const web = async (): Promise<AppStatus | undefined> =>
    (await o.getGroup('app'))?.status?.apps?.find((a) => a.name === 'web');
  const condition = (a: AppStatus | undefined, type: string) => a?.conditions?.find((c) => c.type === type);
  /** Sets every running pod's CPU usage and waits until metrics.k8s.io reports it for all of them. */
  const setUsage = async (cpu: string, milli: number) => {
    const names = (await running()).map((p) => p.metadata.name);
    await kubectl('-n', ns, 'annotate', '--overwrite', 'pods', ...names, `${USAGE_ANNOTATIONS.cpu}=${cpu}`);
    await waitFor(
      `metrics.k8s.io reports ${cpu}`,
      async () => {
        const m = await listPodMetrics(kube, ns, 'app=web');
        const byPod = new Map(m.map((p) => [p.metadata.name, p.containers[0]?.usage.cpu ?? '']));
        return names.every((n) => {
          const v = byPod.get(n);
          return v !== undefined && Math.abs(parseMilli(v) - milli) < milli * 0.05 + 1;
        });
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  };
  const decisions = () => scrapeMetric(shoal.metricsUrl, 'shoal_autoscaler_decisions_total');

  beforeAll(async () => {
    ns = await newNamespace('autoscale');
    o = shoalObjects(kube, ns);
    repo = await gitRepo({ 'apps/web.yaml': deployment, 'apps/settings.yaml': settings('a') });
    shoal = await startShoal({
      kubeconfig: cp.kubeconfig,
      namespace: ns,
      extraArgs: ['--allow-file-urls', `--autoscaler-sync-period=${SYNC_PERIOD_S}s`],
    });
    await o.source('repo', { url: repo.url, interval: '1s' });
    await o.group('app', {
      sourceRef: { name: 'repo' },
      path: 'apps',
      interval: '1h',
      apps: [
        {
          name: 'web',
          autoscaling: {
            minReplicas: 2,
            maxReplicas: 6,
            metrics: [
              {
                type: 'Resource',
                resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
              },
            ],
            behavior: { scaleDown: { stabilizationWindowSeconds: SCALE_DOWN_WINDOW_S } },
          },
        },
      ],
    });
    await waitFor('Healthy', async () => (await o.getGroup('app'))?.status?.health?.status === 'Healthy', {
      timeoutMs: 60_000,
    });
    // The autoscaler reads the pods' usage: 100m of 500m is 20 %, under the 50 % target, held at min 2.
    // (metrics-server derives usage from two scrapes, so it may read a hair off 100m.)
    await waitFor(
      'the autoscaler computes from metrics',
      async () => {
        const a = await web();
        const active = condition(a, 'ScalingActive');
        if (active?.reason !== 'ValidMetricFound' || !near20(a?.metrics?.[0]?.current))
          throw new Error(
            `ScalingActive ${active?.reason}: ${active?.message}; current ${a?.metrics?.[0]?.current}`,
          );
        return true;
      },
      { timeoutMs: 180_000 },
    );
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.remove();
  });

  it('starts at the manifest count within [min, max] and reports the decision in status', async () => {
    expect((await live())?.spec.replicas).toBe(2);
    const a = await web();
    expect(a?.replicas).toMatchObject({ current: 2, desired: 2, min: 2, max: 6 });
    // It wants 1; once the 20 s window holds no higher recommendation, min 2 is what limits it.
    await waitFor(
      'TooFewReplicas',
      async () => condition(await web(), 'ScalingLimited')?.reason === 'TooFewReplicas',
      {
        timeoutMs: 60_000,
      },
    );
    expect(a?.metrics?.[0]).toMatchObject({ type: 'Resource', target: '50%' });
    expect(near20(a?.metrics?.[0]?.current), a?.metrics?.[0]?.current).toBe(true);
  });

  it('raising the CPU usage scales up within two sync periods of the metric showing it', async () => {
    await setUsage('900m', 900);
    const before = await decisions();
    const scaled = await waitFor('scaled up', async () => {
      const r = (await live())?.spec.replicas ?? 0;
      return r > 2 ? r : undefined;
    });
    const after = await decisions();
    // 180 % of the target: ceil(3.6 × 2) = 8, limited by the default policy to max(2 + 4, 2 × 2) = 6.
    expect(scaled).toBe(6);
    expect(after - before, 'decisions between the metric and the write').toBeLessThanOrEqual(2);
    await waitFor('status says so', async () => (await web())?.replicas.desired === 6);
    const a = await web();
    expect(a?.reason).toBe('cpu resource utilization (percentage of request) above target');
    expect(a?.lastScaleTime).toBeDefined();
    const events = await kube.list<{ reason: string; note: string }>('events.k8s.io/v1', 'Event', {
      namespace: ns,
    });
    expect(events.items.map((e) => `${e.reason}: ${e.note}`)).toContain(
      'SuccessfulRescale: web: New size: 6; reason: cpu resource utilization (percentage of request) above target',
    );
    expect(await scrapeMetric(shoal.metricsUrl, 'shoal_autoscaler_desired_replicas', 'app="web"')).toBe(6);
  });

  it('a Git sync in between leaves the replica count alone', async () => {
    const count = (await live())?.spec.replicas;
    const commit = await repo.commit({ 'apps/settings.yaml': settings('b') });
    await o.groupAt('app', commit, 60_000);
    const after = await live();
    expect(after?.spec.replicas).toBe(count);
    const owners = (after?.metadata.managedFields ?? [])
      .filter((m) => m.fieldsV1?.['f:spec']?.['f:replicas'] !== undefined)
      .map((m) => m.manager);
    expect(owners).toEqual(['shoal-autoscaler']);
  });

  it('lowering it scales down only after the stabilisation window', async () => {
    await waitFor('6 pods running', async () => (await running()).length === 6, { timeoutMs: 60_000 });
    await setUsage('50m', 50);
    let stabilized = false;
    await waitFor(
      'scaled down to the minimum',
      async () => {
        const a = await web();
        if (condition(a, 'AbleToScale')?.reason === 'ScaleDownStabilized') stabilized = true;
        return (await live())?.spec.replicas === 2;
      },
      { timeoutMs: (SCALE_DOWN_WINDOW_S + 6 * SYNC_PERIOD_S) * 1000, intervalMs: 250 },
    );
    // Decisions in the window held the count at the highest recent recommendation.
    expect(stabilized).toBe(true);
    const a = await waitFor('status says so', async () => {
      const s = await web();
      return s?.replicas.desired === 2 ? s : undefined;
    });
    expect(a.reason).toBe('All metrics below target');
  });
});

describe('a Kubernetes HPA in Git scaling a synced Deployment', () => {
  it('is not drift: no DriftDetected event and no fight over the count', async () => {
    const ns = await newNamespace('hpa');
    const o = shoalObjects(kube, ns);
    const repo = await gitRepo({
      'apps/api.yaml': [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: {name: api}',
        'spec:',
        '  replicas: 1',
        '  selector: {matchLabels: {app: api}}',
        '  template:',
        `    metadata: {labels: {app: api}, annotations: {${USAGE_ANNOTATIONS.cpu}: 400m}}`,
        '    spec: {containers: [{name: api, image: "nginx:1.27", resources: {requests: {cpu: 100m}}}]}',
        '',
      ].join('\n'),
      'apps/hpa.yaml': [
        'apiVersion: autoscaling/v2',
        'kind: HorizontalPodAutoscaler',
        'metadata: {name: api}',
        'spec:',
        '  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}',
        '  minReplicas: 1',
        '  maxReplicas: 3',
        '  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}}]',
        '',
      ].join('\n'),
    });
    const shoal = await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    try {
      await o.source('repo', { url: repo.url, interval: '1h' });
      await o.group('app', { sourceRef: { name: 'repo' }, path: 'apps', interval: '1h' });
      const api = () =>
        kube.get<Live>({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          namespace: ns,
          name: 'api',
        });
      // 400 % of the target: the HPA (kube-controller-manager) writes the scale subresource.
      await waitFor('the HPA scaled api to 3', async () => (await api())?.spec.replicas === 3, {
        timeoutMs: 180_000,
      });
      const entries = (await api())?.metadata.managedFields ?? [];
      expect(entries.some((e) => e.manager === 'kube-controller-manager' && e.subresource === 'scale')).toBe(
        true,
      );
      // Give the drift watch time to see the change (it reacts within a fraction of a second).
      await new Promise((r) => setTimeout(r, 3_000));
      const events = await kube.list<{ reason: string; note: string }>('events.k8s.io/v1', 'Event', {
        namespace: ns,
      });
      const drift = events.items.filter((e) => e.reason === 'DriftDetected').map((e) => e.note);
      expect(drift).toEqual([]);
      expect((await api())?.spec.replicas).toBe(3);
    } finally {
      await shoal.stop();
      await repo.remove();
    }
  });
});
