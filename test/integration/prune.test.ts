import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../support/cluster.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { shoalObjects } from '../support/objects.ts';
import { startShoal } from '../support/shoal.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, kubectl, newNamespace, serviceAccountWithRole } = useCluster();
const exists = async (kube: ReturnType<typeof useCluster>['kube'], namespace: string, name: string) =>
  (await kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name })) !== undefined;
const cm = (name: string, extra = '') =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${extra}data: {v: "1"}\n`;

describe('prune', () => {
  let ns: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  const exists = async (name: string) =>
    (await kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name })) !== undefined;

  beforeAll(async () => {
    ns = await newNamespace('prune');
    o = shoalObjects(kube, ns);
    repo = await gitRepo({
      'apps/a.yaml': cm('a'),
      'apps/b.yaml': cm('b'),
      'apps/keep.yaml': cm('keep', '  annotations: {shoal.dev/prune: disabled}\n'),
      'apps/relabelled.yaml': cm('relabelled'),
      'apps/c.yaml': cm('c'),
    });
    shoal = await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    await o.source('repo', { url: repo.url, interval: '1s' });
    await o.group('app', { sourceRef: { name: 'repo' }, path: 'apps', prune: true, interval: '1h' });
    await o.groupAt('app', await repo.head());
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.remove();
  });

  it('deletes exactly the object whose file left Git, and records it', async () => {
    const commit = await repo.commit({ 'apps/b.yaml': null });
    const g = await o.groupAt('app', commit);
    expect(await exists('b')).toBe(false);
    for (const name of ['a', 'c', 'keep', 'relabelled']) expect(await exists(name), name).toBe(true);
    expect(g.status?.inventory?.map((e) => e.id)).not.toContain(`${ns}_b__ConfigMap`);
    expect(g.status?.history?.[0], JSON.stringify(g.status?.history)).toMatchObject({
      result: 'Succeeded',
      deleted: 1,
      created: 0,
    });
  });

  it('leaves objects marked shoal.dev/prune: disabled, or no longer labelled as ours, and says so', async () => {
    // While the group is suspended (else drift correction would put the label straight back, the
    // file still being in Git), someone takes the object over and the files leave Git.
    const spec = { sourceRef: { name: 'repo' }, path: 'apps', prune: true, interval: '1h' };
    await o.group('app', { ...spec, suspend: true });
    await kubectl('-n', ns, 'label', 'configmap', 'relabelled', 'shoal.dev/group-name-');
    const commit = await repo.commit({ 'apps/keep.yaml': null, 'apps/relabelled.yaml': null });
    await o.sourceAt('repo', commit);
    await o.group('app', { ...spec, suspend: false });
    const g = await o.groupAt('app', commit);
    expect(await exists('keep')).toBe(true);
    expect(await exists('relabelled')).toBe(true);
    expect(g.status?.inventory?.map((e) => e.id)).toEqual([`${ns}_a__ConfigMap`, `${ns}_c__ConfigMap`]);
    const events = await kube.list<{ reason: string; note: string }>('events.k8s.io/v1', 'Event', {
      namespace: ns,
    });
    const skipped = events.items.find((e) => e.reason === 'PruneSkipped');
    expect(skipped?.note).toContain(`ConfigMap/${ns}/keep (marked shoal.dev/prune: disabled)`);
    expect(skipped?.note).toContain(`ConfigMap/${ns}/relabelled (no longer labelled as this group's)`);
  });

  it('refuses to prune everything when the path suddenly renders nothing, unless allowEmpty', async () => {
    const empty = await repo.commit({
      'apps/a.yaml': null,
      'apps/c.yaml': null,
      'apps/README.md': 'empty\n',
    });
    const refused = await o.groupReason('app', 'EmptySourceRefused');
    expect(refused.status?.lastAttemptedRevision).toContain(empty);
    for (const name of ['a', 'c']) expect(await exists(name), name).toBe(true);
    await o.group('app', {
      sourceRef: { name: 'repo' },
      path: 'apps',
      prune: true,
      allowEmpty: true,
      interval: '1h',
    });
    const g = await o.groupAt('app', empty);
    expect(g.status?.inventory).toEqual([]);
    expect(await exists('a')).toBe(false);
    expect(await exists('c')).toBe(false);
    expect(await exists('keep')).toBe(true);
  });
});

