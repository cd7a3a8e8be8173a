import { createHash } from 'node:crypto';
import { contentDigest } from '../api/cache-shapes.ts';
import { LABELS } from '../api/group.ts';
import { inventoryId, type ObjectRef, refOf, versionOf } from '../api/object-key.ts';
import type { Kube, KubernetesObject } from '../kube/client.ts';
import type { RenderedObject } from '../render/parse-manifests.ts';
import type { AppliedObject } from './apply-staged.ts';

/**
 * What a group's last successful apply left behind: per object, the desired hash, the live
 * resourceVersion and the live content (liveContent: all but status), so that a write of status
 * alone (an HPA's metrics, a rollout's progress) or a scale by the autoscaler that owns the replicas
 * does not count as a change.
 */
export type AppliedMemo = Map<string, { hash: string; resourceVersion: string; content: string }>;

/** The content digest of an object as the sync treats it: its replicas left out when another manager owns them. Pure. */
const liveContent = (item: RenderedObject, live: KubernetesObject): string =>
  contentDigest(live, { withoutReplicas: item.replicas !== undefined });

/** The memo entry of one desired object and what is live of it (nothing: it was not found). Pure. */
const entryOf = (item: RenderedObject, live: KubernetesObject | undefined) => ({
  hash: desiredHash(item),
  resourceVersion: live?.metadata?.resourceVersion ?? '',
  content: live ? liveContent(item, live) : '',
});

/** A hash of what the sync sends for an object (and of how it treats its replicas). Pure. */
export function desiredHash(item: RenderedObject): string {
  return createHash('sha256')
    .update(JSON.stringify([item.object, item.replicas ?? null]))
    .digest('hex');
}

/**
 * The last successful apply of each AppGroup, in this process. A re-sync whose desired objects hash
 * the same and whose live objects still have the resourceVersions or the content the apply left can
 * skip the dry-runs and applies: nothing in Git and nothing the apply sets changed. Lost on restart; a new
 * process rebuilds it from status.appliedDigest where that still matches (unchangedSinceDigest).
 */
export class SyncMemo {
  readonly #groups = new Map<string, AppliedMemo>();

  get(groupKey: string): AppliedMemo | undefined {
    return this.#groups.get(groupKey);
  }

  set(groupKey: string, memo: AppliedMemo): void {
    this.#groups.set(groupKey, memo);
  }

  forget(groupKey: string): void {
    this.#groups.delete(groupKey);
  }

  /** True when `items` are exactly the memo's objects with the same desired hashes. Pure. */
  static matches(memo: AppliedMemo, items: readonly RenderedObject[]): boolean {
    if (memo.size !== items.length) return false;
    return items.every((i) => memo.get(inventoryId(refOf(i.object)))?.hash === desiredHash(i));
  }
}

/** The memo a successful apply of `items` leaves. Pure. */
export function memoOf(items: readonly RenderedObject[], applied: readonly AppliedObject[]): AppliedMemo {
  const live = new Map(applied.map((a) => [inventoryId(a.ref), a.live]));
  return new Map(
    items.map((i) => {
      const id = inventoryId(refOf(i.object));
      return [id, entryOf(i, live.get(id))];
    }),
  );
}

/**
 * Shoal's objects of one kind from a watch cache (the drift watches hold exactly the objects with
 * an owner label); undefined when that kind is not cached.
 */
export interface CachedObjects {
  /** The cached objects of a kind in one namespace (all, for a cluster-scoped kind). */
  list(apiVersion: string, kind: string, namespace?: string): readonly KubernetesObject[] | undefined;
  /** One object by name; undefined when it is not cached or its kind is not. */
  get(ref: ObjectRef): KubernetesObject | undefined;
  /** Whether the caches hold this kind (then an object `get` does not find does not exist). */
  watched(apiVersion: string, kind: string): boolean;
  /**
   * Resolves when a cache of this kind being filled now is filled, or its list failed, or the wait
   * reached its bound (at once when none is being filled).
   */
  started?(apiVersion: string, kind: string): Promise<void>;
}

/** A kind in one namespace (none for a cluster-scoped kind). */
export interface Place {
  apiVersion: string;
  kind: string;
  namespace?: string;
}

/** The distinct places of some objects, first seen first. Pure. */
export function placesOf(refs: Iterable<Place>): Place[] {
  const places = new Map<string, Place>();
  for (const { apiVersion, kind, namespace } of refs)
    places.set(`${apiVersion}|${kind}|${namespace ?? ''}`, {
      apiVersion,
      kind,
      ...(namespace ? { namespace } : {}),
    });
  return [...places.values()];
}

/** Whether `o` carries the owner labels of `owner`. Pure. */
function labelledAs(o: KubernetesObject, owner: { groupName: string; groupNamespace: string }): boolean {
  const labels = (o.metadata as { labels?: Record<string, string> } | undefined)?.labels;
  return (
    labels?.[LABELS.groupName] === owner.groupName && labels?.[LABELS.groupNamespace] === owner.groupNamespace
  );
}

/**
 * The objects `cached` holds in one place that carry the owner labels of `owner`; undefined when
 * that kind is not cached. Read-only: they are the cache's own objects.
 */
export function cachedOfGroup(
  cached: CachedObjects | undefined,
  place: Place,
  owner: { groupName: string; groupNamespace: string },
): KubernetesObject[] | undefined {
  return cached
    ?.list(place.apiVersion, place.kind, place.namespace)
    ?.filter((o) => (o.metadata?.namespace ?? '') === (place.namespace ?? '') && labelledAs(o, owner));
}

const placeKey = (ref: ObjectRef) => `${ref.apiVersion}|${ref.kind}|${ref.namespace ?? ''}|${ref.name}`;

