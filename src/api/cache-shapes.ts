import { hash } from 'node:crypto';
import type { KubernetesObject, ManagedFieldsEntry } from './object.ts';

/** Written by `kubectl apply` beside the object: a second copy of it that no reader of Shoal's needs. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Shoal's own objects (AppGroups, sources) and Events as their caches keep them: without
 * managedFields, which nothing reads from those caches. Pure.
 */
export function withoutManagedFields<T extends KubernetesObject>(o: T): T {
  if (!o.metadata?.managedFields) return o;
  const { managedFields: _mf, ...metadata } = o.metadata;
  return { ...o, metadata };
}

/**
 * A managed object as the drift caches keep it: each managedFields entry with only what attribution
 * reads (manager, operation, subresource, time) and its field set as one JSON text instead of a tree
 * of small objects (field-owners.ts parses it when a diff asks who owns a path), and without the
 * last-applied annotation (diffs never compare it). Everything else stays: health reads status, the
 * sync compares resourceVersions and labels, drift the rest. Pure.
 */
export function slimManagedObject<T extends KubernetesObject>(o: T): T {
  const m = o.metadata;
  if (!m) return o;
  const metadata = { ...m };
  if (m.annotations && LAST_APPLIED in m.annotations) {
    const { [LAST_APPLIED]: _la, ...annotations } = m.annotations;
    metadata.annotations = annotations;
  }
  if (m.managedFields) metadata.managedFields = m.managedFields.map(slimEntry);
  return { ...o, metadata };
}

function slimEntry(e: ManagedFieldsEntry): ManagedFieldsEntry {
  return {
    ...(e.manager !== undefined ? { manager: e.manager } : {}),
    ...(e.operation !== undefined ? { operation: e.operation } : {}),
    ...(e.subresource !== undefined ? { subresource: e.subresource } : {}),
    ...(e.time !== undefined ? { time: e.time } : {}),
    ...(e.fieldsV1 !== undefined
      ? { fieldsV1: typeof e.fieldsV1 === 'string' ? e.fieldsV1 : JSON.stringify(e.fieldsV1) }
      : {}),
  };
}

/** An entry's field set as a tree, whether it came from the API server or from a slimmed cache. Pure. */
export function fieldSet(e: ManagedFieldsEntry): Record<string, unknown> | undefined {
  if (typeof e.fieldsV1 !== 'string') return e.fieldsV1 as Record<string, unknown> | undefined;
  try {
    return JSON.parse(e.fieldsV1) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * An object's content as a short digest, as far as anyone but its controller writes it: all of it
 * but status, apiVersion and kind, and the metadata the API server keeps (resourceVersion,
 * generation, managedFields) or a cache drops (kubectl's last-applied copy). So it is the same for
 * the object an apply returned, the one a LIST returned and the one a slimmed watch cache holds, and
 * it stays the same when only a status write moved the resourceVersion. With `withoutReplicas`
 * (another manager owns `spec.replicas`, which the sync never sends), a scale is not counted
 * either. Pure.
 */
export function contentDigest(o: KubernetesObject, opts: { withoutReplicas?: boolean } = {}): string {
  const {
    resourceVersion: _rv,
    generation: _gen,
    managedFields: _mf,
    annotations,
    ...meta
  } = o.metadata ?? {};
  const {
    status: _status,
    metadata: _metadata,
    apiVersion: _av,
    kind: _kind,
    ...rest
  } = o as Record<string, unknown>;
  const kept: Record<string, unknown> = { ...rest };
  if (opts.withoutReplicas && kept.spec && typeof kept.spec === 'object') {
    const { replicas: _replicas, ...spec } = kept.spec as Record<string, unknown>;
    kept.spec = spec;
  }
  let ann = annotations;
  if (ann && LAST_APPLIED in ann) {
    const { [LAST_APPLIED]: _la, ...others } = ann;
    ann = others;
  }
  return hash('sha256', JSON.stringify([meta, ann ?? {}, kept]), 'base64');
}
