import { REASON } from '../api/conditions.ts';
import { ANNOTATIONS, LABELS } from '../api/group.ts';
import { describeRef, inventoryId, type ObjectRef, parseKey, refOf } from '../api/object-key.ts';
import type { Kube } from '../kube/client.ts';
import { KubeApiError } from '../kube/kube-api-error.ts';
import type { RenderedObject } from '../render/parse-manifests.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import { mapLimit } from '../runtime/map-limit.ts';
import type { Owner } from './prune.ts';
import type { CachedObjects } from './sync-memo.ts';

/** What Shoal reads of a live object to decide whose it is. */
export interface OwnerMeta {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
}

/**
 * Whose an existing object is, as seen by one group about to write it:
 * - `own`: it carries this group's owner labels, or this group's inventory lists it;
 * - `adopt`: nobody's, and this group may adopt it (spec.adopt, or shoal.dev/adopt: enabled in Git);
 * - `conflict`: another AppGroup owns it (its owner labels, or its inventory lists the object);
 * - `foreign`: it exists and Shoal did not create it (or the group its labels name is gone).
 */
export type Ownership =
  | { kind: 'own' }
  | { kind: 'adopt' }
  | { kind: 'conflict'; other: string; via: 'labels' | 'inventory' }
  | { kind: 'foreign'; labelledBy?: string };

export interface OwnershipInput {
  live: OwnerMeta;
  owner: Owner;
  /** This group's inventory lists the object (it created or adopted it before). */
  inOwnInventory: boolean;
  /** Other groups (`namespace/name`) whose inventory lists the object. */
  claimedBy: readonly string[];
  /** Whether the AppGroup the object's owner labels name still exists (when they name another one). */
  labelledOwnerExists: boolean;
  adoptAllowed: boolean;
}

/** The `namespace/name` of the group an object's owner labels name, if both labels are set. Pure. */
export function labelledOwner(live: OwnerMeta): string | undefined {
  const labels = live.metadata?.labels ?? {};
  const name = labels[LABELS.groupName];
  const namespace = labels[LABELS.groupNamespace];
  return name && namespace ? `${namespace}/${name}` : undefined;
}

/**
 * Decides whose an existing object is (see `Ownership`). Labels outrank inventories: the group an
 * object's labels name owns it, so two inventories that both list one object (left by an older
 * Shoal) resolve to one owner instead of a fight. Pure: does not read the cluster.
 */
export function ownershipOf(input: OwnershipInput): Ownership {
  const self = `${input.owner.groupNamespace}/${input.owner.groupName}`;
  const labelled = labelledOwner(input.live);
  if (labelled === self) return { kind: 'own' };
  if (labelled !== undefined && input.labelledOwnerExists)
    return { kind: 'conflict', other: labelled, via: 'labels' };
  const claimant = input.claimedBy.find((k) => k !== self);
  if (claimant !== undefined && !input.inOwnInventory)
    return { kind: 'conflict', other: claimant, via: 'inventory' };
  if (input.inOwnInventory) return { kind: 'own' };
  if (input.adoptAllowed) return { kind: 'adopt' };
  return labelled !== undefined ? { kind: 'foreign', labelledBy: labelled } : { kind: 'foreign' };
}

/** Whether a rendered object asks to be adopted (`shoal.dev/adopt: enabled`). Pure. */
export function asksForAdoption(item: RenderedObject): boolean {
  return item.object.metadata.annotations?.[ANNOTATIONS.adopt] === 'enabled';
}

/** A one-line reason why a group may not write an object, for status and events. Pure. */
export function refusal(ref: ObjectRef, o: Exclude<Ownership, { kind: 'own' | 'adopt' }>): string {
  const what = describeRef(ref);
  if (o.kind === 'conflict')
    return o.via === 'labels'
      ? `${what} belongs to AppGroup ${o.other} (its owner labels)`
      : `${what} is in the inventory of AppGroup ${o.other}`;
  const gone = o.labelledBy ? ` (its owner labels name AppGroup ${o.labelledBy}, which does not exist)` : '';
  return `${what} exists and was not created by Shoal${gone}`;
}

const ADOPT_HINT =
  `to take such objects over, set spec.adopt: true on the AppGroup or annotate them in Git with ` +
  `${ANNOTATIONS.adopt}: enabled`;

export interface OwnershipCheck {
  owner: Owner;
  /** Ids of this group's inventory. */
  ownInventory: ReadonlySet<string>;
  /** Other groups' claims on an inventory id (`namespace/name` keys; may include this group). */
  claims: (id: string) => readonly string[];
  /** Whether an AppGroup exists. */
  groupExists: (namespace: string, name: string) => Promise<boolean>;
  /** spec.adopt of the group. */
  adopt: boolean;
  /** The operator's watch caches of labelled objects, to spare a GET for objects already ours. */
  cached?: CachedObjects;
}

/**
 * Before the first write of a sync: decides whose each existing object is (live, from the API
 * server; the watch cache only vouches for objects it holds with this group's labels), and throws
 * OwnershipConflict listing every object the group may not write. Returns the objects it adopts.
 * Objects that do not exist yet need no check.
 */
export async function checkOwnership(
  kube: Kube,
  existing: readonly RenderedObject[],
  check: OwnershipCheck,
): Promise<Set<RenderedObject>> {
  const self = `${check.owner.groupNamespace}/${check.owner.groupName}`;
  const decided = await mapLimit(existing, 8, async (item) => {
    const ref = refOf(item.object);
    const id = inventoryId(ref);
    const cached = check.cached?.get(ref) as OwnerMeta | undefined;
    let live: OwnerMeta | undefined = cached && labelledOwner(cached) === self ? cached : undefined;
    if (!live) {
      try {
        live = await kube.get<OwnerMeta>(ref);
      } catch (err) {
        const e = KubeApiError.from(err);
        throw new ReconcileError(REASON.ApplyFailed, `could not read ${describeRef(ref)}: ${e.message}`, {
          cause: e,
        });
      }
    }
    // Gone since the dry-run: it will be created, as any new object.
    if (!live) return { item, ref, ownership: { kind: 'own' } as Ownership };
    const labelled = labelledOwner(live);
    const other = parseKey(labelled ?? '');
    const labelledOwnerExists =
      labelled !== undefined && labelled !== self && (await check.groupExists(other.namespace, other.name));
    const ownership = ownershipOf({
      live,
      owner: check.owner,
      inOwnInventory: check.ownInventory.has(id),
      claimedBy: check.claims(id),
      labelledOwnerExists,
      adoptAllowed: check.adopt || asksForAdoption(item),
    });
    return { item, ref, ownership };
  });
  const refused = decided.flatMap((d) =>
    d.ownership.kind === 'conflict' || d.ownership.kind === 'foreign' ? [refusal(d.ref, d.ownership)] : [],
  );
  if (refused.length > 0) {
    const foreign = decided.some((d) => d.ownership.kind === 'foreign');
    throw new ReconcileError(
      REASON.OwnershipConflict,
      `${refused.length} object(s) are not this group's to write, nothing was applied: ${refused.join('; ')}` +
        (foreign ? `; ${ADOPT_HINT}` : ''),
    );
  }
  return new Set(decided.filter((d) => d.ownership.kind === 'adopt').map((d) => d.item));
}
