import fjp from 'fast-json-patch';
import { fieldOwners, type ManagedFieldsEntry } from './field-owners.ts';
import { normalize } from './normalize.ts';

export type DiffAction = 'created' | 'configured' | 'unchanged' | 'deleted';

export interface PatchOp {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test' | '_get';
  path: string;
  value?: unknown;
  from?: string;
}

export interface ObjectDiff {
  action: DiffAction;
  /** RFC 6902 operations that turn the live object into the desired one (values of Secrets masked). */
  patch: PatchOp[];
  /** For each changed path, the field managers that own it in the live object. */
  owners: Record<string, string[]>;
}

export const MASK = '*** (masked)';

const isSecret = (o: Record<string, unknown> | undefined) => o?.kind === 'Secret';
const secretPath = (path: string) => /^\/(data|stringData)(\/|$)/.test(path);

const maskMap = (v: unknown) =>
  v !== null && typeof v === 'object'
    ? Object.fromEntries(Object.keys(v as object).map((k) => [k, MASK]))
    : v;

function maskSecretValues(op: PatchOp): PatchOp {
  if (op.path === '' && op.value !== null && typeof op.value === 'object') {
    const o = op.value as Record<string, unknown>;
    return {
      ...op,
      value: {
        ...o,
        ...(o.data ? { data: maskMap(o.data) } : {}),
        ...(o.stringData ? { stringData: maskMap(o.stringData) } : {}),
      },
    };
  }
  if (!secretPath(op.path) || op.value === undefined) return op;
  const value = op.value !== null && typeof op.value === 'object' ? maskMap(op.value) : MASK;
  return { ...op, value };
}

/**
 * Compares the live object with what applying would make of it (the server-side dry-run result),
 * after normalisation. A missing live object is `created`; a missing desired one is `deleted`.
 * Secret `data`/`stringData` values never appear in the result. Pure.
 */
export function diffObject(
  live: Record<string, unknown> | undefined,
  desired: Record<string, unknown> | undefined,
): ObjectDiff {
  if (!live && !desired) return { action: 'unchanged', patch: [], owners: {} };
  const secret = isSecret(live) || isSecret(desired);
  const mask = (ops: PatchOp[]) => (secret ? ops.map(maskSecretValues) : ops);
  if (!live)
    return {
      action: 'created',
      patch: mask([{ op: 'add', path: '', value: normalize(desired as Record<string, unknown>) }]),
      owners: {},
    };
  if (!desired) return { action: 'deleted', patch: [{ op: 'remove', path: '' }], owners: {} };
  const patch = fjp.compare(normalize(live), normalize(desired)) as PatchOp[];
  if (patch.length === 0) return { action: 'unchanged', patch: [], owners: {} };
  const managed = ((live.metadata as { managedFields?: ManagedFieldsEntry[] } | undefined)?.managedFields ??
    []) as ManagedFieldsEntry[];
  const owners: Record<string, string[]> = {};
  for (const op of patch) {
    const who = fieldOwners(managed, op.path, live);
    if (who.length > 0) owners[op.path] = who;
  }
  return { action: 'configured', patch: mask(patch), owners };
}
