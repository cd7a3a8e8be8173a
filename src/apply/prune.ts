import type { InventoryEntry } from '../api/app-group.ts';
import { REASON } from '../api/conditions.ts';
import { ANNOTATIONS, LABELS } from '../api/group.ts';
import { describeRef, inventoryId, type ObjectRef } from '../api/object-key.ts';
import type { ParsedEntry } from '../diff/inventory.ts';
import type { Kube } from '../kube/client.ts';
import { KubeApiError } from '../kube/kube-api-error.ts';
import { HOOK_ANNOTATIONS } from '../render/hooks.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import { mapLimit } from '../runtime/map-limit.ts';

export interface Owner {
  groupName: string;
  groupNamespace: string;
}

interface LiveMeta {
  metadata?: {
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
}

export type PruneDecision = 'delete' | 'not-owned' | 'prune-disabled' | 'kept' | 'claimed' | 'not-permitted';

export interface PruneGuards {
  /** Other groups whose inventory lists an id (`namespace/name`; may include this group). */
  claims?: (id: string) => readonly string[];
  /** Why the group may not delete `ref` (the tenancy policy), or undefined when it may. */
  forbidden?: (ref: ObjectRef) => string | undefined;
}

/**
 * Whether a live object that left Git may be deleted: only when it still carries this group's owner
 * labels, no other group's inventory lists it, the tenancy policy allows the group to touch it, and
 * it has no `shoal.dev/prune: disabled` (nor Helm's `helm.sh/resource-policy: keep`). Pure.
 */
export function pruneDecision(
  live: LiveMeta,
  owner: Owner,
  facts: { claimedBy?: readonly string[]; forbidden?: string } = {},
): PruneDecision {
  if (facts.forbidden !== undefined) return 'not-permitted';
  const labels = live.metadata?.labels ?? {};
  if (
    labels[LABELS.groupName] !== owner.groupName ||
    labels[LABELS.groupNamespace] !== owner.groupNamespace
  ) {
    return 'not-owned';
  }
  const self = `${owner.groupNamespace}/${owner.groupName}`;
  if ((facts.claimedBy ?? []).some((k) => k !== self)) return 'claimed';
  if (live.metadata?.annotations?.[ANNOTATIONS.prune] === 'disabled') return 'prune-disabled';
  // Helm's own rule: an object marked keep outlives its release.
  if (live.metadata?.annotations?.[HOOK_ANNOTATIONS.resourcePolicy] === 'keep') return 'kept';
  return 'delete';
}

export interface PruneResult {
  deleted: ObjectRef[];
  /** Already gone. */
  absent: ObjectRef[];
  skipped: { ref: ObjectRef; why: Exclude<PruneDecision, 'delete'> }[];
  /** Deletes that failed: these stay in the inventory and are retried. */
  failed: { entry: InventoryEntry; ref: ObjectRef; message: string }[];
}

/** A delete whose precondition failed (the object changed after it was checked) is checked again. */
const DELETE_ATTEMPTS = 3;

/**
 * Deletes the objects of `entries` that are still this group's (see `pruneDecision`), with
 * background propagation. Every object is read first; if any read fails (other than 404), nothing
 * is deleted and the error is thrown: a prune is never decided from a partial view. Each delete
 * carries the uid and resourceVersion that were checked as preconditions, so an object that changed
 * owner (or was replaced) in between is not deleted but checked again. Failed deletes are returned,
 * not thrown, so the other deletes proceed.
 */
export async function prune(
  kube: Kube,
  entries: readonly ParsedEntry[],
  owner: Owner,
  guards: PruneGuards = {},
): Promise<PruneResult> {
  const result: PruneResult = { deleted: [], absent: [], skipped: [], failed: [] };
  const read = async (ref: ObjectRef) => {
    try {
      return await kube.get<LiveMeta>(ref);
    } catch (err) {
      const e = KubeApiError.from(err);
      throw new ReconcileError(
        REASON.PruneFailed,
        `could not read ${describeRef(ref)} (${e.message}); nothing was pruned`,
        { cause: e },
      );
    }
  };
  const looked = await mapLimit(entries, 8, async ({ entry, ref }) => ({
    entry,
    ref,
    live: await read(ref),
  }));
  await mapLimit(looked, 8, async ({ entry, ref, live: first }) => {
    let live = first;
    for (let attempt = 1; ; attempt++) {
      if (!live) {
        result.absent.push(ref);
        return;
      }
      const decision = pruneDecision(live, owner, {
        claimedBy: guards.claims?.(inventoryId(ref)) ?? [],
        ...(guards.forbidden?.(ref) !== undefined ? { forbidden: guards.forbidden?.(ref) } : {}),
      });
      if (decision !== 'delete') {
        result.skipped.push({ ref, why: decision });
        return;
      }
      try {
        await kube.delete(
          {
            apiVersion: ref.apiVersion,
            kind: ref.kind,
            metadata: { name: ref.name, namespace: ref.namespace },
          },
          { preconditions: { uid: live.metadata?.uid, resourceVersion: live.metadata?.resourceVersion } },
        );
        result.deleted.push(ref);
        return;
      } catch (err) {
        const e = KubeApiError.from(err);
        if (e.code === 404) {
          result.absent.push(ref);
          return;
        }
        if (e.code !== 409 || attempt >= DELETE_ATTEMPTS) {
          result.failed.push({ entry, ref, message: e.message });
          return;
        }
      }
      // The object changed since it was checked: look again before deciding.
      try {
        live = await kube.get<LiveMeta>(ref);
      } catch (err) {
        result.failed.push({ entry, ref, message: KubeApiError.from(err).message });
        return;
      }
    }
  });
  return result;
}
