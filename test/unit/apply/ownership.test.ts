import { describe, expect, it } from 'vitest';
import { labelledOwner, type Ownership, ownershipOf, refusal } from '../../../src/apply/ownership.ts';

const owner = { groupName: 'web', groupNamespace: 'shop' };
const labels = (ns: string, name: string) => ({
  metadata: { labels: { 'shoal.dev/group-name': name, 'shoal.dev/group-namespace': ns } },
});
const base = { owner, inOwnInventory: false, claimedBy: [], labelledOwnerExists: true, adoptAllowed: false };

describe('ownershipOf: whose an existing object is, before the first write', () => {
  it.each<[string, Partial<Parameters<typeof ownershipOf>[0]>, Ownership]>([
    ['labelled as this group', { live: labels('shop', 'web') }, { kind: 'own' }],
    ['in this group inventory, labels removed by hand', { live: {}, inOwnInventory: true }, { kind: 'own' }],
    [
      'labelled as another group that exists',
      { live: labels('other', 'api') },
      { kind: 'conflict', other: 'other/api', via: 'labels' },
    ],
    [
      'labelled as another group, and in this inventory too (two inventories, labels decide)',
      { live: labels('other', 'api'), inOwnInventory: true, claimedBy: ['shop/web', 'other/api'] },
      { kind: 'conflict', other: 'other/api', via: 'labels' },
    ],
    [
      'labelled as this group while another inventory also lists it',
      { live: labels('shop', 'web'), claimedBy: ['other/api', 'shop/web'] },
      { kind: 'own' },
    ],
    [
      'unlabelled, in another group inventory',
      { live: {}, claimedBy: ['other/api'] },
      { kind: 'conflict', other: 'other/api', via: 'inventory' },
    ],
    ['made with kubectl', { live: {} }, { kind: 'foreign' }],
    ['made with kubectl, adoption allowed', { live: {}, adoptAllowed: true }, { kind: 'adopt' }],
    [
      'labelled by a group that no longer exists',
      { live: labels('other', 'gone'), labelledOwnerExists: false },
      { kind: 'foreign', labelledBy: 'other/gone' },
    ],
    [
      'labelled by a group that no longer exists, adoption allowed',
      { live: labels('other', 'gone'), labelledOwnerExists: false, adoptAllowed: true },
      { kind: 'adopt' },
    ],
    [
      "another group's, even with adoption allowed",
      { live: labels('other', 'api'), adoptAllowed: true },
      { kind: 'conflict', other: 'other/api', via: 'labels' },
    ],
  ])('%s', (_, input, expected) => {
    expect(ownershipOf({ ...base, live: {}, ...input })).toEqual(expected);
  });

  it('reads the owner from both labels only', () => {
    expect(labelledOwner(labels('shop', 'web'))).toBe('shop/web');
    expect(labelledOwner({ metadata: { labels: { 'shoal.dev/group-name': 'web' } } })).toBeUndefined();
  });

  it('says why, naming the object and the other group', () => {
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'settings' };
    expect(refusal(ref, { kind: 'conflict', other: 'other/api', via: 'labels' })).toBe(
      'ConfigMap/shop/settings belongs to AppGroup other/api (its owner labels)',
    );
    expect(refusal(ref, { kind: 'foreign' })).toBe(
      'ConfigMap/shop/settings exists and was not created by Shoal',
    );
  });
});
