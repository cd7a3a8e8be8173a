import { fieldSet } from '../api/cache-shapes.ts';
import type { ManagedFieldsEntry } from '../api/object.ts';

export type { ManagedFieldsEntry } from '../api/object.ts';

/** JSON Pointer segments ("/spec/a~1b/0" -> ["spec", "a/b", "0"]). Pure. */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** Whether a list item matches a fieldsV1 item key: `k:{"name":"web"}`, `v:"x"` or `i:3`. Pure. */
function itemMatches(key: string, item: unknown, index: number): boolean {
  if (key.startsWith('i:')) return Number(key.slice(2)) === index;
  try {
    const want = JSON.parse(key.slice(2)) as unknown;
    if (key.startsWith('v:')) return JSON.stringify(want) === JSON.stringify(item);
    if (
      key.startsWith('k:') &&
      want !== null &&
      typeof want === 'object' &&
      item !== null &&
      typeof item === 'object'
    ) {
      return Object.entries(want).every(
        ([k, v]) => JSON.stringify((item as Record<string, unknown>)[k]) === JSON.stringify(v),
      );
    }
  } catch {
    return false;
  }
  return false;
}

/**
 * How deep a fieldsV1 set reaches along `segments` of the live object: map keys are `f:<name>`;
 * list items are keyed (`k:{...}`, `v:...`, `i:N`) and are matched against the live list item at
 * that index. Pure.
 */
function depth(
  fields: Record<string, unknown> | undefined,
  segments: readonly string[],
  live: unknown,
): number {
  let node = fields;
  let value = live;
  let d = 0;
  for (const seg of segments) {
    if (!node) break;
    const next = node[`f:${seg}`];
    if (next !== undefined) {
      node = next as Record<string, unknown>;
      value =
        value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[seg] : undefined;
      d++;
      continue;
    }
    if (/^\d+$/.test(seg) && Array.isArray(value)) {
      const index = Number(seg);
      const item = value[index];
      const key = Object.keys(node).find((k) => /^[kvi]:/.test(k) && itemMatches(k, item, index));
      if (key !== undefined) {
        node = node[key] as Record<string, unknown>;
        value = item;
        d++;
        continue;
      }
    }
    break;
  }
  return d;
}

/**
 * The field managers that own the field at `pointer` of the live object (or the deepest part of it
 * anyone owns), from its managedFields: "who changed this". Pure.
 */
export function fieldOwners(
  managed: readonly ManagedFieldsEntry[],
  pointer: string,
  live?: unknown,
): string[] {
  const segments = pointerSegments(pointer);
  let best = 0;
  let owners: string[] = [];
  for (const m of managed) {
    const d = depth(fieldSet(m), segments, live);
    if (d === 0) continue;
    const name = `${m.manager ?? '?'}${m.operation === 'Update' ? ' (update)' : ''}`;
    if (d > best) {
      best = d;
      owners = [name];
    } else if (d === best && !owners.includes(name)) owners.push(name);
  }
  return owners;
}
