import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import type { AppGroup } from '../../src/api/app-group.ts';
import { FINALIZER } from '../../src/api/group.ts';
import { dryRunFinalizers } from '../controlplane/control-plane.ts';
import { useCluster } from '../support/cluster.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { shoalObjects } from '../support/objects.ts';
import { startProxiedShoal } from '../support/shoal.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, kubectlRaw, newNamespace } = useCluster();
const POLICY_FILE = resolve(import.meta.dirname, '..', '..', 'manifests', 'finalizer-policy.yaml');
const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {v: "1"}\n`;

/**
 * The policy exactly as shipped; its binding as shipped but narrowed to this file's namespace, since
 * the cluster is shared with the other test files, whose groups get the finalizer from Shoal's own
 * patch (the path on clusters before 1.36).
 */
describe('manifests/finalizer-policy.yaml', () => {
  let ns: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startProxiedShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  let policyName: string;
  let bindingName: string;
  const kubectlOk = async (args: string[], input?: string) => {
    const r = await kubectlRaw(args, input);
    if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  beforeAll(async () => {
    ns = await newNamespace('finpolicy');
    o = shoalObjects(kube, ns);
    const [policy, binding] = parseAllDocuments(await readFile(POLICY_FILE, 'utf8')).map(
      (d) => d.toJS() as { kind: string; metadata: { name: string }; spec: Record<string, unknown> },
    );
    if (policy?.kind !== 'MutatingAdmissionPolicy' || binding?.kind !== 'MutatingAdmissionPolicyBinding')
      throw new Error(`${POLICY_FILE} should hold a MutatingAdmissionPolicy and its binding`);
    expect(binding.spec.policyName).toBe(policy.metadata.name);
    // Copies of their own names: the install test applies (and removes) the shipped objects.
    policyName = `${policy.metadata.name}-${ns}`;
    bindingName = `${binding.metadata.name}-${ns}`;
    const copy = { ...policy, metadata: { name: policyName } };
    const narrowed = {
      ...binding,
      metadata: { name: bindingName },
      spec: {
        ...binding.spec,
        policyName,
        matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } },
      },
    };
    await kubectlOk(['apply', '--server-side', '-f', '-'], `${stringify(copy)}---\n${stringify(narrowed)}`);
    await waitFor('the policy enforced', async () => (await dryRunFinalizers(cp, ns)).includes(FINALIZER), {
      timeoutMs: 30_000,
    });
    repo = await gitRepo({ 'apps/a.yaml': cm('a'), 'apps/b.yaml': cm('b') });
    shoal = await startProxiedShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    await o.source('repo', { url: repo.url, interval: '1m' });
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.remove();
    if (bindingName)
      await kubectlRaw(['delete', 'mutatingadmissionpolicybinding', bindingName, '--wait=false']);
    if (policyName) await kubectlRaw(['delete', 'mutatingadmissionpolicy', policyName, '--wait=false']);
  });

  it('gives an AppGroup the finalizer as it is created, after any it already has, and only where bound', async () => {
    expect(await dryRunFinalizers(cp, ns)).toEqual([FINALIZER]);
    expect(await dryRunFinalizers(cp, ns, ['example.com/keep'])).toEqual(['example.com/keep', FINALIZER]);
    expect(await dryRunFinalizers(cp, ns, [FINALIZER])).toEqual([FINALIZER]);
    // Outside the narrowed binding, groups are created as sent (once the install test, running
    // beside this file, has removed the shipped cluster-wide binding it applied).
    await waitFor(
      'default created as sent',
      async () => (await dryRunFinalizers(cp, 'default')).length === 0,
    );
    expect(await dryRunFinalizers(cp, 'default')).toEqual([]);
  });

  it('so Shoal syncs a new group with no write to the group but its status, and the finalizer has no owner', async () => {
    const created = await o.group('app', {
      sourceRef: { name: 'repo' },
      path: 'apps',
      prune: true,
      interval: '1h',
    });
    expect((created as AppGroup).metadata.finalizers).toEqual([FINALIZER]);
    const synced = await o.groupAt('app', await repo.head());
    const groupPath = `/apis/shoal.dev/v1alpha1/namespaces/${ns}/appgroups/app`;
    const writes = shoal.proxy.log.filter((r) => r.write && r.path.startsWith(groupPath));
    expect(writes.map((r) => `${r.method} ${r.path.slice(groupPath.length) || '/'}`)).toEqual(
      writes.map(() => 'PATCH /status'),
    );
    expect(writes.length).toBeGreaterThan(0);
    // Owned by no field manager: an apply of the group that leaves finalizers out cannot remove it.
    const managedFields = (synced.metadata as { managedFields?: unknown[] }).managedFields;
    expect(managedFields?.length).toBeGreaterThan(0);
    expect(JSON.stringify(managedFields)).not.toContain(FINALIZER);
    await o.group('app', { sourceRef: { name: 'repo' }, path: 'apps', prune: true, interval: '2h' });
    expect((await o.getGroup('app'))?.metadata.finalizers).toEqual([FINALIZER]);
  });

  it("and deleting the group still runs Shoal's deletion: what it applied is pruned, then the group is gone", async () => {
    const exists = async (name: string) =>
      (await kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name })) !== undefined;
    expect(await exists('a')).toBe(true);
    await kube.delete({
      apiVersion: 'shoal.dev/v1alpha1',
      kind: 'AppGroup',
      metadata: { name: 'app', namespace: ns },
    });
    await waitFor('AppGroup gone', async () => (await o.getGroup('app')) === undefined);
    expect(await exists('a')).toBe(false);
    expect(await exists('b')).toBe(false);
  });
});
