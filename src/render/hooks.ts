import type { KubeObject } from '../api/object.ts';

/** The Helm hook phases Shoal runs around a sync; delete and rollback hooks have no counterpart. */
export type HookPhase = 'pre-install' | 'pre-upgrade' | 'post-install' | 'post-upgrade' | 'test';
export type HookDeletePolicy = 'before-hook-creation' | 'hook-succeeded' | 'hook-failed';

/** What a rendered object's helm.sh/hook annotations say. */
export interface HookInfo {
  /** Every phase it belongs to that Shoal runs (a hook may name several). */
  phases: HookPhase[];
  weight: number;
  deletePolicies: HookDeletePolicy[];
}

export const HOOK_ANNOTATIONS = {
  hook: 'helm.sh/hook',
  weight: 'helm.sh/hook-weight',
  deletePolicy: 'helm.sh/hook-delete-policy',
  resourcePolicy: 'helm.sh/resource-policy',
} as const;

const RUN: readonly HookPhase[] = ['pre-install', 'pre-upgrade', 'post-install', 'post-upgrade', 'test'];
const POLICIES: readonly HookDeletePolicy[] = ['before-hook-creation', 'hook-succeeded', 'hook-failed'];

const split = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/**
 * The hook an object is, from its annotations, or undefined when it is not one. An object that is
 * only a hook of phases Shoal does not run (pre-delete, rollback) comes back with no phases: it is
 * a hook, so it is not applied as part of the release either. `test-success` is read as `test`, as
 * Helm does. The default delete policy is before-hook-creation. Pure.
 */
export function hookOf(o: KubeObject): HookInfo | undefined {
  const a = o.metadata.annotations ?? {};
  const names = split(a[HOOK_ANNOTATIONS.hook]);
  if (names.length === 0) return undefined;
  const phases = [...new Set(names.map((n) => (n === 'test-success' ? 'test' : n)))].filter(
    (n): n is HookPhase => (RUN as readonly string[]).includes(n),
  );
  const weight = Number.parseInt(a[HOOK_ANNOTATIONS.weight] ?? '0', 10);
  const policies = split(a[HOOK_ANNOTATIONS.deletePolicy]).filter((p): p is HookDeletePolicy =>
    (POLICIES as readonly string[]).includes(p),
  );
  return {
    phases,
    weight: Number.isFinite(weight) ? weight : 0,
    deletePolicies: policies.length > 0 ? policies : ['before-hook-creation'],
  };
}

/** The hooks of `phase`, in batches of one weight, lowest weight first (kind and name order within). Pure. */
export function hookBatches<T extends { object: KubeObject; hook?: HookInfo }>(
  items: readonly T[],
  phase: HookPhase,
): T[][] {
  const mine = items.filter((i) => i.hook?.phases.includes(phase));
  const weights = [...new Set(mine.map((i) => i.hook?.weight ?? 0))].sort((a, b) => a - b);
  return weights.map((w) =>
    mine
      .filter((i) => (i.hook?.weight ?? 0) === w)
      .sort((a, b) =>
        `${a.object.kind}/${a.object.metadata.name}`.localeCompare(
          `${b.object.kind}/${b.object.metadata.name}`,
        ),
      ),
  );
}
