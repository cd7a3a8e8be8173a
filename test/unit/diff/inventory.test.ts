import { describe, expect, it } from 'vitest';
import {
  DEFAULT_INVENTORY_LIMITS,
  inventoryOverLimit,
  nextInventory,
  parseInventory,
  parseInventoryEntry,
  staleEntries,
} from '../../../src/diff/inventory.ts';
import { InventoryIndex } from '../../../src/diff/inventory-index.ts';

const e = (id: string, extra: object = {}) => ({ id, v: 'v1', ...extra });

describe('parsing an inventory read from the API', () => {
  it.each([
    [
      'a namespaced object',
      e('shop_web_apps_Deployment'),
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'shop' },
    ],
    [
      'a core cluster-scoped object',
      e('_shop__Namespace'),
      { apiVersion: 'v1', kind: 'Namespace', name: 'shop' },
    ],
    [
      'a name with underscores',
      e('ns_a_b__ConfigMap'),
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'a_b', namespace: 'ns' },
    ],
    [
      'an RBAC name with colons',
      e('_system:x_rbac.authorization.k8s.io_ClusterRole'),
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'system:x' },
    ],
  ])('%s', (_, entry, ref) => {
    const parsed = parseInventoryEntry(entry);
    expect('ok' in parsed && parsed.ok.ref).toEqual(ref);
  });

  it.each([
    ['not an inventory id', { id: 'not-an-inventory-id', v: 'v1' }],
    ['a bad namespace', e('Shop_web_apps_Deployment')],
    ['a bad kind', e('shop_web_apps_deploy-ment')],
    ['a bad group', e('shop_web_APPS_Deployment')],
    ['an empty name', e('shop___ConfigMap')],
    ['a slash in the name', e('shop_a/b__ConfigMap')],
    ['a bad version', { id: 'shop_web_apps_Deployment', v: 'V1 beta' }],
    ['no id', { v: 'v1' }],
    ['a number', 42],
    ['null', null],
  ])('%s is refused, not thrown', (_, value) => {
    expect(() => parseInventoryEntry(value)).not.toThrow();
    expect('error' in parseInventoryEntry(value)).toBe(true);
  });

  it('keeps the good entries and says which are bad; a non-list is one bad entry', () => {
    const parsed = parseInventory([
      e('shop_a__ConfigMap'),
      { id: 'junk', v: 'v1' },
      e('shop_b__ConfigMap', { stale: true }),
    ]);
    expect(parsed.entries.map((p) => p.entry)).toEqual([
      e('shop_a__ConfigMap'),
      e('shop_b__ConfigMap', { stale: true }),
    ]);
    expect(parsed.invalid).toEqual(['id "junk" is not <namespace>_<name>_<group>_<kind>']);
    expect(parseInventory({ id: 'x' }).invalid).toHaveLength(1);
    expect(parseInventory(undefined)).toEqual({ entries: [], invalid: [] });
  });
});

describe('the next inventory', () => {
  const a = e('ns_a__ConfigMap');
  const b = e('ns_b__ConfigMap');
  const c = e('ns_c__ConfigMap');
  it.each([
    [
      'success with prune: what Git declares',
      { old: [a, b], applied: [a], succeeded: true, pruneEnabled: true },
      [a],
    ],
    [
      'success without prune: what left Git stays, marked stale',
      { old: [a, b], applied: [a, c], succeeded: true, pruneEnabled: false },
      [a, { ...b, stale: true }, c],
    ],
    [
      'a stale object back in Git is no longer stale',
      { old: [a, { ...b, stale: true }], applied: [a, b], succeeded: true, pruneEnabled: false },
      [a, b],
    ],
    [
      'after a prune: applied plus failed deletes',
      { old: [a, b, c], applied: [a], succeeded: false, pruneEnabled: true, pruneFailed: [c] },
      [a, c],
    ],
    [
      'a failure keeps the old and adds what was written',
      { old: [a], applied: [c], succeeded: false, pruneEnabled: true },
      [a, c],
    ],
    [
      'an adopted object stays marked',
      { old: [{ ...a, adopted: true }], applied: [a], succeeded: true, pruneEnabled: true },
      [{ ...a, adopted: true }],
    ],
  ])('%s', (_, input, expected) => {
    expect(nextInventory(input)).toEqual(expected);
  });

  it('lists what left, in the old order', () => {
    expect(staleEntries([a, b, c], [b])).toEqual([a, c]);
  });

  it('is capped by object count and by encoded size', () => {
    const many = Array.from({ length: 10_001 }, (_, i) => e(`ns_cm-${i}__ConfigMap`));
    expect(inventoryOverLimit(many, DEFAULT_INVENTORY_LIMITS)).toMatch(
      /10001 objects, over the limit of 10000/,
    );
    const long = Array.from({ length: 5_500 }, (_, i) => e(`ns_${'x'.repeat(230)}-${i}__ConfigMap`));
    expect(inventoryOverLimit(long, DEFAULT_INVENTORY_LIMITS)).toMatch(
      /bytes, over the limit of 1048576 bytes/,
    );
    expect(inventoryOverLimit(many.slice(0, 5_000), DEFAULT_INVENTORY_LIMITS)).toBeUndefined();
  });
});

describe('InventoryIndex', () => {
  it('knows which groups list an id, across updates and deletes, and skips malformed entries', () => {
    const index = new InventoryIndex();
    index.set('a/one', [e('ns_x__ConfigMap'), { id: 'junk', v: 'v1' }]);
    index.set('b/two', [e('ns_x__ConfigMap'), e('ns_y__ConfigMap')]);
    expect(index.claims('ns_x__ConfigMap')).toEqual(['a/one', 'b/two']);
    index.set('a/one', [e('ns_z__ConfigMap')]);
    expect(index.claims('ns_x__ConfigMap')).toEqual(['b/two']);
    index.delete('b/two');
    expect(index.claims('ns_x__ConfigMap')).toEqual([]);
    expect(index.claims('ns_z__ConfigMap')).toEqual(['a/one']);
    expect(index.claims('junk')).toEqual([]);
  });
});
