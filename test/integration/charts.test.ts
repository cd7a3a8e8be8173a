import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ChartSource } from '../../src/api/chart-source.ts';
import { writePki } from '../controlplane/pki.ts';
import { startChartRepo } from '../support/chart-repo.ts';
import { useCluster } from '../support/cluster.ts';
import { CHARTS } from '../support/fixtures.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { shoalObjects } from '../support/objects.ts';
import { startOciRegistry } from '../support/oci-registry.ts';
import { startProxiedShoal } from '../support/shoal.ts';
import { chartEntries, tarGz } from '../support/tar.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, kubectl, newNamespace } = useCluster();
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

describe('charts: an OCI registry, a Git path, dependencies, CRDs, Secret values', () => {
  let ns: string;
  let registry: Awaited<ReturnType<typeof startOciRegistry>>;
  let repo: Awaited<ReturnType<typeof startChartRepo>>;
  let git: TestRepo;
  let shoal: Awaited<ReturnType<typeof startProxiedShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  const cm = (name: string) =>
    kube.get<Settings>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name });
  const applied = (group: string, revision: string, timeoutMs = 30_000) =>
    waitFor(
      `${group} at ${revision}`,
      async () => {
        const g = await o.getGroup(group);
        return g?.status?.lastAppliedRevision === revision ? g : undefined;
      },
      { timeoutMs },
    );

  beforeAll(async () => {
    ns = await newNamespace('charts2');
    o = shoalObjects(kube, ns);
    registry = await startOciRegistry(helm);
    repo = await startChartRepo(helm);
    await repo.publish(join(CHARTS, 'sub'), '0.3.0');
    await repo.publish(join(CHARTS, 'sub'), '0.4.0');
    const withDep = await readFile(join(CHARTS, 'with-dep', 'Chart.yaml'), 'utf8');
    git = await gitRepo({
      'charts/demo/Chart.yaml': await readFile(join(CHARTS, 'demo', 'Chart.yaml'), 'utf8'),
      'charts/demo/values.yaml': await readFile(join(CHARTS, 'demo', 'values.yaml'), 'utf8'),
      'charts/demo/templates/configmap.yaml': await readFile(
        join(CHARTS, 'demo', 'templates', 'configmap.yaml'),
        'utf8',
      ),
      'charts/demo/templates/_helpers.tpl': await readFile(
        join(CHARTS, 'demo', 'templates', '_helpers.tpl'),
        'utf8',
      ),
      'env/prod.yaml': 'greeting: from the repository\ncolor: red\n',
      'charts/with-dep/Chart.yaml': withDep.replace('REPOSITORY', repo.url),
      // The lock pins 0.3.0 although 0.4.0 matches the range too.
      'charts/with-dep/Chart.lock': `dependencies:\n- name: sub\n  repository: ${repo.url}\n  version: 0.3.0\ndigest: sha256:0000000000000000000000000000000000000000000000000000000000000000\ngenerated: "2026-12-01T00:00:00Z"\n`,
      // A subchart vendored in charts/, beside the one fetched.
      'charts/with-dep/charts/local/Chart.yaml': 'apiVersion: v2\nname: local\nversion: 0.1.0\n',
      'charts/with-dep/charts/local/templates/cm.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-local\ndata:\n  vendored: "yes"\n',
      'charts/with-dep/templates/configmap.yaml': await readFile(
        join(CHARTS, 'with-dep', 'templates', 'configmap.yaml'),
        'utf8',
      ),
    });
    shoal = await startProxiedShoal({
      kubeconfig: cp.kubeconfig,
      namespace: ns,
      extraArgs: ['--allow-file-urls', '--allow-insecure-http'],
      privileged: true,
    });
    await o.source('repo', { url: git.url, interval: '1h' });
  });

  afterAll(async () => {
    await shoal?.stop();
    await registry?.close();
    await repo?.close();
    await git?.remove();
  });

  it('follows an OCI registry: a new version pushed is applied within the interval', async () => {
    await registry.push(join(CHARTS, 'demo'), '0.1.0');
    await kube.apply({
      apiVersion: GV,
      kind: 'ChartSource',
      metadata: { name: 'oci', namespace: ns },
      spec: { url: registry.url('charts'), chart: 'demo', version: '0.x', interval: '2s' },
    });
    await o.group('oci', {
      sourceRef: { kind: 'ChartSource', name: 'oci' },
      interval: '1h',
      helm: { values: { greeting: 'oci' } },
    });
    await applied('oci', 'demo@0.1.0');
    expect((await cm('oci-settings'))?.data?.chart).toBe('demo-0.1.0');
    await registry.push(join(CHARTS, 'demo'), '0.2.0');
    await applied('oci', 'demo@0.2.0');
    expect((await cm('oci-settings'))?.data?.chart).toBe('demo-0.2.0');
  });

  it('renders a chart in a Git path with a values file of the repository and values from a Secret, shown nowhere', async () => {
    const secret = 's3cr3t-valu3';
    await o.secret('demo-secret', { 'values.yaml': `secret: ${secret}\ncolor: blue\n` });
    await o.group('git', {
      sourceRef: { name: 'repo' },
      path: 'charts/demo',
      interval: '1h',
      helm: {
        releaseName: 'web',
        valuesFiles: ['env/prod.yaml'],
        valuesFrom: [{ kind: 'Secret', name: 'demo-secret', key: 'values.yaml' }],
      },
    });
    await o.groupAt('git', await git.head());
    const data = (await cm('web-settings'))?.data;
    // values.yaml < valuesFiles < valuesFrom: the greeting is the file's, the colour the Secret's.
    expect(data?.greeting).toBe('from the repository');
    expect(data?.color).toBe('blue');
    expect(data?.['secret-sha']).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(data?.namespace).toBe(ns);
    const shown = (await o.everything()) + JSON.stringify(shoal.logs);
    expect(shown).not.toContain(secret);
  });

  it('a valuesFrom key that is missing is Ready=False naming the object and key, and nothing is written', async () => {
    await kube.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'partial', namespace: ns },
      data: {},
    });
    const before = shoal.writes(`/namespaces/${ns}/configmaps`).length;
    await o.group('missing-key', {
      sourceRef: { name: 'repo' },
      path: 'charts/demo',
      interval: '1h',
      helm: { valuesFrom: [{ kind: 'ConfigMap', name: 'partial', key: 'values.yaml' }] },
    });
    const g = await o.groupReason('missing-key', 'BuildFailed');
    expect(o.ready(g)?.message).toContain('ConfigMap partial');
    expect(o.ready(g)?.message).toContain('values.yaml');
    expect(await cm('missing-key-settings')).toBeUndefined();
    const written = shoal.writes(`/namespaces/${ns}/configmaps`).slice(before);
    expect(written.filter((w) => w.path.includes('missing-key'))).toEqual([]);
  });

  it('fetches the dependency Chart.lock pins from its repository, beside a vendored subchart', async () => {
    await o.group('dep', { sourceRef: { name: 'repo' }, path: 'charts/with-dep', interval: '1h' });
    await o.groupAt('dep', await git.head());
    expect((await cm('dep-parent'))?.data?.parent).toBe('yes');
    expect((await cm('dep-sub'))?.data?.version).toBe('0.3.0');
    expect((await cm('dep-local'))?.data?.vendored).toBe('yes');
  });

  it('installs the CRDs of a chart and never prunes them when the chart stops shipping them', async () => {
    await repo.publish(join(CHARTS, 'with-crd'), '1.0.0');
    await kube.apply({
      apiVersion: GV,
      kind: 'ChartSource',
      metadata: { name: 'crd', namespace: ns },
      spec: { url: repo.url, chart: 'with-crd', version: '1.0.0', interval: '1h' },
    });
    await o.group('crd', {
      sourceRef: { kind: 'ChartSource', name: 'crd' },
      interval: '1h',
      prune: true,
      helm: { values: { widget: true } },
    });
    await applied('crd', 'with-crd@1.0.0');
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      name: 'widgets.charts.shoal.dev',
    };
    expect(await kube.get(crd)).toBeDefined();
    expect(
      await kube.get({
        apiVersion: 'charts.shoal.dev/v1',
        kind: 'Widget',
        namespace: ns,
        name: 'crd-widget',
      }),
    ).toBeDefined();
    // Without the CRDs (includeCRDs: false) and without the widget, the widget is pruned, the CRD is kept.
    await o.group('crd', {
      sourceRef: { kind: 'ChartSource', name: 'crd' },
      interval: '1h',
      prune: true,
      helm: { includeCRDs: false, values: { widget: false } },
    });
    await waitFor('the widget pruned', async () =>
      (await kube.get({
        apiVersion: 'charts.shoal.dev/v1',
        kind: 'Widget',
        namespace: ns,
        name: 'crd-widget',
      }))
        ? undefined
        : true,
    );
    const g = await o.getGroup('crd');
    expect(o.ready(g)?.status).toBe('True');
    expect(await kube.get(crd)).toBeDefined();
    const kept = await waitFor('the PruneSkipped event', async () =>
      (
        await kube.list<{ reason: string; note: string }>('events.k8s.io/v1', 'Event', { namespace: ns })
      ).items.find((e) => e.reason === 'PruneSkipped'),
    );
    expect(kept.note).toContain('CustomResourceDefinition/widgets.charts.shoal.dev (a CRD');
  });
});

