import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../support/cluster.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { shoalObjects } from '../support/objects.ts';
import { startProxiedShoal } from '../support/shoal.ts';

const { cp, kube, newNamespace, serviceAccountWithRole } = useCluster();

const cm = (name: string, namespace = '') =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}${namespace ? `, namespace: ${namespace}` : ''}}\ndata: {v: "1"}\n`;

/** What a tenant's repository may try (catalogue C1, C2, B8). */
const escalation = (tenant: string) => ({
  'apps/ok.yaml': cm('ok'),
  'apps/system.yaml': cm(`planted-${tenant}`, 'kube-system'),
  'apps/role.yaml': `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: everything-${tenant}}\nrules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]\n`,
  'apps/binding.yaml': `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: admin-${tenant}}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: ServiceAccount, name: default, namespace: ${tenant}}]\n`,
  'apps/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata: {name: made-by-${tenant}}\n`,
  'apps/moved.yaml': cm('moved'),
});

describe('the tenancy policy (a group that does not impersonate)', () => {
  let ns: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startProxiedShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  /** Writes outside Shoal's own objects (status, finalizers) and events. */
  const foreignWrites = () =>
    shoal.proxy.log.filter(
      (r) => r.write && !r.path.startsWith('/apis/shoal.dev/') && !r.path.includes('/events'),
    );

  beforeAll(async () => {
    ns = await newNamespace('tenant');
    o = shoalObjects(kube, ns);
    repo = await gitRepo(escalation(ns));
    shoal = await startProxiedShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    await o.source('repo', { url: repo.url, interval: '1s' });
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.remove();
  });

  it('refuses kube-system, cluster roles, bindings, namespaces and a patch that moves an object, before any write', async () => {
    await o.group('app', {
      sourceRef: { name: 'repo' },
      path: 'apps',
      prune: true,
      interval: '1h',
      patches: [
        {
          target: { kind: 'ConfigMap', name: 'moved' },
          patch: [{ op: 'add', path: '/metadata/namespace', value: 'kube-system' }],
        },
      ],
    });
    const g = await o.groupReason('app', 'PolicyViolation');
    const message = o.ready(g)?.message ?? '';
    expect(message).toMatch(/^5 object\(s\) break the tenancy policy, nothing was applied/);
    for (const what of [
      `ConfigMap/kube-system/planted-${ns}: namespace kube-system is not permitted`,
      'ConfigMap/kube-system/moved: namespace kube-system is not permitted',
      `ClusterRole/everything-${ns} is cluster-scoped`,
      `ClusterRoleBinding/admin-${ns} is cluster-scoped`,
      `Namespace/made-by-${ns} is cluster-scoped`,
    ])
      expect(message).toContain(what);
    expect(foreignWrites()).toEqual([]);
    expect(
      await kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'ok' }),
    ).toBeUndefined();
    expect(await kube.get({ apiVersion: 'v1', kind: 'Namespace', name: `made-by-${ns}` })).toBeUndefined();
    expect(
      await kube.get({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        name: `admin-${ns}`,
      }),
    ).toBeUndefined();
    expect(g.status?.lastAppliedRevision).toBeUndefined();
  });

  it('with a ServiceAccount, RBAC decides: what the account may not do fails the dry-run, nothing is written', async () => {
    await serviceAccountWithRole(ns, 'deployer', [
      {
        apiGroups: [''],
        resources: ['configmaps'],
        verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'],
      },
    ]);
    await o.group('app', {
      sourceRef: { name: 'repo' },
      path: 'apps',
      serviceAccountName: 'deployer',
      interval: '1h',
    });
    const g = await o.groupReason('app', 'DryRunFailed');
    expect(o.ready(g)?.message).toContain(`system:serviceaccount:${ns}:deployer`);
    expect(foreignWrites()).toEqual([]);
  });
});

describe('targetNamespace for a group that does not impersonate', () => {
  let ns: string;
  let target: string;
  let repo: TestRepo;
  let o: ReturnType<typeof shoalObjects>;

  beforeAll(async () => {
    ns = await newNamespace('tgt');
    target = await newNamespace('tgt-web');
    o = shoalObjects(kube, ns);
    repo = await gitRepo({ 'apps/settings.yaml': cm('settings') });
    await o.source('repo', { url: repo.url, interval: '1s' });
  });

  afterAll(async () => {
    await repo?.remove();
  });

  it('is refused by default, naming the flag that allows it', async () => {
    const shoal = await startProxiedShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    try {
      await o.group('web', {
        sourceRef: { name: 'repo' },
        path: 'apps',
        targetNamespace: target,
        interval: '1h',
      });
      const g = await o.groupReason('web', 'PolicyViolation');
      expect(o.ready(g)?.message).toContain('--allow-cross-namespace-targets');
      expect(shoal.writes(`/namespaces/${target}/`)).toEqual([]);
    } finally {
      await shoal.stop();
    }
  });

  it('is applied when the operator allows cross-namespace targets', async () => {
    const shoal = await startProxiedShoal({
      kubeconfig: cp.kubeconfig,
      namespace: ns,
      extraArgs: ['--allow-file-urls', '--allow-cross-namespace-targets'],
    });
    try {
      await o.groupAt('web', await repo.head());
      expect(
        await kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: target, name: 'settings' }),
      ).toBeDefined();
    } finally {
      await shoal.stop();
    }
  });
});
