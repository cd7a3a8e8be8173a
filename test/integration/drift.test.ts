import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../support/cluster.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { shoalObjects } from '../support/objects.ts';
import { startShoal } from '../support/shoal.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, kubectl, kubectlRaw, newNamespace } = useCluster();

// Polls and re-syncs are hourly here: a revert within seconds comes from watching the objects.
describe('drift on managed objects', () => {
  let ns: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  const value = async (name: string) =>
    (await kube.get<{ data?: { v?: string } }>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name }))
      ?.data?.v;

  beforeAll(async () => {
    ns = await newNamespace('drift');
    o = shoalObjects(kube, ns);
    repo = await gitRepo({
      'apps/a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: "from-git"}\n',
      'apps/b.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {v: "from-git"}\n',
      'apps/web.yaml': [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: {name: web}',
        'spec:',
        '  selector: {matchLabels: {app: web}}',
        '  template:',
        '    metadata: {labels: {app: web}}',
        '    spec: {containers: [{name: web, image: "nginx:1.27"}]}',
        '',
      ].join('\n'),
    });
    shoal = await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    await o.source('repo', { url: repo.url, interval: '1h' });
    await o.group('app', { sourceRef: { name: 'repo' }, path: 'apps', interval: '1h' });
    await o.groupAt('app', await repo.head());
    // Let the drift watch for ConfigMaps start (it follows the inventory).
    await new Promise((r) => setTimeout(r, 1_000));
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.remove();
  });

  it('an edit by hand is reverted within seconds, with an event naming who changed what', async () => {
    await kubectl('-n', ns, 'patch', 'configmap', 'a', '--type=merge', '-p', '{"data":{"v":"by-hand"}}');
    await waitFor('reverted', async () => (await value('a')) === 'from-git', { timeoutMs: 15_000 });
    const events = await kube.list<{ reason: string; note: string }>('events.k8s.io/v1', 'Event', {
      namespace: ns,
    });
    const drift = events.items.find((e) => e.reason === 'DriftDetected');
    expect(drift?.note).toBe(`ConfigMap/${ns}/a was changed by kubectl-patch; re-syncing`);
  });

  it('kubectl edit of a managed Deployment is reverted within seconds, naming kubectl-edit', async () => {
    const image = async () =>
      (
        await kube.get<{ spec: { template: { spec: { containers: { image: string }[] } } } }>({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          namespace: ns,
          name: 'web',
        })
      )?.spec.template.spec.containers[0]?.image;
    const edit = await kubectlRaw(['-n', ns, 'edit', 'deployment', 'web'], undefined, {
      KUBE_EDITOR: 'sed -i s/nginx:1.27/nginx:edited-by-hand/',
    });
    expect(edit.status, edit.stderr).toBe(0);
    await waitFor('reverted', async () => (await image()) === 'nginx:1.27', { timeoutMs: 15_000 });
    const events = await kube.list<{ reason: string; note: string }>('events.k8s.io/v1', 'Event', {
      namespace: ns,
    });
    expect(events.items.map((e) => e.note)).toContain(
      `Deployment/${ns}/web was changed by kubectl-edit; re-syncing`,
    );
  });

  it('an operator watching another namespace leaves this group alone when its objects drift', async () => {
    const elsewhere = await newNamespace('elsewhere');
    const other = await startShoal({ kubeconfig: cp.kubeconfig, namespace: elsewhere });
    try {
      // It syncs the same repository into its own namespace, so it watches ConfigMaps for drift too.
      const theirs = shoalObjects(kube, elsewhere);
      await theirs.source('repo', { url: repo.url, interval: '1h' });
      await theirs.group('app', { sourceRef: { name: 'repo' }, path: 'apps', interval: '1h' });
      await theirs.groupAt('app', await repo.head());
      await new Promise((r) => setTimeout(r, 1_000));
      await kubectl('-n', ns, 'patch', 'configmap', 'a', '--type=merge', '-p', '{"data":{"v":"by-hand-2"}}');
      await waitFor('reverted', async () => (await value('a')) === 'from-git', { timeoutMs: 15_000 });
      await new Promise((r) => setTimeout(r, 500));
      expect(JSON.stringify(other.logs)).not.toContain(`"key":"${ns}/app"`);
      expect(JSON.stringify(other.logs)).toContain(`"key":"${elsewhere}/app"`);
    } finally {
      await other.stop();
    }
  });

  it('a deleted object is recreated within seconds', async () => {
    await kubectl('-n', ns, 'delete', 'configmap', 'b');
    await waitFor('recreated', async () => (await value('b')) === 'from-git', { timeoutMs: 15_000 });
  });
});
