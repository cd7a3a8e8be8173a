import { createHash } from 'node:crypto';
import { LABELS } from '../api/group.ts';
import { inventoryId, type ObjectRef, refOf, versionOf } from '../api/object-key.ts';
import type { Kube, KubernetesObject } from '../kube/client.ts';
import type { RenderedObject } from '../render/parse-manifests.ts';
import type { AppliedObject } from './apply-staged.ts';

/** What a group's last successful apply left behind: per object, the desired hash and the live resourceVersion. */
export type AppliedMemo = Map<string, { hash: string; resourceVersion: string }>;

/** A hash of what the sync sends for an object (and of how it treats its replicas). Pure. */
export function desiredHash(item: RenderedObject): string {
  return createHash('sha256')
    .update(JSON.stringify([item.object, item.replicas ?? null]))
    .digest('hex');
}

/**
 * The last successful apply of each AppGroup, in this process. A re-sync whose desired objects hash
 * the same and whose live objects still have the resourceVersions the apply left can skip the
 * dry-runs and applies: nothing in Git and nothing in the cluster changed. Lost on restart, which
 * only costs one full sync.
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
  const rv = new Map(applied.map((a) => [inventoryId(a.ref), a.live.metadata?.resourceVersion ?? '']));
  return new Map(
    items.map((i) => {
      const id = inventoryId(refOf(i.object));
      return [id, { hash: desiredHash(i), resourceVersion: rv.get(id) ?? '' }];
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

/**
 * The objects `cached` holds in one place that carry the owner labels of `owner`; undefined when
 * that kind is not cached. Read-only: they are the cache's own objects.
 */
export function cachedOfGroup(
  cached: CachedObjects | undefined,
  place: Place,
  owner: { groupName: string; groupNamespace: string },
): KubernetesObject[] | undefined {
  return cached?.list(place.apiVersion, place.kind, place.namespace)?.filter((o) => {
    const labels = (o.metadata as { labels?: Record<string, string> } | undefined)?.labels;
    return (
      (o.metadata?.namespace ?? '') === (place.namespace ?? '') &&
      labels?.[LABELS.groupName] === owner.groupName &&
      labels?.[LABELS.groupNamespace] === owner.groupNamespace
    );
  });
}

/**
 * Reads the group's live objects from `cached` when it holds their kind, else with one labelled
 * LIST per kind and namespace; if every object is
 * still at the resourceVersion of the last apply, returns them as unchanged (their status serves the
 * health check). Undefined when anything differs or a LIST fails: then the caller does a full sync.
 */
export async function unchangedSince(
  kube: Kube,
  items: readonly RenderedObject[],
  memo: AppliedMemo,
  owner: { groupName: string; groupNamespace: string },
  cached?: CachedObjects,
): Promise<AppliedObject[] | undefined> {
  const selector = `${LABELS.groupName}=${owner.groupName},${LABELS.groupNamespace}=${owner.groupNamespace}`;
  const groups = placesOf(
    items.map((i) => ({
      apiVersion: i.object.apiVersion,
      kind: i.object.kind,
      ...(i.object.metadata.namespace ? { namespace: i.object.metadata.namespace } : {}),
    })),
  );
  const live = new Map<string, KubernetesObject>();
  try {
    await Promise.all(
      groups.map(async (g) => {
        const fromCache = cachedOfGroup(cached, g, owner);
        const items =
          fromCache ??
          (
            await kube.list<KubernetesObject>(g.apiVersion, g.kind, {
              ...(g.namespace ? { namespace: g.namespace } : {}),
              labelSelector: selector,
            })
          ).items;
        for (const o of items) {
          live.set(`${g.apiVersion}|${g.kind}|${g.namespace ?? ''}|${o.metadata?.name ?? ''}`, o);
        }
      }),
    );
  } catch {
    return undefined;
  }
  const out: AppliedObject[] = [];
  for (const i of items) {
    const ref = refOf(i.object);
    const obj = live.get(`${ref.apiVersion}|${ref.kind}|${ref.namespace ?? ''}|${ref.name}`);
    const expected = memo.get(inventoryId(ref))?.resourceVersion;
    if (!obj || !expected || obj.metadata?.resourceVersion !== expected) return undefined;
    out.push({
      ref,
      version: versionOf(ref.apiVersion),
      action: 'unchanged',
      live: { apiVersion: ref.apiVersion, kind: ref.kind, ...obj },
    });
  }
  return out;
}
