import { createHash } from 'node:crypto';

/**
 * How AppGroups are split across replicas, pure. A group's key (`namespace/name`) hashes to one of
 * a fixed number of shards, so a group never changes shard; the ShardCoordinator spreads the shards
 * over the live members, each taking free ones in the order of its rendezvous score.
 */

/** A 32-bit unsigned number from the first four bytes of SHA-256 (stable across versions and hosts). */
function hash32(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}

/** The shard (0 … count-1) of a `namespace/name` key. */
export function shardOf(key: string, count: number): number {
  return hash32(key) % count;
}

/** How much `member` wants `shard` (rendezvous hashing): members take free shards in this order. */
export function shardScore(shard: number, member: string): number {
  return hash32(`${shard}|${member}`);
}

/** The Lease names of one sharded installation (the leader-election id is their prefix). */
export const shardLeaseName = (id: string, shard: number) => `${id}-shard-${shard}`;
export const memberLeaseName = (id: string, identity: string) =>
  `${id}-member-${createHash('sha256').update(identity).digest('hex').slice(0, 10)}`;

/** Labels that find an installation's Leases with one list. */
export const SHARD_LABELS = {
  /** The installation (leader-election id) a member or shard Lease belongs to. */
  memberOf: 'shoal.dev/shards-of',
  /** `member` or `shard`. */
  role: 'shoal.dev/lease-role',
} as const;
export const SHARD_ANNOTATIONS = {
  shard: 'shoal.dev/shard',
  count: 'shoal.dev/shard-count',
} as const;
