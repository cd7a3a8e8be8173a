import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ChartSource } from '../../src/api/chart-source.ts';
import { startChartRepo } from '../support/chart-repo.ts';
import { useCluster } from '../support/cluster.ts';
import { CHARTS } from '../support/fixtures.ts';
import { shoalObjects } from '../support/objects.ts';
import { startProxiedShoal } from '../support/shoal.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, newNamespace } = useCluster();
const helm = inject('helm');
const GV = 'shoal.dev/v1alpha1';

type Settings = { data?: Record<string, string> };

describe('a ChartSource on an HTTP chart repository with basic auth', () => {
  let ns: string;
  let repo: Awaited<ReturnType<typeof startChartRepo>>;
  let shoal: Awaited<ReturnType<typeof startProxiedShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  const chartSource = (spec: ChartSource['spec']) =>
    kube.apply({ apiVersion: GV, kind: 'ChartSource', metadata: { name: 'demo', namespace: ns }, spec });
  const getChartSource = () =>
    kube.get<ChartSource>({ apiVersion: GV, kind: 'ChartSource', namespace: ns, name: 'demo' });
  const settings = () =>
    kube.get<Settings>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'shop-settings' });

  beforeAll(async () => {
    ns = await newNamespace('charts');
    o = shoalObjects(kube, ns);
    repo = await startChartRepo(helm, { basic: { username: 'ci', password: 'chart-pass-1' } });
    await repo.publish(join(CHARTS, 'demo'), '1.0.0');
    await repo.publish(join(CHARTS, 'demo'), '1.1.0');
    await repo.publish(join(CHARTS, 'demo'), '2.0.0');
    shoal = await startProxiedShoal({
      kubeconfig: cp.kubeconfig,
      namespace: ns,
      extraArgs: ['--allow-file-urls', '--allow-insecure-http'],
    });
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.close();
  });

  it('follows the newest version in range, renders it with values from a ConfigMap, and applies it', async () => {
    await o.secret('charts-auth', { username: 'ci', password: 'chart-pass-1' });
    await kube.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'demo-values', namespace: ns },
      data: { 'values.yaml': 'greeting: hello from a ConfigMap\n' },
    });
    await chartSource({
      url: repo.url,
      chart: 'demo',
      version: '>=1.0.0 <2',
      interval: '2s',
      secretRef: { name: 'charts-auth' },
    });
    await o.group('shop', {
      sourceRef: { kind: 'ChartSource', name: 'demo' },
      interval: '1h',
      prune: true,
      helm: { valuesFrom: [{ kind: 'ConfigMap', name: 'demo-values' }], values: { color: 'green' } },
    });
    const g = await waitFor('the group applied demo@1.1.0', async () => {
      const group = await o.getGroup('shop');
      return group?.status?.lastAppliedRevision === 'demo@1.1.0' ? group : undefined;
    });
    expect(o.ready(g)?.status).toBe('True');
    expect(g.status?.health?.status).toBe('Healthy');
    const cm = await settings();
    expect(cm?.data).toMatchObject({
      greeting: 'hello from a ConfigMap',
      color: 'green',
      chart: 'demo-1.1.0',
      namespace: ns,
    });
    expect(cm?.data?.kube).toMatch(/^v1\.37\./);
    const source = await getChartSource();
    expect(source?.status?.artifact).toMatchObject({
      revision: 'demo@1.1.0',
      digest: expect.stringMatching(/^sha256:/),
    });
  });

  it('picks up a newer matching version within the interval', async () => {
    await repo.publish(join(CHARTS, 'demo'), '1.2.0');
    await waitFor(
      'demo@1.2.0 applied',
      async () => (await o.getGroup('shop'))?.status?.lastAppliedRevision === 'demo@1.2.0',
      {
        timeoutMs: 30_000,
      },
    );
    expect((await settings())?.data?.chart).toBe('demo-1.2.0');
  });

  it('wrong credentials are AuthenticationFailed; the last artifact and the applied objects stay', async () => {
    await o.secret('charts-auth', { username: 'ci', password: 'wrong-pass-2' });
    const s = await waitFor('AuthenticationFailed', async () => {
      const cs = await getChartSource();
      return o.ready(cs)?.reason === 'AuthenticationFailed' ? cs : undefined;
    });
    expect(s?.status?.artifact?.revision).toBe('demo@1.2.0');
    expect((await settings())?.data?.chart).toBe('demo-1.2.0');
    const all = `${await o.everything()}${JSON.stringify(shoal.logs)}`;
    expect(all).not.toContain('wrong-pass-2');
    expect(all).not.toContain('chart-pass-1');
    await o.secret('charts-auth', { username: 'ci', password: 'chart-pass-1' });
  });

  it('a required value missing is BuildFailed with Helm’s message, and nothing is written', async () => {
    const from = shoal.proxy.log.length;
    await o.group('bare', { sourceRef: { kind: 'ChartSource', name: 'demo' }, interval: '1h' });
    const g = await o.groupReason('bare', 'BuildFailed');
    expect(o.ready(g)?.message).toContain('greeting is required');
    expect(o.ready(g)?.message).toMatch(
      /^helm template: Error: execution error at \(demo\/templates\/configmap\.yaml:\d+:\d+\)/,
    );
    const written = shoal.proxy.log
      .slice(from)
      .filter((r) => r.write && r.path.includes(`/namespaces/${ns}/configmaps`));
    expect(written).toEqual([]);
  });
});