/**
 * The group's live objects among `items`, keyed by placeKey: from `cached`, one lookup per object,
 * where it watches their kind, else with one labelled LIST per kind and namespace. Undefined when a
 * LIST fails.
 */
async function liveOf(
  kube: Kube,
  items: readonly RenderedObject[],
  owner: { groupName: string; groupNamespace: string },
  cached?: CachedObjects,
): Promise<Map<string, KubernetesObject> | undefined> {
  const live = new Map<string, KubernetesObject>();
  const listed: Place[] = [];
  // A cache of their kind being filled (after a restart, the first reconciles run while the drift
  // watches list): read it once filled rather than list the group's objects beside it.
  const refs = items.map((i) => refOf(i.object));
  const kinds = new Map(refs.map((r) => [`${r.apiVersion}|${r.kind}`, r]));
  await Promise.all(
    [...kinds.values()]
      .filter((k) => !cached?.watched(k.apiVersion, k.kind))
      .map((k) => cached?.started?.(k.apiVersion, k.kind)),
  );
  for (const ref of refs) {
    if (!cached?.watched(ref.apiVersion, ref.kind)) {
      listed.push(ref);
      continue;
    }
    const o = cached.get(ref);
    if (o && labelledAs(o, owner)) live.set(placeKey(ref), o);
  }
  const selector = `${LABELS.groupName}=${owner.groupName},${LABELS.groupNamespace}=${owner.groupNamespace}`;
  try {
    await Promise.all(
      placesOf(listed).map(async (g) => {
        const { items } = await kube.list<KubernetesObject>(g.apiVersion, g.kind, {
          ...(g.namespace ? { namespace: g.namespace } : {}),
          labelSelector: selector,
        });
        for (const o of items) live.set(placeKey({ ...g, name: o.metadata?.name ?? '' }), o);
      }),
    );
  } catch {
    return undefined;
  }
  return live;
}

/**
 * `items` as unchanged, when each is live at the resourceVersion `memo` gives its id or with the
 * content it gives (only status, or replicas another manager owns, moved since). Pure.
 */
function unchangedAt(
  items: readonly RenderedObject[],
  live: ReadonlyMap<string, KubernetesObject>,
  memo: AppliedMemo,
): AppliedObject[] | undefined {
  const out: AppliedObject[] = [];
  for (const i of items) {
    const ref = refOf(i.object);
    const obj = live.get(placeKey(ref));
    const m = memo.get(inventoryId(ref));
    if (!obj || !m?.resourceVersion) return undefined;
    if (obj.metadata?.resourceVersion !== m.resourceVersion && liveContent(i, obj) !== m.content)
      return undefined;
    out.push({
      ref,
      version: versionOf(ref.apiVersion),
      action: 'unchanged',
      live: { apiVersion: ref.apiVersion, kind: ref.kind, ...obj },
    });
  }
  return out;
}

/**
 * Reads the group's live objects (liveOf); if every object is still at the resourceVersion of the
 * last apply, or has the content it left, returns them as unchanged (their status serves the health
 * check) and notes their resourceVersions in `memo` (the next check then compares no content).
 * Undefined when anything differs or a LIST fails: then the caller does a full sync.
 */
export async function unchangedSince(
  kube: Kube,
  items: readonly RenderedObject[],
  memo: AppliedMemo,
  owner: { groupName: string; groupNamespace: string },
  cached?: CachedObjects,
): Promise<AppliedObject[] | undefined> {
  const live = await liveOf(kube, items, owner, cached);
  const applied = live && unchangedAt(items, live, memo);
  for (const a of applied ?? []) {
    const id = inventoryId(a.ref);
    const m = memo.get(id);
    const rv = a.live.metadata?.resourceVersion;
    if (m && rv && rv !== m.resourceVersion) memo.set(id, { ...m, resourceVersion: rv });
  }
  return applied;
}

/**
 * One string for a memo and the service account its apply ran as: what status.appliedDigest keeps,
 * so that a process without the memo (a restart, a group's next shard owner) can tell that nothing
 * changed since a successful apply. It holds each object's content digest, not its
 * resourceVersion, which status writes move. Pure.
 */
export function memoDigest(memo: AppliedMemo, serviceAccount: string): string {
  const h = createHash('sha256').update(`${serviceAccount}\n`);
  for (const [id, m] of [...memo.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    h.update(`${id} ${m.hash} ${m.content}\n`);
  return `sha256:${h.digest('hex')}`;
}

/**
 * unchangedSince for a process without the memo: the memo that the live objects and `items` make
 * (desired hashes, live content) must have `digest`, the memoDigest a successful apply left in
 * status. Then Git renders what that apply sent and nothing the apply sets changed since it, so an
 * apply would change nothing. Returns the objects as unchanged and that memo, or undefined.
 */
export async function unchangedSinceDigest(
  kube: Kube,
  items: readonly RenderedObject[],
  digest: string,
  serviceAccount: string,
  owner: { groupName: string; groupNamespace: string },
  cached?: CachedObjects,
): Promise<{ applied: AppliedObject[]; memo: AppliedMemo } | undefined> {
  const live = await liveOf(kube, items, owner, cached);
  if (!live) return undefined;
  const memo: AppliedMemo = new Map(
    items.map((i) => {
      const ref = refOf(i.object);
      return [inventoryId(ref), entryOf(i, live.get(placeKey(ref)))];
    }),
  );
  if (memo.size !== items.length || memoDigest(memo, serviceAccount) !== digest) return undefined;
  const applied = unchangedAt(items, live, memo);
  return applied && { applied, memo };
}
