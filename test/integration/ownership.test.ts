import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../support/cluster.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { scrapeMetric } from '../support/metrics.ts';
import { shoalObjects } from '../support/objects.ts';
import { startProxiedShoal } from '../support/shoal.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, kubectl, newNamespace, serviceAccountWithRole } = useCluster();

const cm = (name: string, v: string, extra = '', namespace = '') =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${namespace ? `  namespace: ${namespace}\n` : ''}${extra}data: {v: "${v}"}\n`;
type Live = { metadata: { labels?: Record<string, string> }; data?: { v?: string } };

describe('ownership before the first write (catalogue C8)', () => {
  let ns: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startProxiedShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  const live = (name: string, namespace = ns) =>
    kube.get<Live>({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name });
  const cmWrites = (name: string, namespace = ns) =>
    shoal.writes(`/namespaces/${namespace}/configmaps/${name}`);

  beforeAll(async () => {
    ns = await newNamespace('own');
    o = shoalObjects(kube, ns);
    repo = await gitRepo({
      'kubectl/taken.yaml': cm('taken', 'git'),
      'kubectl/fresh.yaml': cm('fresh', 'git'),
      'first/contested.yaml': cm('contested', 'first'),
      'second/contested.yaml': cm('contested', 'second'),
      'second/own.yaml': cm('second-own', 'second'),
    });
    shoal = await startProxiedShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    await o.source('repo', { url: repo.url, interval: '1s' });
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.remove();
  });

  it('refuses an object made with kubectl, writes nothing at all, and says how to adopt it', async () => {
    await kubectl('-n', ns, 'create', 'configmap', 'taken', '--from-literal=v=mine');
    const from = shoal.proxy.log.length;
    await o.group('kubectl', { sourceRef: { name: 'repo' }, path: 'kubectl', prune: true, interval: '1h' });
    const g = await o.groupReason('kubectl', 'OwnershipConflict');
    expect(o.ready(g)?.message).toContain(`ConfigMap/${ns}/taken exists and was not created by Shoal`);
    expect(o.ready(g)?.message).toContain('spec.adopt: true');
    expect(o.ready(g)?.message).toContain('shoal.dev/adopt: enabled');
    // Not even the object that does not exist yet was written: one refusal means zero writes.
    const written = shoal.proxy.log
      .slice(from)
      .filter((r) => r.write && r.path.includes(`/namespaces/${ns}/configmaps`));
    expect(written).toEqual([]);
    expect(await live('fresh')).toBeUndefined();
    const taken = await live('taken');
    expect(taken?.data?.v).toBe('mine');
    expect(taken?.metadata.labels?.['shoal.dev/group-name']).toBeUndefined();
    expect(g.status?.inventory ?? []).toEqual([]);
    await waitFor('an OwnershipConflict event', async () =>
      (
        await kube.list<{ reason: string; note: string }>('events.k8s.io/v1', 'Event', { namespace: ns })
      ).items.some((e) => e.reason === 'OwnershipConflict' && e.note.includes('taken')),
    );
    expect(
      await scrapeMetric(
        shoal.metricsUrl,
        'shoal_reconcile_errors_total',
        'kind="AppGroup",reason="OwnershipConflict"',
      ),
    ).toBeGreaterThan(0);
  });

  it('adopts it when Git says so (shoal.dev/adopt: enabled), records that, and a later prune may delete it', async () => {
    const adopt = await repo.commit({
      'kubectl/taken.yaml': cm('taken', 'git', '  annotations: {shoal.dev/adopt: enabled}\n'),
    });
    const g = await o.groupAt('kubectl', adopt);
    expect(g.status?.inventory).toEqual([
      { id: `${ns}_fresh__ConfigMap`, v: 'v1' },
      { id: `${ns}_taken__ConfigMap`, v: 'v1', adopted: true },
    ]);
    const taken = await live('taken');
    expect(taken?.data?.v).toBe('git');
    expect(taken?.metadata.labels?.['shoal.dev/group-name']).toBe('kubectl');
    // Events follow the status write.
    const adopted = await waitFor('an Adopted event', async () =>
      (
        await kube.list<{ reason: string; note: string }>('events.k8s.io/v1', 'Event', { namespace: ns })
      ).items.find((e) => e.reason === 'Adopted'),
    );
    expect(adopted.note).toBe(`adopted 1 existing object(s): ConfigMap/${ns}/taken`);
    // Adopted is owned: the record survives re-syncs, and a prune deletes it like one it created.
    const dropped = await repo.commit({ 'kubectl/taken.yaml': null });
    const after = await o.groupAt('kubectl', dropped);
    expect(after.status?.inventory).toEqual([{ id: `${ns}_fresh__ConfigMap`, v: 'v1' }]);
    expect(await live('taken')).toBeUndefined();
  });

  it('two groups declaring one object: the second is refused, names the first, and never writes it', async () => {
    await o.group('first', { sourceRef: { name: 'repo' }, path: 'first', prune: true, interval: '1h' });
    await o.groupAt('first', await repo.head());
    const from = shoal.proxy.log.length;
    await o.group('second', { sourceRef: { name: 'repo' }, path: 'second', prune: true, interval: '2s' });
    const second = await o.groupReason('second', 'OwnershipConflict');
    expect(o.ready(second)?.message).toContain(`ConfigMap/${ns}/contested belongs to AppGroup ${ns}/first`);
    // Several retries later there is still no fight: the value never flipped, one inventory lists it.
    await waitFor('a few retries of the second group', async () => {
      const g = await o.getGroup('second');
      return (g?.status?.history?.length ?? 0) >= 1 && shoal.proxy.log.length > from + 10;
    });
    await new Promise((r) => setTimeout(r, 3_000));
    expect(cmWrites('contested').filter((r) => r.at > (shoal.proxy.log[from]?.at ?? 0))).toEqual([]);
    expect((await live('contested'))?.data?.v).toBe('first');
    expect((await o.getGroup('second'))?.status?.inventory ?? []).toEqual([]);
    expect(await live('second-own')).toBeUndefined();
  });

  it('the group that does not own it dropping it deletes nothing; the owner dropping it deletes it', async () => {
    const notOurs = await repo.commit({ 'second/contested.yaml': null });
    await o.groupAt('second', notOurs);
    expect((await live('contested'))?.data?.v).toBe('first');
    expect(cmWrites('contested').filter((r) => r.method === 'DELETE')).toEqual([]);
    expect((await live('second-own'))?.data?.v).toBe('second');
    const ownerDrops = await repo.commit({
      'first/contested.yaml': null,
      'first/keep.yaml': cm('keep', 'first'),
    });
    await o.groupAt('first', ownerDrops);
    expect(await live('contested')).toBeUndefined();
    expect(cmWrites('contested').filter((r) => r.method === 'DELETE')).toHaveLength(1);
  });
});

describe('across namespaces (catalogue C8, C1)', () => {
  let tenant: string;
  let victim: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startProxiedShoal>>;
  let o: ReturnType<typeof shoalObjects>;

  beforeAll(async () => {
    tenant = await newNamespace('tenant');
    victim = await newNamespace('victim');
    o = shoalObjects(kube, tenant);
    repo = await gitRepo({ 'apps/steal.yaml': cm('theirs', 'stolen', '', victim) });
    shoal = await startProxiedShoal({ kubeconfig: cp.kubeconfig, namespace: tenant });
    await o.source('repo', { url: repo.url, interval: '1s' });
    await kubectl('-n', victim, 'create', 'configmap', 'theirs', '--from-literal=v=victim');
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.remove();
  });

  it("a group that applies with the operator's identity may not write into another namespace", async () => {
    await o.group('plain', { sourceRef: { name: 'repo' }, path: 'apps', prune: true, interval: '1h' });
    const g = await o.groupReason('plain', 'PolicyViolation');
    expect(o.ready(g)?.message).toContain(`ConfigMap/${victim}/theirs: namespace ${victim} is not permitted`);
    expect(o.ready(g)?.message).toContain(`AppGroup ${tenant}/plain applies with the operator's identity`);
    expect(shoal.writes(`/namespaces/${victim}/`)).toEqual([]);
    await kube.delete({
      apiVersion: 'shoal.dev/v1alpha1',
      kind: 'AppGroup',
      metadata: { name: 'plain', namespace: tenant },
    });
    await waitFor('plain gone', async () => (await o.getGroup('plain')) === undefined);
  });

  it('a group whose ServiceAccount may write there still cannot take over the other team’s object', async () => {
    // The tenant's deployer may write ConfigMaps in its namespace and in the victim's (RBAC allows it)...
    const configMaps = {
      apiGroups: [''],
      resources: ['configmaps'],
      verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
    };
    await serviceAccountWithRole(tenant, 'deployer', [configMaps]);
    await kube.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'deployer', namespace: victim },
      rules: [
        {
          apiGroups: [''],
          resources: ['configmaps'],
          verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
        },
      ],
    });
    await kube.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'deployer', namespace: victim },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'deployer' },
      subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: tenant }],
    });
    await o.group('deploy', {
      sourceRef: { name: 'repo' },
      path: 'apps',
      prune: true,
      serviceAccountName: 'deployer',
      interval: '1h',
    });
    // ...but the object is not Shoal's: refused, untouched, and never deleted later.
    const g = await o.groupReason('deploy', 'OwnershipConflict');
    expect(o.ready(g)?.message).toContain(`ConfigMap/${victim}/theirs exists and was not created by Shoal`);
    expect(shoal.writes(`/namespaces/${victim}/`)).toEqual([]);
    const emptied = await repo.commit({ 'apps/steal.yaml': null, 'apps/mine.yaml': cm('mine', 'tenant') });
    await o.groupAt('deploy', emptied);
    const theirs = await kube.get<Live>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: victim,
      name: 'theirs',
    });
    expect(theirs?.data?.v).toBe('victim');
    expect(shoal.writes(`/namespaces/${victim}/`)).toEqual([]);
  });
});
