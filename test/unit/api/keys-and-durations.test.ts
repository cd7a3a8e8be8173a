import { describe, expect, it } from 'vitest';
import { jitter, parseDuration } from '../../../src/api/duration.ts';
import { inventoryId, refFromInventory } from '../../../src/api/object-key.ts';
import { decorate } from '../../../src/render/decorate.ts';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['30s', 30_000],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    // As the API server writes them (metrics.k8s.io's window).
    ['15.123s', 15_123],
    ['1m0s', 60_000],
    ['1500us', 1.5],
    // Go's two micro signs.
    ['1500\u00b5s', 1.5],
    ['1500\u03bcs', 1.5],
    ['0', 0],
  ])('%s = %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '5', '1d', '-1s', '1m x', 'soon'])('refuses %j', (text) =>
    expect(() => parseDuration(text)).toThrow(),
  );

  it('jitters within ±10%', () => {
    expect(jitter(1000, 0)).toBe(900);
    expect(jitter(1000, 0.5)).toBe(1000);
    expect(jitter(1000, 0.999999)).toBe(1100);
  });
});

describe('inventory ids', () => {
  it.each([
    [
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'shop' },
      'shop_web_apps_Deployment',
    ],
    [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'my_cm', namespace: 'shop' }, 'shop_my_cm__ConfigMap'],
    [{ apiVersion: 'v1', kind: 'Namespace', name: 'shop' }, '_shop__Namespace'],
  ])('%j <-> %s', (ref, id) => {
    expect(inventoryId(ref)).toBe(id);
    expect(refFromInventory({ id, v: ref.apiVersion.split('/').pop() as string })).toEqual(ref);
  });
});

describe('decorate', () => {
  const opts = {
    owner: { groupName: 'shop', groupNamespace: 'apps' },
    targetNamespace: 'shop',
    namespaced: (_: string, kind: string) => kind !== 'Namespace',
  };
  const cm = (name: string, namespace?: string) => ({
    source: `${name}.yaml`,
    object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...(namespace ? { namespace } : {}) } },
  });

  it('defaults the namespace of namespaced objects, drops it from cluster-scoped ones, and labels both', () => {
    const out = decorate(
      [
        cm('a'),
        cm('b', 'other'),
        {
          source: 'ns.yaml',
          object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', namespace: 'y' } },
        },
      ],
      opts,
    );
    expect(out.map((o) => o.object.metadata.namespace)).toEqual(['shop', 'other', undefined]);
    for (const o of out) {
      expect(o.object.metadata.labels).toEqual({
        'shoal.dev/group-name': 'shop',
        'shoal.dev/group-namespace': 'apps',
      });
    }
  });

  it('refuses duplicates after defaulting, naming both files', () => {
    expect(() => decorate([cm('a'), { ...cm('a', 'shop'), source: 'dup.yaml' }], opts)).toThrow(
      'duplicate object ConfigMap/shop/a (in a.yaml and dup.yaml)',
    );
  });
});
