import { inject } from 'vitest';
import type { Rule } from './fault-proxy.ts';
import { type OperatorOptions, startOperator, startProxiedOperator } from './operator.ts';

export { fastLeaderElection } from './operator.ts';

type TestOptions = Omit<OperatorOptions, 'kustomize' | 'helm' | 'namespace'> & { namespace: string };

/** Shoal's operator, in this process, against the run's control plane and one namespace. */
export function startShoal(opts: TestOptions) {
  return startOperator({ ...opts, kustomize: inject('kustomize'), helm: inject('helm') });
}

/**
 * The operator reaching the API server only through a fault proxy (its log holds every request it
 * made, to count writes and deletes).
 */
export function startProxiedShoal(opts: TestOptions & { rules?: Rule[] }) {
  return startProxiedOperator({ ...opts, kustomize: inject('kustomize'), helm: inject('helm') });
}
