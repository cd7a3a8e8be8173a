import type { KubeObject } from '../render/parse-manifests.ts';

/**
 * Kinds applied in the first stage, before anything that may need them, as fluxcd/pkg ssa/sort.go
 * orders them: definitions, namespaces and cluster-wide policy.
 */
const FIRST_STAGE = ['CustomResourceDefinition', 'Namespace', 'ClusterRole', 'ClusterRoleBinding'] as const;

/** Order of the remaining kinds; unknown kinds (custom resources) come last. */
const KIND_ORDER = [
  'ResourceQuota',
  'LimitRange',
  'PriorityClass',
  'StorageClass',
  'PersistentVolume',
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'Secret',
  'ConfigMap',
  'PersistentVolumeClaim',
  'Service',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'Job',
  'CronJob',
  'HorizontalPodAutoscaler',
  'PodDisruptionBudget',
  'NetworkPolicy',
  'Ingress',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
];

export function isFirstStage(obj: KubeObject): boolean {
  return (FIRST_STAGE as readonly string[]).includes(obj.kind);
}

export function rank(kind: string): number {
  const first = (FIRST_STAGE as readonly string[]).indexOf(kind);
  if (first >= 0) return first;
  const i = KIND_ORDER.indexOf(kind);
  return FIRST_STAGE.length + (i >= 0 ? i : KIND_ORDER.length);
}

/** A stable apply order: by kind rank, then namespace, then name. Pure. */
export function sortForApply<T extends { object: KubeObject }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => {
    const r = rank(a.object.kind) - rank(b.object.kind);
    if (r !== 0) return r;
    const ns = (a.object.metadata.namespace ?? '').localeCompare(b.object.metadata.namespace ?? '');
    return ns !== 0 ? ns : a.object.metadata.name.localeCompare(b.object.metadata.name);
  });
}

/** Splits items (already sorted) into runs of the same kind rank: one run may be applied at once. Pure. */
export function byRank<T extends { object: KubeObject }>(sorted: readonly T[]): T[][] {
  const runs: T[][] = [];
  for (const item of sorted) {
    const last = runs.at(-1);
    if (last && rank((last[0] as T).object.kind) === rank(item.object.kind)) last.push(item);
    else runs.push([item]);
  }
  return runs;
}
