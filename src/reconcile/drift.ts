import { FIELD_MANAGERS, LABELS } from '../api/group.ts';

interface ManagedEntry {
  manager?: string;
  operation?: string;
  time?: string;
  subresource?: string;
}

export interface WatchedObject {
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    managedFields?: ManagedEntry[];
  };
  /** Whatever else the object holds (spec, data...). */
  [field: string]: unknown;
}

/**
 * What of an object counts for drift: with a generation (most kinds with a spec), the generation and
 * the labels and annotations, so status updates never count; without one (ConfigMaps, Secrets), the
 * whole object but its resourceVersion and managedFields. Pure.
 */
export function driftFingerprint(o: WatchedObject): string {
  const m = o.metadata ?? {};
  if (m.generation !== undefined) return JSON.stringify([m.generation, m.labels ?? {}, m.annotations ?? {}]);
  const { resourceVersion: _rv, managedFields: _mf, ...meta } = m as Record<string, unknown>;
  const { status: _status, metadata: _metadata, ...rest } = o as Record<string, unknown>;
  return JSON.stringify([meta, rest]);
}

/**
 * The field manager that changed an object last, from its managedFields (status writes aside), or
 * undefined when Shoal's own managers did: their changes are not drift. Pure.
 */
export function driftAuthor(o: WatchedObject): string | undefined {
  const entries = (o.metadata?.managedFields ?? []).filter((e) => e.subresource !== 'status' && e.time);
  const last = entries.sort((a, b) => Date.parse(b.time ?? '') - Date.parse(a.time ?? ''))[0];
  if (!last?.manager) return undefined;
  const ours: string[] = [FIELD_MANAGERS.sync, FIELD_MANAGERS.autoscaler];
  return ours.includes(last.manager) ? undefined : last.manager;
}

/** The `namespace/name` key of the AppGroup that owns an object, from its owner labels. Pure. */
export function ownerKey(o: WatchedObject): string | undefined {
  const labels = o.metadata?.labels ?? {};
  const name = labels[LABELS.groupName];
  const namespace = labels[LABELS.groupNamespace];
  return name && namespace ? `${namespace}/${name}` : undefined;
}
