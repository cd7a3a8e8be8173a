import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../support/cluster.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { shoalObjects } from '../support/objects.ts';
import { startShoal } from '../support/shoal.ts';

const { cp, kube, newNamespace, serviceAccountWithRole } = useCluster();
const cm = (name: string, ns = '') =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${ns ? `  namespace: ${ns}\n` : ''}data: {v: "1"}\n`;

// The operator runs as cluster admin here: anything the group's identity may not do would succeed
// if Shoal fell back to its own identity. It must not.
describe('AppGroups apply as their ServiceAccount (impersonation)', () => {
  let ns: string;
  let other: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  const configMap = (namespace: string, name: string) =>
    kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name });

  beforeAll(async () => {
    ns = await newNamespace('tenant');
    other = await newNamespace('other');
    o = shoalObjects(kube, ns);
    await serviceAccountWithRole(ns, 'deployer', [
      {
        apiGroups: [''],
        resources: ['configmaps'],
        verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
      },
    ]);
    repo = await gitRepo({
      'allowed/a.yaml': cm('a'),
      'escape/a.yaml': cm('b'),
      'escape/z.yaml': cm('intruder', other),
      'secret/s.yaml': 'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: v}\n',
    });
    shoal = await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    await o.source('repo', { url: repo.url, interval: '1m' });
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.remove();
  });

  it('applies what the ServiceAccount may apply', async () => {
    await o.group('allowed', {
      sourceRef: { name: 'repo' },
      path: 'allowed',
      serviceAccountName: 'deployer',
    });
    await o.groupAt('allowed', await repo.head());
    expect(await configMap(ns, 'a')).toBeDefined();
  });

  it('an object in a namespace the identity may not touch fails at dry-run, and nothing of the group is applied', async () => {
    await o.group('escape', { sourceRef: { name: 'repo' }, path: 'escape', serviceAccountName: 'deployer' });
    const g = await o.groupReason('escape', 'DryRunFailed');
    const message = o.ready(g)?.message ?? '';
    // The API server names the impersonated identity: the proof that it, not the operator, asked.
    expect(message).toContain(`User "system:serviceaccount:${ns}:deployer" cannot`);
    expect(message).toContain(`ConfigMap/${other}/intruder`);
    expect(await configMap(other, 'intruder')).toBeUndefined();
    expect(await configMap(ns, 'b')).toBeUndefined();
  });

  it('a kind outside the role is refused too', async () => {
    await o.group('secret', { sourceRef: { name: 'repo' }, path: 'secret', serviceAccountName: 'deployer' });
    const g = await o.groupReason('secret', 'DryRunFailed');
    expect(o.ready(g)?.message).toContain(
      `User "system:serviceaccount:${ns}:deployer" cannot patch resource "secrets"`,
    );
    expect(await kube.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 's' })).toBeUndefined();
  });

  it('a missing ServiceAccount never falls back to the operator identity', async () => {
    await o.group('ghost', { sourceRef: { name: 'repo' }, path: 'allowed', serviceAccountName: 'nobody' });
    const g = await o.groupReason('ghost', 'DryRunFailed');
    expect(o.ready(g)?.message).toContain(`system:serviceaccount:${ns}:nobody`);
    expect(g.status?.inventory ?? []).toEqual([]);
  });
});