describe('deleting an AppGroup', () => {
  let ns: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startShoal>>;
  let o: ReturnType<typeof shoalObjects>;

  beforeAll(async () => {
    ns = await newNamespace('finalize');
    o = shoalObjects(kube, ns);
    repo = await gitRepo({ 'pruned/x.yaml': cm('x'), 'orphaned/y.yaml': cm('y') });
    shoal = await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    await o.source('repo', { url: repo.url, interval: '1m' });
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.remove();
  });

  it.each([
    ['with prune: true deletes what it applied', 'pruned', true, 'x', false],
    ['with prune: false orphans it', 'orphaned', false, 'y', true],
  ])('%s', async (_, path, prune, object, survives) => {
    await o.group(path, { sourceRef: { name: 'repo' }, path, prune, interval: '1h' });
    const g = await o.groupAt(path, await repo.head());
    expect(g.metadata.finalizers).toContain('shoal.dev/finalizer');
    await kube.delete({
      apiVersion: 'shoal.dev/v1alpha1',
      kind: 'AppGroup',
      metadata: { name: path, namespace: ns },
    });
    await waitFor('AppGroup gone', async () => (await o.getGroup(path)) === undefined);
    const live = await kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: object });
    expect(live !== undefined).toBe(survives);
  });
});

describe('a delete the API server refuses', () => {
  let ns: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  const role = (verbs: string[]) =>
    serviceAccountWithRole(ns, 'limited', [{ apiGroups: [''], resources: ['configmaps'], verbs }]);

  beforeAll(async () => {
    ns = await newNamespace('prunefail');
    o = shoalObjects(kube, ns);
    await role(['get', 'list', 'watch', 'create', 'update', 'patch']);
    repo = await gitRepo({ 'apps/a.yaml': cm('a'), 'apps/b.yaml': cm('b') });
    shoal = await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    await o.source('repo', { url: repo.url, interval: '1s' });
    await o.group('app', {
      sourceRef: { name: 'repo' },
      path: 'apps',
      prune: true,
      serviceAccountName: 'limited',
      interval: '1h',
    });
    await o.groupAt('app', await repo.head());
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.remove();
  });

  it('keeps the object in the inventory with PruneFailed, and retries until it succeeds', async () => {
    const commit = await repo.commit({ 'apps/b.yaml': null });
    const failed = await o.groupReason('app', 'PruneFailed');
    expect(o.ready(failed)?.message).toContain(`ConfigMap/${ns}/b`);
    expect(failed.status?.inventory?.map((e) => e.id)).toEqual([`${ns}_a__ConfigMap`, `${ns}_b__ConfigMap`]);
    expect(failed.status?.lastAttemptedRevision).toContain(commit);
    expect(await kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'b' })).toBeDefined();
    await role(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']);
    const done = await o.groupAt('app', commit, 60_000);
    expect(done.status?.inventory?.map((e) => e.id)).toEqual([`${ns}_a__ConfigMap`]);
    expect(await kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'b' })).toBeUndefined();
  });
});