describe('charts: hostile archives, a repository that goes away, an HPA in a chart', () => {
  let ns: string;
  let good: Awaited<ReturnType<typeof startChartRepo>>;
  let hostile: Awaited<ReturnType<typeof startChartRepo>>;
  let shoal: Awaited<ReturnType<typeof startProxiedShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  const chartSource = (name: string, spec: ChartSource['spec']) =>
    kube.apply({ apiVersion: GV, kind: 'ChartSource', metadata: { name, namespace: ns }, spec });
  const getChartSource = (name: string) =>
    kube.get<ChartSource>({ apiVersion: GV, kind: 'ChartSource', namespace: ns, name });
  const chartSourceReason = (name: string, reason: string) =>
    waitFor(`ChartSource ${name} ${reason}`, async () => {
      const cs = await getChartSource(name);
      return o.ready(cs)?.reason === reason ? cs : undefined;
    });

  beforeAll(async () => {
    ns = await newNamespace('charts3');
    o = shoalObjects(kube, ns);
    good = await startChartRepo(helm);
    hostile = await startChartRepo(helm);
    await good.publish(join(CHARTS, 'podinfo'), '6.9.0');
    await good.publish(join(CHARTS, 'demo'), '1.0.0');
    shoal = await startProxiedShoal({
      kubeconfig: cp.kubeconfig,
      namespace: ns,
      extraArgs: ['--allow-insecure-http'],
    });
  });

  afterAll(async () => {
    await shoal?.stop();
    await good?.close();
    await hostile?.close();
  });

  it.each([
    [
      'dotdot',
      { name: 'dotdot/../../../tmp/shoal-escape.yaml', body: 'x' },
      '"dotdot/../../../tmp/shoal-escape.yaml"',
    ],
    ['absolute', { name: '/tmp/shoal-escape.yaml', body: 'x' }, '"/tmp/shoal-escape.yaml"'],
    ['symlink', { name: 'symlink/templates/passwd.yaml', type: '2', linkname: '/etc/passwd' }, 'a symlink'],
  ] as const)(
    'refuses a chart archive with a %s entry: SecurityViolation, nothing unpacked or applied',
    async (name, entry, words) => {
      await hostile.serveArchive(name, '1.0.0', tarGz([...chartEntries(name, '1.0.0'), entry]));
      await chartSource(name, { url: hostile.url, chart: name, version: '1.0.0', interval: '1h' });
      await o.group(name, { sourceRef: { kind: 'ChartSource', name }, interval: '1h' });
      const cs = await chartSourceReason(name, 'SecurityViolation');
      expect(o.ready(cs)?.message).toContain(words);
      expect(cs.status?.artifact).toBeUndefined();
      const g = await o.getGroup(name);
      expect(o.ready(g)?.status).not.toBe('True');
      expect(
        await kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: `${name}-cm` }),
      ).toBeUndefined();
      await expect(readFile('/tmp/shoal-escape.yaml')).rejects.toThrow();
    },
  );

  it('a repository that stops answering is SourceUnavailable; the artifact and the applied objects stay', async () => {
    const repo = await startChartRepo(helm);
    await repo.publish(join(CHARTS, 'demo'), '1.0.0');
    await chartSource('gone', { url: repo.url, chart: 'demo', version: '1.x', interval: '1s' });
    await o.group('gone', {
      sourceRef: { kind: 'ChartSource', name: 'gone' },
      interval: '1h',
      prune: true,
      helm: { values: { greeting: 'still here' } },
    });
    await waitFor(
      'gone applied',
      async () => (await o.getGroup('gone'))?.status?.lastAppliedRevision === 'demo@1.0.0',
    );
    const artifact = (await getChartSource('gone'))?.status?.artifact;
    await repo.close();
    const cs = await chartSourceReason('gone', 'SourceUnavailable');
    expect(cs.status?.artifact).toEqual(artifact);
    expect(o.ready(cs)?.message).toContain('127.0.0.1');
    const settings = await kube.get<Settings>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: ns,
      name: 'gone-settings',
    });
    expect(settings?.data?.greeting).toBe('still here');
    expect(shoal.writes(`/namespaces/${ns}/`).filter((w) => w.method === 'DELETE')).toEqual([]);
  });

  it('the podinfo chart with its HPA: Git never sends replicas, so the HPA’s count survives re-syncs', async () => {
    await chartSource('podinfo', { url: good.url, chart: 'podinfo', version: '6.x', interval: '1h' });
    await o.group('podinfo', {
      sourceRef: { kind: 'ChartSource', name: 'podinfo' },
      interval: '1h',
      helm: { values: { replicaCount: 2, hpa: { enabled: true, maxReplicas: 6, cpu: 80 } } },
      // Many charts render spec.replicas beside their HPA; this one is made to.
      patches: [
        {
          target: { kind: 'Deployment', name: 'podinfo' },
          patch: [{ op: 'add', path: '/spec/replicas', value: 2 }],
        },
      ],
    });
    await waitFor(
      'podinfo applied',
      async () => (await o.getGroup('podinfo'))?.status?.lastAppliedRevision === 'podinfo@6.9.0',
    );
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'podinfo' };
    const hpa = await kube.get({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      namespace: ns,
      name: 'podinfo',
    });
    expect(hpa).toBeDefined();
    expect((await kube.get<{ spec: { replicas: number } }>(deployment))?.spec.replicas).toBe(2);
    // What the HPA controller does: it writes the scale subresource.
    await kubectl('-n', ns, 'scale', 'deployment/podinfo', '--replicas=5');
    for (let i = 0; i < 3; i++) {
      const token = `resync-${i}-${Date.now()}`;
      await kubectl(
        '-n',
        ns,
        'annotate',
        '--overwrite',
        'appgroup',
        'podinfo',
        `shoal.dev/requested-at=${token}`,
      );
      await waitFor(
        `resync ${i}`,
        async () => (await o.getGroup('podinfo'))?.status?.lastHandledReconcileAt === token,
      );
    }
    expect((await kube.get<{ spec: { replicas: number } }>(deployment))?.spec.replicas).toBe(5);
    type Managed = { metadata: { managedFields: { manager: string; fieldsV1?: { 'f:spec'?: object } }[] } };
    const owners = ((await kube.get<Managed>(deployment))?.metadata.managedFields ?? [])
      .filter((m) => m.fieldsV1?.['f:spec'] && 'f:replicas' in (m.fieldsV1['f:spec'] as object))
      .map((m) => m.manager);
    expect(owners).not.toContain('shoal');
  });
});

