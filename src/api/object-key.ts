import type { KubernetesObject } from './object.ts';

/** Identity of an object: API group, kind, namespace and name; and Shoal's inventory id for it. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** Anything with identity fields (an object as the API server or Git gives it). */
export type ObjectLike = KubernetesObject;

/** The API group of an apiVersion ("" for the core group's "v1"). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

export function versionOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
}

/** The one place that reads identity fields off an object; throws when they are missing. */
export function refOf(obj: ObjectLike): ObjectRef {
  const name = obj.metadata?.name;
  if (!obj.apiVersion || !obj.kind || !name)
    throw new Error('object without apiVersion, kind or metadata.name');
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    name,
    ...(obj.metadata?.namespace ? { namespace: obj.metadata.namespace } : {}),
  };
}

/** `namespace/name` of a namespaced custom resource: the work queue key. */
export function keyOf(obj: ObjectLike): string {
  const ref = refOf(obj);
  return `${ref.namespace ?? ''}/${ref.name}`;
}

/** `<namespace>_<name>_<group>_<kind>`, as Flux writes inventories (group empty for the core group). */
export function inventoryId(ref: ObjectRef): string {
  return `${ref.namespace ?? ''}_${ref.name}_${groupOf(ref.apiVersion)}_${ref.kind}`;
}

/** A readable name for messages: `Deployment/shop/web` or `Namespace/shop`. */
export function describeRef(ref: ObjectRef): string {
  return ref.namespace ? `${ref.kind}/${ref.namespace}/${ref.name}` : `${ref.kind}/${ref.name}`;
}

/** Parses an inventory entry back into a reference. */
export function refFromInventory(entry: { id: string; v: string }): ObjectRef {
  const parts = entry.id.split('_');
  if (parts.length < 4) throw new Error(`malformed inventory id ${entry.id}`);
  const kind = parts[parts.length - 1] as string;
  const group = parts[parts.length - 2] as string;
  const namespace = parts[0] as string;
  const name = parts.slice(1, parts.length - 2).join('_');
  return {
    apiVersion: group ? `${group}/${entry.v}` : entry.v,
    kind,
    name,
    ...(namespace ? { namespace } : {}),
  };
}

/** Splits a work queue key `namespace/name` (a cluster-scoped key has an empty namespace). */
export function parseKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0
    ? { namespace: '', name: key }
    : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
