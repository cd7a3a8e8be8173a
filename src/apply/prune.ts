import type { InventoryEntry } from '../api/app-group.ts';
import { fieldSet } from '../api/cache-shapes.ts';
import { REASON } from '../api/conditions.ts';
import { ANNOTATIONS, FIELD_MANAGERS, LABELS } from '../api/group.ts';
import type { ManagedFieldsEntry } from '../api/object.ts';
import { describeRef, inventoryId, type ObjectRef, versionOf } from '../api/object-key.ts';
import { entryOf, type ParsedEntry } from '../diff/inventory.ts';
import type { Kube } from '../kube/client.ts';
import { KubeApiError } from '../kube/kube-api-error.ts';
import { HOOK_ANNOTATIONS } from '../render/hooks.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import { mapLimit } from '../runtime/map-limit.ts';
import { type CachedObjects, cachedOfGroup, placesOf } from './sync-memo.ts';

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
    managedFields?: ManagedFieldsEntry[];
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
  facts: { claimedBy?: readonly string[]; forbidden?: string; orphan?: boolean } = {},
): PruneDecision {
  if (facts.forbidden !== undefined) return 'not-permitted';
  const labels = live.metadata?.labels ?? {};
  if (
    labels[LABELS.groupName] !== owner.groupName ||
    labels[LABELS.groupNamespace] !== owner.groupNamespace
  ) {
    return 'not-owned';
  }
  // Outside the inventory, the labels alone are not proof: the object must show they are Shoal's own.
  if (facts.orphan && !labelledByShoal(live)) return 'not-owned';
  const self = `${owner.groupNamespace}/${owner.groupName}`;
  if ((facts.claimedBy ?? []).some((k) => k !== self)) return 'claimed';
  if (live.metadata?.annotations?.[ANNOTATIONS.prune] === 'disabled') return 'prune-disabled';
  // Helm's own rule: an object marked keep outlives its release.
  if (live.metadata?.annotations?.[HOOK_ANNOTATIONS.resourcePolicy] === 'keep') return 'kept';
  return 'delete';
}

/**
 * Whether Shoal's own server-side apply set both owner labels, as its managedFields say: the labels'
 * values were last written by Shoal's field manager (another writer changing a value takes the field
 * over). A copy made by hand, or an object labelled with kubectl, has another manager there. Pure.
 */
export function labelledByShoal(live: LiveMeta): boolean {
  return (live.metadata?.managedFields ?? []).some((m) => {
    if (m.manager !== FIELD_MANAGERS.sync || m.operation !== 'Apply' || m.subresource) return false;
    const meta = fieldSet(m)?.['f:metadata'] as Record<string, unknown> | undefined;
    const labels = meta?.['f:labels'] as Record<string, unknown> | undefined;
    return (
      labels !== undefined && `f:${LABELS.groupName}` in labels && `f:${LABELS.groupNamespace}` in labels
    );
  });
}

/**
 * A prune candidate. `orphan`: not in the inventory (a sync created it, then could not record it),
 * so it is deleted only when `labelledByShoal` too.
 */
export interface PruneEntry extends ParsedEntry {
  orphan?: boolean;
}

/**
 * The orphans of a group, from the drift watches' caches: objects that carry its owner labels, that
 * Shoal's apply labelled so (`labelledByShoal`), and that neither the sync's objects nor the
 * inventory name (`known`, inventory ids). A sync that created an object and then failed to write
 * its status (an API error, a restart in between) leaves such an object; once Git drops it, nothing
 * else would ever prune it. Only the kinds and namespaces of `scope` are looked at, and only kinds
 * the caches hold: what they do not hold is not guessed at. Pure over the cache.
 */
export function orphansOf(
  cached: CachedObjects | undefined,
  owner: Owner,
  scope: readonly ObjectRef[],
  known: ReadonlySet<string>,
): PruneEntry[] {
  return placesOf(scope).flatMap((place) =>
    (cachedOfGroup(cached, place, owner) ?? []).flatMap((o): PruneEntry[] => {
      const name = o.metadata?.name;
      if (!name) return [];
      const ref: ObjectRef = { ...place, name };
      if (known.has(inventoryId(ref)) || !labelledByShoal(o as LiveMeta)) return [];
      return [{ entry: entryOf(ref, versionOf(place.apiVersion)), ref, orphan: true }];
    }),
  );
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
  entries: readonly PruneEntry[],
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
  const looked = await mapLimit(entries, 8, async ({ entry, ref, orphan }) => ({
    entry,
    ref,
    orphan,
    live: await read(ref),
  }));
  await mapLimit(looked, 8, async ({ entry, ref, orphan, live: first }) => {
    let live = first;
    for (let attempt = 1; ; attempt++) {
      if (!live) {
        if (!orphan) result.absent.push(ref);
        return;
      }
      const decision = pruneDecision(live, owner, {
        claimedBy: guards.claims?.(inventoryId(ref)) ?? [],
        ...(guards.forbidden?.(ref) !== undefined ? { forbidden: guards.forbidden?.(ref) } : {}),
        ...(orphan ? { orphan } : {}),
      });
      if (decision !== 'delete') {
        // An orphan that is not deleted was never this group's to report on: it stays as it is.
        if (!orphan) result.skipped.push({ ref, why: decision });
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
          if (!orphan) result.absent.push(ref);
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
