import { describe, expect, it } from 'vitest';
import { pruneDecision } from '../../../src/apply/prune.ts';

const owner = { groupName: 'shop', groupNamespace: 'apps' };
const labels = { 'shoal.dev/group-name': 'shop', 'shoal.dev/group-namespace': 'apps' };

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
