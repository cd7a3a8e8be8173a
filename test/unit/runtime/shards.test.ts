import { describe, expect, it } from 'vitest';
import { memberLeaseName, shardLeaseName, shardOf, shardScore } from '../../../src/runtime/shards.ts';

describe('shards', () => {
  it('puts a key in the same shard every time, on every host (SHA-256, not a per-process seed)', () => {
    expect(shardOf('team-a/web', 12)).toBe(shardOf('team-a/web', 12));
    // Pinned: a change here would move every group of every installation on upgrade.
    expect([shardOf('team-a/web', 12), shardOf('default/podinfo', 12), shardOf('x/y', 7)]).toEqual([
      3, 11, 4,
    ]);
    expect(shardOf('a/b', 1)).toBe(0);
  });

  it('spreads 1,000 groups evenly over 12 shards (within 35 % of the mean)', () => {
    const counts = new Array(12).fill(0);
    for (let i = 0; i < 1000; i++) counts[shardOf(`ns-${i % 17}/group-${i}`, 12)]++;
    const mean = 1000 / 12;
    for (const c of counts) expect(Math.abs(c - mean) / mean).toBeLessThan(0.35);
  });

  it('gives each member its own order of preference over the shards', () => {
    const order = (m: string) =>
      Array.from({ length: 12 }, (_, k) => k).sort((a, b) => shardScore(b, m) - shardScore(a, m));
    expect(order('pod-a')).not.toEqual(order('pod-b'));
    expect(order('pod-a')).toEqual(order('pod-a'));
  });

  it('names Leases after the installation, members by a digest of their identity (a valid name)', () => {
    expect(shardLeaseName('shoal-leader', 3)).toBe('shoal-leader-shard-3');
    expect(memberLeaseName('shoal-leader', 'shoal-7d9f_AB12')).toMatch(/^shoal-leader-member-[0-9a-f]{10}$/);
  });
});
