import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppGroup } from '../../src/api/app-group.ts';
import type { GitSource } from '../../src/api/git-source.ts';
import { useCluster } from '../support/cluster.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { startShoal } from '../support/shoal.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, kubectlRaw, newNamespace } = useCluster();

const configMap = (name: string, value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  value: "${value}"\n`;

const deployment = (name: string, image: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: 2
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers: [{name: app, image: "${image}"}]
`;

async function createSource(ns: string, url: string, interval = '1s') {
  await kube.apply({
    apiVersion: 'shoal.dev/v1alpha1',
    kind: 'GitSource',
    metadata: { name: 'repo', namespace: ns },
    spec: { url, interval },
  });
}

async function createGroup(ns: string, spec: Partial<AppGroup['spec']> = {}) {
  await kube.apply({
    apiVersion: 'shoal.dev/v1alpha1',
    kind: 'AppGroup',
    metadata: { name: 'app', namespace: ns },
    spec: { sourceRef: { name: 'repo' }, path: 'deploy', ...spec },
  });
}

const getGroup = (ns: string) =>
  kube.get<AppGroup>({ apiVersion: 'shoal.dev/v1alpha1', kind: 'AppGroup', namespace: ns, name: 'app' });
const getSource = (ns: string) =>
  kube.get<GitSource>({ apiVersion: 'shoal.dev/v1alpha1', kind: 'GitSource', namespace: ns, name: 'repo' });
const ready = (
  obj:
    | { status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } }
    | undefined,
) => obj?.status?.conditions?.find((c) => c.type === 'Ready');
const getConfigMap = (ns: string, name: string) =>
  kube.get<{
    apiVersion: string;
    kind: string;
    data?: Record<string, string>;
    metadata: { labels?: Record<string, string> };
  }>({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    namespace: ns,
    name,
  });

