/**
 * The autoscaler against a real API server (tier A: Deployments without pods, so the metrics here are
 * Prometheus per-replica targets) and a real Prometheus (Debian's package) scraping a test exporter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppGroup, AppSpec, AppStatus } from '../../src/api/app-group.ts';
import { perPodValues, singleValue } from '../../src/autoscale/readings.ts';
import { PrometheusClient } from '../../src/metrics/prometheus.ts';
import { useCluster } from '../support/cluster.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { shoalObjects } from '../support/objects.ts';
import { startPrometheus, type TestPrometheus } from '../support/prometheus.ts';
import { startShoal } from '../support/shoal.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, kubectl, newNamespace } = useCluster();

describe('Prometheus as a metric source (the HTTP API of a real Prometheus)', () => {
  let prom: TestPrometheus;
  const client = new PrometheusClient({ timeoutMs: 2_000 });

  beforeAll(async () => {
    prom = await startPrometheus();
    prom.exporter.set('queue_depth', {}, 42);
    prom.exporter.set('requests', { pod: 'web-0' }, 20);
    prom.exporter.set('requests', { pod: 'web-1' }, 10);
    prom.exporter.set('requests', { pod: 'web-2' }, Number.NaN);
    prom.exporter.set('broken', {}, Number.NaN);
    await prom.until('up', (s) => s.length === 1 && s[0]?.value === 1);
    await prom.until('requests', (s) => s.length === 3);
  });
  afterAll(() => prom?.stop());

  it('reads one number, in milli-units', async () => {
    expect(singleValue(await client.query(prom.url, 'queue_depth'), 'queue_depth')).toEqual({
      value: 42_000,
    });
    expect(singleValue(await client.query(prom.url, 'sum(requests{pod!="web-2"}) / 4'), 'q')).toEqual({
      value: 7_500,
    });
    expect(singleValue(await client.query(prom.url, 'scalar(queue_depth)'), 'q')).toEqual({ value: 42_000 });
  });

  it('reads one number per pod by its pod label; a NaN sample makes that pod missing', async () => {
    const r = perPodValues(await client.query(prom.url, 'requests'), 'requests');
    expect('perPod' in r && Object.fromEntries(r.perPod)).toEqual({ 'web-0': 20_000, 'web-1': 10_000 });
  });

  it('fails the metric on an empty result, NaN, several series, a bad query, or no Prometheus', async () => {
    expect(singleValue(await client.query(prom.url, 'no_such_metric'), 'no_such_metric')).toEqual({
      error: 'query "no_such_metric" returned no samples',
    });
    expect(singleValue(await client.query(prom.url, 'broken'), 'broken')).toEqual({
      error: 'query "broken" returned NaN',
    });
    expect(singleValue(await client.query(prom.url, 'requests'), 'requests')).toMatchObject({
      error: expect.stringContaining('returned 3 series'),
    });
    expect(perPodValues(await client.query(prom.url, 'queue_depth'), 'queue_depth')).toMatchObject({
      error: expect.stringContaining('no samples with a pod label'),
    });
    await expect(client.query(prom.url, 'sum(')).rejects.toThrow(/Prometheus query failed: bad_data/);
    const closed = 'http://admin:s3cret@127.0.0.1:1';
    const err = await client.query(closed, 'up').catch((e: Error) => e);
    expect(String(err)).toMatch(/cannot reach Prometheus at http:\/\/127\.0\.0\.1:1/);
    expect(String(err)).not.toContain('s3cret');
  });
});

const deployment = (name: string, replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {containers: [{name: app, image: "registry.invalid/${name}:1", resources: {requests: {cpu: "1", memory: 64Mi}}}]}
`;

describe('the autoscaler in the operator: group budget, Prometheus metrics, fixed replicas', () => {
  let ns: string;
  let repo: TestRepo;
  let prom: TestPrometheus;
  let shoal: Awaited<ReturnType<typeof startShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  const replicas = async (name: string) =>
    (
      await kube.get<{ spec: { replicas: number } }>({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: ns,
        name,
      })
    )?.spec.replicas;
  const app = async (name: string): Promise<AppStatus | undefined> =>
    (await o.getGroup('app'))?.status?.apps?.find((a) => a.name === name);
  /** A per-replica target of 1 on `load{app=<name>}`: the app wants as many replicas as its load. */
  const scaled = (name: string, extra: Partial<NonNullable<AppSpec['autoscaling']>> = {}): AppSpec => ({
    name,
    autoscaling: {
      minReplicas: 1,
      maxReplicas: 20,
      metrics: [
        {
          type: 'Prometheus',
          prometheus: {
            query: `sum(load{app="${name}"})`,
            target: { type: 'AverageValue', averageValue: '1' },
          },
        },
      ],
      behavior: {
        scaleUp: { policies: [{ type: 'Pods', value: 100, periodSeconds: 15 }] },
        scaleDown: { stabilizationWindowSeconds: 0 },
      },
      ...extra,
    },
  });

  beforeAll(async () => {
    ns = await newNamespace('autoscaler');
    o = shoalObjects(kube, ns);
    prom = await startPrometheus();
    prom.exporter.set('load', { app: 'web' }, 4);
    prom.exporter.set('load', { app: 'api' }, 10);
    prom.exporter.set('load', { app: 'batch' }, 10);
    await prom.until('load', (s) => s.length === 3);
    repo = await gitRepo({
      'apps/web.yaml': deployment('web', 1),
      'apps/api.yaml': deployment('api', 1),
      'apps/batch.yaml': deployment('batch', 1),
      'apps/worker.yaml': deployment('worker', 1),
    });
    shoal = await startShoal({
      kubeconfig: cp.kubeconfig,
      namespace: ns,
      extraArgs: ['--allow-file-urls', '--autoscaler-sync-period=1s'],
    });
    await o.source('repo', { url: repo.url, interval: '1h' });
    await o.group('app', {
      sourceRef: { name: 'repo' },
      path: 'apps',
      interval: '1h',
      metrics: { prometheus: { address: prom.url } },
      budget: { cpu: '12' },
      apps: [
        scaled('web', { priority: 10 }),
        scaled('api', { weight: 2 }),
        scaled('batch', { minReplicas: 2 }),
        { name: 'worker', replicas: 3 },
      ],
    });
  });

  afterAll(async () => {
    await shoal?.stop();
    await prom?.stop();
    await repo?.remove();
  });

  it('allocates a scarce budget by tier, then weight, never below a minimum, and says so in status', async () => {
    // Wanted: web 4 (tier 10), api 10 (weight 2), batch 10 (weight 1, min 2): 24 CPUs for a budget of 12.
    // web is served in full; api and batch share the remaining 8 two to one, from their floors (1, 2).
    const g = await waitFor(
      'the budget allocated',
      async () => {
        const group = await o.getGroup('app');
        return group?.status?.budget?.allocated?.cpu === '12' ? group : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(g.status?.budget).toEqual({
      requested: { cpu: '24' },
      allocated: { cpu: '12' },
      limited: ['api', 'batch'],
      overcommitted: false,
    });
    const counts = { web: await replicas('web'), api: await replicas('api'), batch: await replicas('batch') };
    expect(counts).toEqual({ web: 4, api: 5, batch: 3 });
    const api = (g as AppGroup).status?.apps?.find((a) => a.name === 'api');
    expect(api?.conditions?.find((c) => c.type === 'ScalingLimited')).toMatchObject({
      status: 'True',
      reason: 'GroupBudgetLimit',
      message: 'the group budget allows 5 of the 10 replicas recommended',
    });
    expect(api?.metrics?.[0]).toMatchObject({
      type: 'Prometheus',
      name: 'prometheus metric sum(load{app="api"})',
    });
    const web = g.status?.apps?.find((a) => a.name === 'web');
    expect(web?.replicas).toMatchObject({ desired: 4, min: 1, max: 20 });
    expect(web?.conditions?.find((c) => c.type === 'ScalingLimited')?.status).toBe('False');
  });

  it('a failed metric (NaN) forbids a scale-down and says why', async () => {
    prom.exporter.set('load', { app: 'web' }, Number.NaN);
    const web = await waitFor(
      'ScalingActive False',
      async () => {
        const a = await app('web');
        return a?.conditions?.find((c) => c.type === 'ScalingActive')?.status === 'False' ? a : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(web.conditions?.find((c) => c.type === 'ScalingActive')).toMatchObject({
      reason: 'FailedGetExternalMetric',
      message:
        'the HPA was unable to compute the replica count: query "sum(load{app=\\"web\\"})" returned NaN',
    });
    expect(await replicas('web')).toBe(4);
    prom.exporter.set('load', { app: 'web' }, 4);
  });

  it('holds a fixed count: a kubectl scale is reverted by the autoscaler', async () => {
    await waitFor('worker at 3', async () => (await replicas('worker')) === 3);
    await kubectl('-n', ns, 'scale', 'deployment/worker', '--replicas=7');
    await waitFor('worker back at 3', async () => (await replicas('worker')) === 3, { timeoutMs: 30_000 });
    const events = await kube.list<{ reason: string; note: string }>('events.k8s.io/v1', 'Event', {
      namespace: ns,
    });
    expect(events.items.map((e) => `${e.reason}: ${e.note}`)).toContain(
      'SuccessfulRescale: worker: New size: 3; reason: fixed replicas in spec.apps',
    );
  });

  it('takes more of the budget when the higher tier wants less', async () => {
    prom.exporter.set('load', { app: 'web' }, 1);
    // web 1; api and batch share 11: api gets two per batch one, from floors 1 and 2.
    await waitFor('reallocated', async () => (await replicas('web')) === 1 && (await replicas('api')) === 7, {
      timeoutMs: 60_000,
    });
    await waitFor('batch 4', async () => (await replicas('batch')) === 4);
  });
});

describe('apps removed from an AppGroup', () => {
  it('leave status.apps and status.budget', async () => {
    const ns = await newNamespace('autoscaler-off');
    const o = shoalObjects(kube, ns);
    const repo = await gitRepo({ 'apps/web.yaml': deployment('web', 2) });
    const shoal = await startShoal({
      kubeconfig: cp.kubeconfig,
      namespace: ns,
      extraArgs: ['--allow-file-urls', '--autoscaler-sync-period=1s'],
    });
    try {
      await o.source('repo', { url: repo.url, interval: '1h' });
      const spec = { sourceRef: { name: 'repo' }, path: 'apps', interval: '1h' };
      await o.group('app', { ...spec, budget: { cpu: '4' }, apps: [{ name: 'web', replicas: 3 }] });
      await waitFor(
        'web decided',
        async () => (await o.getGroup('app'))?.status?.apps?.[0]?.replicas.desired === 3,
        {
          timeoutMs: 30_000,
        },
      );
      await kube.replace({
        ...(await o.getGroup('app')),
        spec: spec,
      } as unknown as Parameters<typeof kube.replace>[0]);
      await waitFor('status cleared', async () => {
        const g = await o.getGroup('app');
        return g?.status?.apps === undefined && g?.status?.budget === undefined;
      });
    } finally {
      await shoal.stop();
      await repo.remove();
    }
  });
});

describe('workloads the autoscaler may not scale (the same class as catalogue C8, C1)', () => {
  it("leaves alone a workload that an inventory names but that is not the group's, or outside its namespace", async () => {
    const ns = await newNamespace('autoscaler-own');
    const other = await newNamespace('autoscaler-victim');
    const o = shoalObjects(kube, ns);
    const repo = await gitRepo({ 'apps/web.yaml': deployment('web', 2) });
    // Two Deployments nobody gave to Shoal: one beside the group, one in another team's namespace.
    for (const [name, namespace] of [
      ['local', ns],
      ['remote', other],
    ] as const) {
      await kube.apply({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: { containers: [{ name: 'app', image: `registry.invalid/${name}:1` }] },
          },
        },
      });
    }
    const shoal = await startShoal({
      kubeconfig: cp.kubeconfig,
      namespace: ns,
      extraArgs: ['--allow-file-urls', '--autoscaler-sync-period=1s'],
    });
    try {
      await o.source('repo', { url: repo.url, interval: '1h' });
      await o.group('app', {
        sourceRef: { name: 'repo' },
        path: 'apps',
        interval: '1h',
        apps: [
          { name: 'local', replicas: 0 },
          { name: 'remote', replicas: 0 },
        ],
      });
      await o.groupAt('app', await repo.head());
      // Someone who may write the status subresource lists both in the inventory.
      await kubectl(
        '-n',
        ns,
        'patch',
        'appgroup',
        'app',
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({
          status: {
            inventory: [
              { id: `${ns}_local_apps_Deployment`, v: 'v1' },
              { id: `${other}_remote_apps_Deployment`, v: 'v1' },
              { id: `${ns}_web_apps_Deployment`, v: 'v1' },
            ],
          },
        }),
      );
      const apps = await waitFor('both refused', async () => {
        const s = (await o.getGroup('app'))?.status?.apps ?? [];
        return s.length === 2 && s.every((a) => /left alone/.test(a.reason ?? '')) ? s : undefined;
      });
      expect(apps.find((a) => a.name === 'local')?.reason).toContain(
        `Deployment/${ns}/local is not this group's`,
      );
      expect(apps.find((a) => a.name === 'remote')?.reason).toContain(`namespace ${other} is not permitted`);
      for (const [namespace, name] of [
        [ns, 'local'],
        [other, 'remote'],
      ] as const) {
        const d = await kube.get<{ spec: { replicas: number } }>({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          namespace,
          name,
        });
        expect(d?.spec.replicas, name).toBe(2);
      }
    } finally {
      await shoal.stop();
      await repo.remove();
    }
  });
});
