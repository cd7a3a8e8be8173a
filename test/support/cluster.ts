import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { Kube, loadKubeConfig } from '../../src/kube/client.ts';
import { kubectl as runKubectl } from '../controlplane/control-plane.ts';

/** The run's control plane (from the global setup): an admin client, kubectl, and fresh namespaces. */
export function useCluster() {
  const cp = inject('controlPlane');
  const kube = new Kube(loadKubeConfig({ kubeconfig: cp.kubeconfig }));
  const kubectl = async (...args: string[]) => {
    const r = await runKubectl(cp, args);
    if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const kubectlRaw = (args: string[], input?: string, env?: Record<string, string>) =>
    runKubectl(cp, args, input, env);
  /** Creates a namespace with a random suffix; one per test keeps tests apart. */
  const newNamespace = async (prefix = 't') => {
    const name = `${prefix}-${randomBytes(3).toString('hex')}`;
    await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    return name;
  };
  /**
   * A ServiceAccount bound to a Role of its own name with `rules`; calling it again replaces the
   * rules (for tests that grant a permission midway).
   */
  const serviceAccountWithRole = async (namespace: string, name: string, rules: object[]) => {
    await kube.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } });
    await kube.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name, namespace },
      rules,
    });
    await kube.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    });
  };
  return { cp, kube, kubectl, kubectlRaw, newNamespace, serviceAccountWithRole };
}