describe('first Git-to-cluster sync', () => {
  let ns: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startShoal>>;

  beforeAll(async () => {
    ns = await newNamespace('sync');
    repo = await gitRepo({
      'deploy/config.yaml': configMap('settings', 'one'),
      'deploy/web/deployment.yaml': deployment('web', 'registry.invalid/web:1.0'),
      'README.md': '# not a manifest\n',
    });
    shoal = await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    await createSource(ns, repo.url);
    await createGroup(ns);
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.remove();
  });

  it('applies every manifest under path with owner labels, and reports Ready with an inventory', async () => {
    const commit = await repo.head();
    const group = await waitFor('AppGroup Ready', async () => {
      const g = await getGroup(ns);
      return ready(g)?.status === 'True' ? g : undefined;
    });
    expect(group.status?.lastAppliedRevision).toBe(`main@sha1:${commit}`);
    expect(group.status?.observedGeneration).toBe(group.metadata.generation);
    expect(group.status?.inventory).toEqual([
      { id: `${ns}_settings__ConfigMap`, v: 'v1' },
      { id: `${ns}_web_apps_Deployment`, v: 'v1' },
    ]);
    const cm = await getConfigMap(ns, 'settings');
    expect(cm?.data?.value).toBe('one');
    expect(cm?.metadata.labels).toMatchObject({
      'shoal.dev/group-name': 'app',
      'shoal.dev/group-namespace': ns,
    });
    const source = await getSource(ns);
    expect(source?.status?.artifact?.revision).toBe(`main@sha1:${commit}`);
    expect(source?.status?.artifact?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('reports objects as applied by the field manager "shoal"', async () => {
    const { stdout } = await kubectlRaw([
      '-n',
      ns,
      'get',
      'configmap',
      'settings',
      '--show-managed-fields',
      '-o',
      'json',
    ]);
    const managers = (
      JSON.parse(stdout).metadata.managedFields as { manager: string; operation: string }[]
    ).map((m) => `${m.manager}/${m.operation}`);
    expect(managers).toContain('shoal/Apply');
  });

  it('lands a new commit on the next poll', async () => {
    const commit = await repo.commit({ 'deploy/config.yaml': configMap('settings', 'two') }, 'bump');
    await waitFor('new revision applied', async () => {
      const g = await getGroup(ns);
      return g?.status?.lastAppliedRevision === `main@sha1:${commit}`;
    });
    expect((await getConfigMap(ns, 'settings'))?.data?.value).toBe('two');
  });

  it('polls without writing: an unchanged source and group keep their resourceVersion', async () => {
    const before = [
      (await getSource(ns))?.metadata.resourceVersion,
      (await getGroup(ns))?.metadata.resourceVersion,
    ];
    // Three poll intervals of the source (1s each), each a `git ls-remote` and nothing else.
    await new Promise((r) => setTimeout(r, 3_500));
    const after = [
      (await getSource(ns))?.metadata.resourceVersion,
      (await getGroup(ns))?.metadata.resourceVersion,
    ];
    expect(after).toEqual(before);
  });

  it('works with kubectl wait --for=condition=Ready', async () => {
    const r = await kubectlRaw(['-n', ns, 'wait', '--for=condition=Ready', 'appgroup/app', '--timeout=30s']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('condition met');
  });

  it('shows READY, STATUS, REVISION and AGE in kubectl get', async () => {
    const r = await kubectlRaw(['get', 'appgroups', '-A']);
    const header = r.stdout.split('\n')[0]?.split(/\s{2,}/);
    expect(header).toEqual(['NAMESPACE', 'NAME', 'READY', 'STATUS', 'REVISION', 'AGE']);
    expect(r.stdout).toMatch(new RegExp(`${ns}\\s+app\\s+True\\s+applied revision main@sha1:`));
  });
});

describe('bad input leaves the cluster as it was', () => {
  const repos: TestRepo[] = [];
  const shoals: Awaited<ReturnType<typeof startShoal>>[] = [];

  afterEach(async () => {
    await Promise.all(shoals.splice(0).map((s) => s.stop()));
    await Promise.all(repos.splice(0).map((r) => r.remove()));
  });

  async function syncedGroup(files: Record<string, string>) {
    const ns = await newNamespace('bad');
    const repo = await gitRepo(files);
    repos.push(repo);
    shoals.push(await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns }));
    await createSource(ns, repo.url);
    await createGroup(ns);
    const good = await waitFor('first sync', async () => {
      const g = await getGroup(ns);
      return ready(g)?.status === 'True' ? g : undefined;
    });
    return { ns, repo, good };
  }

  const cases: { name: string; change: Record<string, string | null>; reason: string; message: RegExp }[] = [
    {
      name: 'a YAML alias bomb',
      change: {
        'deploy/bomb.yaml':
          'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n  x: y\na: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n',
      },
      reason: 'ParseFailed',
      message: /bomb\.yaml: Excessive alias count/,
    },
    {
      name: 'invalid YAML in one file',
      change: { 'deploy/z-broken.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n' },
      reason: 'ParseFailed',
      message: /z-broken\.yaml:4/,
    },
    {
      name: 'an object without a kind',
      change: { 'deploy/no-kind.yaml': 'apiVersion: v1\nmetadata: {name: x}\n' },
      reason: 'BuildFailed',
      message: /no-kind\.yaml: missing kind/,
    },
    {
      name: 'a schema-invalid object beside valid ones',
      change: { 'deploy/bad-deploy.yaml': deployment('bad', 'x').replace('replicas: 2', 'replicas: "two"') },
      reason: 'DryRunFailed',
      message: /Deployment\/.*\/bad/,
    },
    {
      name: 'the path removed from the repository',
      change: { deploy: null },
      reason: 'PathNotFound',
      message: /path "deploy" was not found/,
    },
  ];
  it.each(cases)(
    '$name: Ready=False ($reason), nothing applied, last applied revision kept',
    async ({ change, reason, message }) => {
      const { ns, repo, good } = await syncedGroup({
        'deploy/a.yaml': configMap('a', 'one'),
      });
      const bad = await repo.commit(
        change.deploy === null ? change : { ...change, 'deploy/a.yaml': configMap('a', 'changed') },
      );
      const failed = await waitFor('Ready=False', async () => {
        const g = await getGroup(ns);
        const r = ready(g);
        return r?.status === 'False' && g?.status?.lastAttemptedRevision === `main@sha1:${bad}`
          ? g
          : undefined;
      });
      const r = ready(failed);
      expect(r?.reason).toBe(reason);
      expect(r?.message).toMatch(message);
      expect(failed.status?.lastAppliedRevision).toBe(good.status?.lastAppliedRevision);
      expect(failed.status?.inventory).toEqual(good.status?.inventory);
      // The valid change in the same commit was not applied either.
      expect((await getConfigMap(ns, 'a'))?.data?.value).toBe('one');
      // Retries (with backoff) that fail the same way add no history entry.
      await new Promise((r) => setTimeout(r, 2_000));
      const history = (await getGroup(ns))?.status?.history ?? [];
      expect(history.filter((h) => h.result === 'Failed' && h.revision === `main@sha1:${bad}`)).toHaveLength(
        1,
      );
      const events = await kube.list<{ reason: string; type: string; regarding: { name: string } }>(
        'events.k8s.io/v1',
        'Event',
        {
          namespace: ns,
        },
      );
      expect(
        events.items.some((e) => e.type === 'Warning' && e.reason === reason && e.regarding.name === 'app'),
      ).toBe(true);
    },
  );

  it('an edit of the AppGroup reconciles at once, and a missing path is reported', async () => {
    const { ns } = await syncedGroup({
      'deploy/a.yaml': configMap('a', 'one'),
      'other/b.yaml': configMap('b', 'two'),
    });
    await createGroup(ns, { path: 'other', interval: '1h' });
    await waitFor('b applied', async () => (await getConfigMap(ns, 'b'))?.data?.value === 'two');
    await createGroup(ns, { path: 'nope', interval: '1h' });
    const g = await waitFor('PathNotFound', async () => {
      const x = await getGroup(ns);
      return ready(x)?.reason === 'PathNotFound' ? x : undefined;
    });
    expect(ready(g)?.status).toBe('False');
  });

  it('a prototype-polluting patch in spec.patches is refused and nothing is applied', async () => {
    const { ns, good } = await syncedGroup({ 'deploy/a.yaml': configMap('a', 'one') });
    await createGroup(ns, {
      patches: [
        {
          target: { kind: 'ConfigMap', name: 'a' },
          patch: [{ op: 'replace', path: '/data/value', value: 'patched' }],
        },
        {
          target: { kind: 'ConfigMap', name: 'a' },
          patch: [{ op: 'add', path: '/__proto__/polluted', value: 'yes' }],
        },
      ],
    });
    const g = await waitFor('BuildFailed', async () => {
      const x = await getGroup(ns);
      return ready(x)?.reason === 'BuildFailed' ? x : undefined;
    });
    expect(ready(g)?.message).toMatch(/patches\[1\]/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await getConfigMap(ns, 'a'))?.data?.value).toBe('one');
    expect(g.status?.lastAppliedRevision).toBe(good.status?.lastAppliedRevision);
  });

  it('refuses file:// URLs unless the operator allows them (Stalled, UrlNotAllowed)', async () => {
    const ns = await newNamespace('nofile');
    const repo = await gitRepo({ 'deploy/a.yaml': configMap('a', 'one') });
    repos.push(repo);
    shoals.push(await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns, extraArgs: [] }));
    await createSource(ns, repo.url);
    await createGroup(ns);
    const source = await waitFor('source refused', async () => {
      const s = await getSource(ns);
      return ready(s)?.reason === 'UrlNotAllowed' ? s : undefined;
    });
    expect(source.status?.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('True');
    expect(ready(source)?.message).toContain('--allow-file-urls');
    expect(source.status?.artifact).toBeUndefined();
    expect(await getConfigMap(ns, 'a')).toBeUndefined();
  });
});
