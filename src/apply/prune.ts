import type { InventoryEntry } from '../api/app-group.ts';
import { REASON } from '../api/conditions.ts';
import { ANNOTATIONS, LABELS } from '../api/group.ts';
import { describeRef, type ObjectRef, refFromInventory } from '../api/object-key.ts';
import type { Kube } from '../kube/client.ts';
import { KubeApiError } from '../kube/kube-api-error.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import { mapLimit } from '../runtime/map-limit.ts';

export interface Owner {
  groupName: string;
  groupNamespace: string;
}

interface LiveMeta {
  metadata?: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
}

export type PruneDecision = 'delete' | 'not-owned' | 'prune-disabled';

/**
 * Whether a live object that left Git may be deleted: only when it still carries this group's owner
 * labels and no `shoal.dev/prune: disabled`. Pure.
 */
export function pruneDecision(live: LiveMeta, owner: Owner): PruneDecision {
  const labels = live.metadata?.labels ?? {};
  if (
    labels[LABELS.groupName] !== owner.groupName ||
    labels[LABELS.groupNamespace] !== owner.groupNamespace
  ) {
    return 'not-owned';
  }
  if (live.metadata?.annotations?.[ANNOTATIONS.prune] === 'disabled') return 'prune-disabled';
  return 'delete';
}

/** Entries of `previous` that `current` no longer has. Pure. */
export function staleEntries(
  previous: readonly InventoryEntry[],
  current: readonly InventoryEntry[],
): InventoryEntry[] {
  const keep = new Set(current.map((e) => e.id));
  return previous.filter((e) => !keep.has(e.id));
}

export interface PruneResult {
  deleted: ObjectRef[];
  /** Already gone. */
  absent: ObjectRef[];
  skipped: { ref: ObjectRef; why: Exclude<PruneDecision, 'delete'> }[];
  /** Deletes that failed: these stay in the inventory and are retried. */
  failed: { entry: InventoryEntry; ref: ObjectRef; message: string }[];
}

/**
 * Deletes the objects of `entries` that still carry the owner's labels (background propagation).
 * Every object is read first; if any read fails (other than 404), nothing is deleted and the error
 * is thrown: a prune is never decided from a partial view. Failed deletes are returned, not thrown,
 * so the other deletes proceed.
 */
export async function prune(
  kube: Kube,
  entries: readonly InventoryEntry[],
  owner: Owner,
): Promise<PruneResult> {
  const result: PruneResult = { deleted: [], absent: [], skipped: [], failed: [] };
  const looked = await mapLimit(entries, 8, async (entry) => {
    const ref = refFromInventory(entry);
    try {
      return { entry, ref, live: await kube.get<LiveMeta>(ref) };
    } catch (err) {
      const e = KubeApiError.from(err);
      throw new ReconcileError(
        REASON.PruneFailed,
        `could not read ${describeRef(ref)} (${e.message}); nothing was pruned`,
        {
          cause: e,
        },
      );
    }
  });
  await mapLimit(looked, 8, async ({ entry, ref, live }) => {
    if (!live) {
      result.absent.push(ref);
      return;
    }
    const decision = pruneDecision(live, owner);
    if (decision !== 'delete') {
      result.skipped.push({ ref, why: decision });
      return;
    }
    try {
      await kube.delete({
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        metadata: { name: ref.name, namespace: ref.namespace },
      });
      result.deleted.push(ref);
    } catch (err) {
      const e = KubeApiError.from(err);
      if (e.code === 404) result.absent.push(ref);
      else result.failed.push({ entry, ref, message: e.message });
    }
  });
  return result;
}