describe('a ChartSource on an HTTPS repository with a bearer token and a CA of its own', () => {
  let ns: string;
  let pki: string;
  let repo: Awaited<ReturnType<typeof startChartRepo>>;
  let shoal: Awaited<ReturnType<typeof startProxiedShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  const TOKEN = 'chart-tok-2718281828';
  const source = (name: string, secret: string | undefined) =>
    kube.apply({
      apiVersion: GV,
      kind: 'ChartSource',
      metadata: { name, namespace: ns },
      spec: {
        url: repo.url,
        chart: 'demo',
        version: '1.x',
        interval: '1h',
        ...(secret ? { secretRef: { name: secret } } : {}),
      },
    });
  const reason = (name: string, r: string) =>
    waitFor(`ChartSource ${name} ${r}`, async () => {
      const cs = await kube.get<ChartSource>({ apiVersion: GV, kind: 'ChartSource', namespace: ns, name });
      return o.ready(cs)?.reason === r ? cs : undefined;
    });

  beforeAll(async () => {
    ns = await newNamespace('charts-tls');
    o = shoalObjects(kube, ns);
    pki = await mkdtemp(join(tmpdir(), 'charts-pki-'));
    await writePki(pki);
    repo = await startChartRepo(helm, {
      bearer: TOKEN,
      tls: { certFile: join(pki, 'apiserver.crt'), keyFile: join(pki, 'apiserver.key') },
    });
    await repo.publish(join(CHARTS, 'demo'), '1.0.0');
    shoal = await startProxiedShoal({
      kubeconfig: cp.kubeconfig,
      namespace: ns,
      extraArgs: ['--allow-file-urls'],
    });
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.close();
    await rm(pki, { recursive: true, force: true });
  });

  it('is trusted with ca.crt and read with bearerToken; refused without the CA, or with a wrong token', async () => {
    const ca = await readFile(join(pki, 'ca.crt'), 'utf8');
    await o.secret('charts', { bearerToken: TOKEN, 'ca.crt': ca });
    await o.secret('wrong', { bearerToken: 'not-the-token', 'ca.crt': ca });
    await source('good', 'charts');
    await source('no-ca', undefined);
    await source('bad-token', 'wrong');
    await o.group('app', {
      sourceRef: { kind: 'ChartSource', name: 'good' },
      interval: '1h',
      helm: { values: { greeting: 'tls' } },
    });
    await waitFor(
      'applied',
      async () => (await o.getGroup('app'))?.status?.lastAppliedRevision === 'demo@1.0.0',
    );
    const untrusted = await reason('no-ca', 'SourceUnavailable');
    expect(o.ready(untrusted)?.message).toMatch(/certificate/i);
    await reason('bad-token', 'AuthenticationFailed');
    expect((await o.everything()) + JSON.stringify(shoal.logs)).not.toContain(TOKEN);
  });
});
