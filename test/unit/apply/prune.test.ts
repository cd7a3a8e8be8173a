import { describe, expect, it } from 'vitest';
import { pruneDecision, staleEntries } from '../../../src/apply/prune.ts';

const owner = { groupName: 'shop', groupNamespace: 'apps' };
const labels = { 'shoal.dev/group-name': 'shop', 'shoal.dev/group-namespace': 'apps' };

describe('pruneDecision', () => {
  it.each([
    ['ours', { labels }, 'delete'],
    [
      'ours, but prune disabled',
      { labels, annotations: { 'shoal.dev/prune': 'disabled' } },
      'prune-disabled',
    ],
    ['relabelled by someone', { labels: { 'shoal.dev/group-name': 'shop' } }, 'not-owned'],
    [
      'another group of the same name elsewhere',
      { labels: { ...labels, 'shoal.dev/group-namespace': 'other' } },
      'not-owned',
    ],
    ['no labels at all', {}, 'not-owned'],
  ])('%s -> %s', (_, metadata, decision) => {
    expect(pruneDecision({ metadata }, owner)).toBe(decision);
  });
});

describe('staleEntries', () => {
  it('lists what left the inventory, in the old order', () => {
    const a = { id: 'ns_a__ConfigMap', v: 'v1' };
    const b = { id: 'ns_b__ConfigMap', v: 'v1' };
    const c = { id: 'ns_c_apps_Deployment', v: 'v1' };
    expect(staleEntries([a, b, c], [b])).toEqual([a, c]);
    expect(staleEntries([], [a])).toEqual([]);
  });
});