describe('deleting a group whose ServiceAccount is gone (catalogue C6)', () => {
  let ns: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  const rules = [
    {
      apiGroups: [''],
      resources: ['configmaps'],
      verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
    },
  ];

  beforeAll(async () => {
    ns = await newNamespace('blocked');
    o = shoalObjects(kube, ns);
    await serviceAccountWithRole(ns, 'deployer', rules);
    repo = await gitRepo({ 'apps/a.yaml': cm('a'), 'apps/b.yaml': cm('b') });
    shoal = await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    await o.source('repo', { url: repo.url, interval: '1m' });
    await o.group('app', {
      sourceRef: { name: 'repo' },
      path: 'apps',
      prune: true,
      serviceAccountName: 'deployer',
      interval: '1h',
    });
    await o.groupAt('app', await repo.head());
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.remove();
  });

  it('waits, and says so in status and an event, naming the objects left; it finishes once the account is back', async () => {
    // The account and what it was allowed go away (impersonating an account that does not exist
    // still carries its RoleBindings, so both go).
    await kube.delete({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'deployer', namespace: ns },
    });
    await kube.delete({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'deployer', namespace: ns },
    });
    await kube.delete({
      apiVersion: 'shoal.dev/v1alpha1',
      kind: 'AppGroup',
      metadata: { name: 'app', namespace: ns },
    });
    const g = await o.groupReason('app', 'DeletionBlocked');
    const message = o.ready(g)?.message ?? '';
    expect(message).toContain('2 of its 2 object(s) could not be deleted');
    expect(message).toContain(`ConfigMap/${ns}/a, ConfigMap/${ns}/b`);
    expect(message).toContain(`system:serviceaccount:${ns}:deployer`);
    expect(message).toContain('remove the finalizer shoal.dev/finalizer');
    await waitFor('a DeletionBlocked event', async () =>
      (await kube.list<{ reason: string }>('events.k8s.io/v1', 'Event', { namespace: ns })).items.some(
        (e) => e.reason === 'DeletionBlocked',
      ),
    );
    for (const name of ['a', 'b']) expect(await exists(kube, ns, name)).toBe(true);
    await serviceAccountWithRole(ns, 'deployer', rules);
    await waitFor('the group gone', async () => (await o.getGroup('app')) === undefined, {
      timeoutMs: 60_000,
    });
    for (const name of ['a', 'b']) expect(await exists(kube, ns, name)).toBe(false);
  });
});

describe('objects that leave Git while prune is off (catalogue D12)', () => {
  let ns: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  const spec = (prune: boolean) => ({ sourceRef: { name: 'repo' }, path: 'apps', prune, interval: '1h' });

  beforeAll(async () => {
    ns = await newNamespace('stale');
    o = shoalObjects(kube, ns);
    repo = await gitRepo({ 'apps/a.yaml': cm('a'), 'apps/b.yaml': cm('b') });
    shoal = await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    await o.source('repo', { url: repo.url, interval: '1s' });
    await o.group('app', spec(false));
    await o.groupAt('app', await repo.head());
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.remove();
  });

  it('are kept, listed as stale and named; turning prune on later deletes them', async () => {
    const commit = await repo.commit({ 'apps/b.yaml': null });
    const g = await o.groupAt('app', commit);
    expect(g.status?.inventory).toEqual([
      { id: `${ns}_a__ConfigMap`, v: 'v1' },
      { id: `${ns}_b__ConfigMap`, v: 'v1', stale: true },
    ]);
    expect(o.ready(g)?.message).toContain(
      `1 object(s) that left Git are kept because prune is off: ConfigMap/${ns}/b`,
    );
    expect(await exists(kube, ns, 'b')).toBe(true);
    await waitFor('a StaleObjects event', async () =>
      (
        await kube.list<{ reason: string; note: string }>('events.k8s.io/v1', 'Event', { namespace: ns })
      ).items.some((e) => e.reason === 'StaleObjects' && e.note.includes(`ConfigMap/${ns}/b`)),
    );
    await o.group('app', spec(true));
    await waitFor('b pruned', async () => !(await exists(kube, ns, 'b')));
    const after = await waitFor('the inventory without b', async () => {
      const now = await o.getGroup('app');
      return now?.status?.inventory?.length === 1 ? now : undefined;
    });
    expect(after.status?.inventory).toEqual([{ id: `${ns}_a__ConfigMap`, v: 'v1' }]);
  });
});
