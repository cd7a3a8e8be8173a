import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kube, loadKubeConfig } from '../../src/kube/client.ts';
import {
  type ControlPlaneState,
  ensureBinaries,
  ensureHelm,
  ensureKustomize,
  ensureTierB,
  installCrds,
  kubectl as runKubectl,
  startControlPlane,
  stopControlPlane,
} from '../controlplane/control-plane.ts';
import { startTierB } from '../controlplane/tier-b.ts';

/** What tests and benchmarks do with a control plane: an admin client, kubectl, fresh namespaces. */
export function clusterHelpers(cp: Pick<ControlPlaneState, 'binDir' | 'kubeconfig' | 'server' | 'dir'>) {
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

/**
 * A control plane of its own (built or reused from the cache), Shoal's CRDs installed, and with
 * `tierB` the controllers, scheduler, KWOK nodes and metrics-server: for benchmarks, which run
 * outside vitest's global setup. `stop` kills it and removes its directory.
 */
export async function startCluster(opts: { log: (line: string) => void; tierB?: boolean }) {
  const [binDir, kustomize, helm, tierB] = await Promise.all([
    ensureBinaries(opts.log),
    ensureKustomize(opts.log),
    ensureHelm(opts.log),
    opts.tierB ? ensureTierB(opts.log) : Promise.resolve(undefined),
  ]);
  const dir = await mkdtemp(join(tmpdir(), 'shoal-cluster-'));
  const state = await startControlPlane({ dir: join(dir, 'cp'), binDir, log: opts.log });
  await installCrds(state, resolve(import.meta.dirname, '..', '..', 'crds'));
  if (tierB) await startTierB(state, tierB, { log: opts.log });
  return {
    ...clusterHelpers({ binDir, kubeconfig: state.kubeconfig, server: state.server, dir: state.dir }),
    state,
    kustomize,
    helm,
    async stop() {
      await stopControlPlane(state);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
