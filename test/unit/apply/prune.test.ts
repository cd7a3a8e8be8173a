import { describe, expect, it } from 'vitest';
import type { ManagedFieldsEntry } from '../../../src/api/object.ts';
import { labelledByShoal, orphansOf, pruneDecision } from '../../../src/apply/prune.ts';

const owner = { groupName: 'shop', groupNamespace: 'apps' };
const labels = { 'shoal.dev/group-name': 'shop', 'shoal.dev/group-namespace': 'apps' };
const labelFields = {
  'f:metadata': { 'f:labels': { 'f:shoal.dev/group-name': {}, 'f:shoal.dev/group-namespace': {} } },
};
/** managedFields as the API server returns them, and as the drift caches keep them (fieldsV1 as text). */
const shoalApply: ManagedFieldsEntry = { manager: 'shoal', operation: 'Apply', fieldsV1: labelFields };
const shoalApplySlim: ManagedFieldsEntry = { ...shoalApply, fieldsV1: JSON.stringify(labelFields) };

describe('pruneDecision', () => {
  it.each([
    ['ours', { labels }, {}, 'delete'],
    [
      'ours, but prune disabled',
      { labels, annotations: { 'shoal.dev/prune': 'disabled' } },
      {},
      'prune-disabled',
    ],
    ['relabelled by someone', { labels: { 'shoal.dev/group-name': 'shop' } }, {}, 'not-owned'],
    [
      'another group of the same name elsewhere',
      { labels: { ...labels, 'shoal.dev/group-namespace': 'other' } },
      {},
      'not-owned',
    ],
    ['no labels at all', {}, {}, 'not-owned'],
    [
      "ours, marked keep by the chart (Helm's resource policy)",
      { labels, annotations: { 'helm.sh/resource-policy': 'keep' } },
      {},
      'kept',
    ],
    ['ours, and listed only by us', { labels }, { claimedBy: ['apps/shop'] }, 'delete'],
    [
      'ours by label, but another inventory lists it too',
      { labels },
      { claimedBy: ['apps/shop', 'x/other'] },
      'claimed',
    ],
    [
      'ours, outside what the policy lets the group touch',
      { labels },
      { forbidden: 'cluster-scoped' },
      'not-permitted',
    ],
  ] as const)('%s -> %s', (_, metadata, facts, decision) => {
    expect(pruneDecision({ metadata }, owner, facts)).toBe(decision);
  });
});

describe('labelledByShoal', () => {
  it.each([
    ["Shoal's apply set both labels", [shoalApply], true],
    ['the same, as a drift cache keeps it', [shoalApplySlim], true],
    [
      'kubectl label set them (an Update)',
      [{ manager: 'kubectl-label', operation: 'Update', fieldsV1: labelFields }],
      false,
    ],
    ['another applier set them', [{ ...shoalApply, manager: 'kubectl' }], false],
    ["Shoal's field manager, but an Update", [{ ...shoalApply, operation: 'Update' }], false],
    [
      "Shoal's apply set only one of them",
      [{ ...shoalApply, fieldsV1: { 'f:metadata': { 'f:labels': { 'f:shoal.dev/group-name': {} } } } }],
      false,
    ],
    ["Shoal's apply of the status subresource", [{ ...shoalApply, subresource: 'status' }], false],
    ['a field set that does not parse', [{ ...shoalApply, fieldsV1: '{' }], false],
    ['no managedFields', undefined, false],
  ] as const)('%s -> %s', (_, managedFields, expected) => {
    expect(
      labelledByShoal({
        metadata: { labels, ...(managedFields ? { managedFields: [...managedFields] } : {}) },
      }),
    ).toBe(expected);
  });

  it('outside the inventory, labels alone do not make an object deletable', () => {
    expect(pruneDecision({ metadata: { labels } }, owner, { orphan: true })).toBe('not-owned');
    expect(
      pruneDecision({ metadata: { labels, managedFields: [shoalApply] } }, owner, { orphan: true }),
    ).toBe('delete');
    expect(
      pruneDecision(
        { metadata: { labels, managedFields: [shoalApply], annotations: { 'shoal.dev/prune': 'disabled' } } },
        owner,
        {
          orphan: true,
        },
      ),
    ).toBe('prune-disabled');
  });
});

describe('orphansOf', () => {
  const cm = (name: string, namespace: string, meta: Record<string, unknown> = {}) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, labels, managedFields: [shoalApplySlim], ...meta },
  });
  const cache: Record<string, ReturnType<typeof cm>[]> = {
    'v1|ConfigMap|apps': [
      cm('listed', 'apps'),
      cm('orphan', 'apps'),
      cm('copied', 'apps', {
        managedFields: [{ manager: 'kubectl-create', operation: 'Update', fieldsV1: '{}' }],
      }),
      cm('other-group', 'apps', { labels: { ...labels, 'shoal.dev/group-name': 'cart' } }),
    ],
    'v1|ConfigMap|elsewhere': [cm('far', 'elsewhere')],
  };
  const cached = {
    list: (apiVersion: string, kind: string, namespace?: string) =>
      cache[`${apiVersion}|${kind}|${namespace ?? ''}`],
    get: () => undefined,
    watched: () => true,
  };
  const scope = [{ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'listed' }];

  it("finds only the group's objects that Shoal labelled and nothing names, in the scope's kinds and namespaces", () => {
    const found = orphansOf(cached, owner, scope, new Set(['apps_listed__ConfigMap']));
    expect(found).toEqual([
      {
        entry: { id: 'apps_orphan__ConfigMap', v: 'v1' },
        ref: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'orphan' },
        orphan: true,
      },
    ]);
  });

  it('looks at nothing when the scope is empty or the kind is not cached', () => {
    expect(orphansOf(cached, owner, [], new Set())).toEqual([]);
    expect(
      orphansOf(cached, owner, [{ ...scope[0], kind: 'Secret' } as (typeof scope)[0]], new Set()),
    ).toEqual([]);
  });
});
