import type { InventoryEntry } from '../api/app-group.ts';
import { inventoryId, type ObjectRef } from '../api/object-key.ts';

/** An inventory entry that parsed, with the object it names. */
export interface ParsedEntry {
  entry: InventoryEntry;
  ref: ObjectRef;
}

/** What came out of a status.inventory read from the API: the good entries and why the others are not. */
export interface ParsedInventory {
  entries: ParsedEntry[];
  /** One line per entry that is not an inventory entry (bounded text, safe for events). */
  invalid: string[];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const KIND = /^[A-Za-z][A-Za-z0-9]*$/;
/** Path-segment names: what the API server accepts for any kind (RBAC names may hold ':' and more). */
const NAME = /^[^/%\s]{1,253}$/;

const show = (value: unknown) => {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

/**
 * Parses one entry of a status.inventory as it came from the API server, where anyone allowed to
 * write the status subresource may have put anything: an id `<namespace>_<name>_<group>_<kind>`
 * whose parts are a namespace (or empty), a name, an API group (or empty) and a kind, and a version
 * `v`. Returns the reference it names, or why it is not an entry. Pure.
 */
export function parseInventoryEntry(value: unknown): { ok: ParsedEntry } | { error: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { error: `${show(value)} is not an object` };
  const { id, v, adopted, stale } = value as Record<string, unknown>;
  if (typeof id !== 'string' || typeof v !== 'string')
    return { error: `${show(value)} has no string id and v` };
  const parts = id.split('_');
  if (parts.length < 4) return { error: `id "${show(id)}" is not <namespace>_<name>_<group>_<kind>` };
  const namespace = parts[0] as string;
  const kind = parts[parts.length - 1] as string;
  const group = parts[parts.length - 2] as string;
  const name = parts.slice(1, parts.length - 2).join('_');
  if (namespace !== '' && !DNS_LABEL.test(namespace))
    return { error: `id "${show(id)}" has a bad namespace` };
  if (!NAME.test(name) || name === '.' || name === '..') return { error: `id "${show(id)}" has a bad name` };
  if (group !== '' && !DNS_SUBDOMAIN.test(group)) return { error: `id "${show(id)}" has a bad API group` };
  if (!KIND.test(kind)) return { error: `id "${show(id)}" has a bad kind` };
  if (!DNS_LABEL.test(v)) return { error: `entry "${show(id)}" has a bad version "${show(v)}"` };
  const entry: InventoryEntry = {
    id,
    v,
    ...(adopted === true ? { adopted: true } : {}),
    ...(stale === true ? { stale: true } : {}),
  };
  const ref: ObjectRef = {
    apiVersion: group ? `${group}/${v}` : v,
    kind,
    name,
    ...(namespace ? { namespace } : {}),
  };
  return { ok: { entry, ref } };
}

/** Parses a whole status.inventory (anything: it came from the API). Pure. */
export function parseInventory(raw: unknown): ParsedInventory {
  const out: ParsedInventory = { entries: [], invalid: [] };
  if (raw === undefined || raw === null) return out;
  if (!Array.isArray(raw)) {
    out.invalid.push(`the inventory is not a list: ${show(raw)}`);
    return out;
  }
  for (const value of raw) {
    const parsed = parseInventoryEntry(value);
    if ('ok' in parsed) out.entries.push(parsed.ok);
    else out.invalid.push(parsed.error);
  }
  return out;
}

/** The references of the entries that parse; the others are skipped. Pure. */
export function inventoryRefs(raw: unknown): ObjectRef[] {
  return parseInventory(raw).entries.map((e) => e.ref);
}

/** Entries of `previous` whose id `current` no longer has. Pure. */
export function staleEntries<T extends { id: string }>(
  previous: readonly T[],
  current: readonly { id: string }[],
): T[] {
  const keep = new Set(current.map((e) => e.id));
  return previous.filter((e) => !keep.has(e.id));
}

/** Entries sorted by id, one per id (the last one given wins). Pure. */
export function sortedInventory(entries: Iterable<InventoryEntry>): InventoryEntry[] {
  const byId = new Map<string, InventoryEntry>();
  for (const e of entries) byId.set(e.id, e);
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The inventory entry of an object. Pure. */
export function entryOf(ref: ObjectRef, version: string, flags: { adopted?: boolean } = {}): InventoryEntry {
  return { id: inventoryId(ref), v: version, ...(flags.adopted ? { adopted: true } : {}) };
}

/** Caps on what one group may track: the inventory must fit in the AppGroup's status (etcd's limit). */
export interface InventoryLimits {
  maxObjects: number;
  /** The inventory's JSON encoding, in bytes. */
  maxBytes: number;
}

/**
 * 10,000 objects, and 1 MiB of inventory: a status write stays well below etcd's 1.5 MiB request
 * limit with the rest of the object (spec, history, conditions, managed fields).
 */
export const DEFAULT_INVENTORY_LIMITS: InventoryLimits = { maxObjects: 10_000, maxBytes: 1024 * 1024 };

/** Why an inventory of `entries` would not fit, or undefined. Pure. */
export function inventoryOverLimit(
  entries: readonly InventoryEntry[],
  limits: InventoryLimits,
): string | undefined {
  if (entries.length > limits.maxObjects)
    return `${entries.length} objects, over the limit of ${limits.maxObjects} per AppGroup`;
  const bytes = Buffer.byteLength(JSON.stringify(entries));
  if (bytes > limits.maxBytes)
    return `an inventory of ${bytes} bytes, over the limit of ${limits.maxBytes} bytes (split the group)`;
  return undefined;
}

export interface NextInventoryInput {
  /** The entries of the last inventory that parsed. */
  old: readonly InventoryEntry[];
  /** What this run confirmed written (or found unchanged). */
  applied: readonly InventoryEntry[];
  succeeded: boolean;
  /** spec.prune: without it, objects that left Git stay listed, marked stale. */
  pruneEnabled: boolean;
  /** Deletes that failed in this run's prune (kept for a retry); undefined when nothing was pruned. */
  pruneFailed?: readonly InventoryEntry[];
}

/**
 * The inventory after a run. After a prune: what was applied plus what failed to delete. After a
 * success without prune: what Git declares plus what left Git, marked stale (kept in the cluster,
 * named, and pruned once prune is turned on). After a success with prune and nothing to prune: what
 * Git declares. After a failure: the old inventory plus whatever was confirmed written, so a partial
 * apply is never forgotten. An entry keeps its `adopted` mark. Pure.
 */
export function nextInventory(input: NextInventoryInput): InventoryEntry[] {
  const previous = new Map(input.old.map((e) => [e.id, e]));
  const carried = input.applied.map((e): InventoryEntry => {
    const adopted = e.adopted || previous.get(e.id)?.adopted;
    return { id: e.id, v: e.v, ...(adopted ? { adopted: true } : {}) };
  });
  if (input.pruneFailed) return sortedInventory([...carried, ...input.pruneFailed]);
  if (!input.succeeded) return sortedInventory([...input.old, ...carried]);
  if (input.pruneEnabled) return sortedInventory(carried);
  const left = staleEntries(input.old, carried).map((e): InventoryEntry => ({ ...e, stale: true }));
  return sortedInventory([...carried, ...left]);
}
