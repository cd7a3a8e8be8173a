import type { Clock } from './clock.ts';
import { LEASE_TYPE, type Lease, type LeaseClient, mayAcquire } from './leader-election.ts';
import type { Log } from './logger.ts';
import type { Elector } from './manager.ts';
import {
  memberLeaseName,
  SHARD_ANNOTATIONS,
  SHARD_LABELS,
  shardLeaseName,
  shardOf,
  shardScore,
} from './shards.ts';

/** The Lease API the coordinator needs (the operator passes a LeaseApi of its own). */
export interface ShardLeaseClient extends LeaseClient {
  /** The namespace's Leases matching the selector, each with its apiVersion and kind. */
  list(opts: { namespace: string; labelSelector: string }): Promise<Lease[]>;
  /** Deletes the Lease as it was read (refused when it was written since). */
  delete(lease: Lease): Promise<void>;
}

export interface ShardCoordinatorOptions {
  namespace: string;
  /** The installation's id (the leader-election id): the prefix of its Leases' names. */
  id: string;
  identity: string;
  shardCount: number;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  clock: Clock;
  log: Log;
  /** This member now holds `shard`: its groups are to be enqueued. */
  onAcquired?: (shard: number) => void;
  /** Shards held changed (for a metric). */
  onChange?: (held: readonly number[]) => void;
}

type ShardState = { lease: Lease; state: 'held' | 'draining'; inFlight: number; drained?: () => void };

const micro = (d: Date) => d.toISOString().replace('Z', '000Z');

/**
 * Splits the work across replicas over Leases. Every member renews a member Lease; every retry
 * period it lists the installation's Leases, counts the live members, and holds at most
 * ceil(shards / members) shard Leases: it keeps the ones it has (so only what must move moves), hands
 * back its excess, and takes free or expired shards it ranks highest. A shard is written only by the
 * holder of its Lease: a shard being handed back first stops taking reconciles, waits for the ones in
 * flight, then releases its Lease, and the next holder can take it only then (or after it expired).
 * A held shard that could not be renewed within the renew deadline ends the membership, as losing
 * the leader Lease does: the process fences its writes and exits.
 */
export class ShardCoordinator implements Elector {
  readonly #client: ShardLeaseClient;
  readonly #opts: ShardCoordinatorOptions;
  readonly #shards = new Map<number, ShardState>();
  readonly #deadlines = new Map<number, () => void>();
  #member: Lease | undefined;
  #registeredAt: number | undefined;
  #members: string[] = [];
  #stopped = false;
  #active = false;
  #cancel: (() => void) | undefined;
  #cancelRenewals: (() => void) | undefined;
  #lost: (() => void) | undefined;

  constructor(client: ShardLeaseClient, options: ShardCoordinatorOptions) {
    this.#client = client;
    this.#opts = options;
  }

  get identity(): string {
    return this.#opts.identity;
  }

  get shardCount(): number {
    return this.#opts.shardCount;
  }

  /** The live members seen at the last tick (identities, this one included). */
  get members(): readonly string[] {
    return this.#members;
  }

  /** The shards whose Lease this member holds and takes reconciles for. */
  held(): number[] {
    return [...this.#shards].filter(([, s]) => s.state === 'held').map(([k]) => k);
  }

  /** Whether `key` (namespace/name) is in a shard this member holds. */
  owns(key: string): boolean {
    return this.#shards.get(shardOf(key, this.#opts.shardCount))?.state === 'held';
  }

  /**
   * Admits one reconcile of `key` when its shard is held: returns the function to call when it has
   * finished (a shard handed back waits for those), or undefined when the key is not this member's.
   */
  admit(key: string): (() => void) | undefined {
    const s = this.#shards.get(shardOf(key, this.#opts.shardCount));
    if (s?.state !== 'held') return undefined;
    s.inFlight++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      s.inFlight--;
      if (s.inFlight === 0) s.drained?.();
    };
  }

  run(callbacks: { onStartedLeading: () => void; onStoppedLeading: () => void }): void {
    this.#lost = () => {
      if (this.#stopped) return;
      this.#stopped = true;
      this.#cancel?.();
      this.#cancelRenewals?.();
      for (const cancel of this.#deadlines.values()) cancel();
      this.#shards.clear();
      this.#opts.onChange?.([]);
      this.#opts.log({ level: 'error', msg: 'lost a shard Lease; stopping', id: this.#opts.id });
      callbacks.onStoppedLeading();
    };
    const tick = async () => {
      if (this.#stopped) return;
      try {
        await this.tick();
        if (!this.#active && this.#member) {
          this.#active = true;
          callbacks.onStartedLeading();
        }
      } catch (err) {
        this.#opts.log({
          level: 'warn',
          msg: 'shard coordination failed',
          error: err instanceof Error ? err.message : String(err),
        });
      }
      if (!this.#stopped) this.#cancel = this.#opts.clock.after(this.#opts.retryPeriodMs, () => void tick());
    };
    // The held shards are renewed on a loop of their own, so a slow member write or list does not
    // eat into their renew deadline.
    const renewals = async () => {
      if (this.#stopped) return;
      await Promise.all([...this.#shards.keys()].map((k) => this.#renewShard(k)));
      if (!this.#stopped)
        this.#cancelRenewals = this.#opts.clock.after(this.#opts.retryPeriodMs, () => void renewals());
    };
    void tick();
    void renewals();
  }

  /**
   * One round: renew the member Lease, list, hand back the excess, take free ones. The held shards
   * are renewed beside it (`run`).
   */
  async tick(): Promise<void> {
    const { clock, namespace, id, shardCount, identity } = this.#opts;
    await this.#renewMember();
    const now = clock.now();
    const items = await this.#client.list({ namespace, labelSelector: `${SHARD_LABELS.memberOf}=${id}` });
    const members = new Set([identity]);
    for (const l of items) {
      if (l.metadata.labels?.[SHARD_LABELS.role] !== 'member') continue;
      const holder = l.spec.holderIdentity;
      if (holder && !mayAcquire(l, '', now)) members.add(holder);
      // A member that died without a word (SIGKILL): its Lease is removed once long expired.
      else if (Date.parse(l.spec.renewTime ?? '') < now.getTime() - 20 * this.#opts.leaseDurationMs)
        void this.#client.delete(l).catch(() => {});
    }
    this.#members = [...members].sort();
    const cap = Math.ceil(shardCount / members.size);
    // Hand back the excess (shards being handed back already are not counted twice): the shards this
    // member ranks lowest.
    const excess = this.held().length - cap;
    if (excess > 0) {
      const giveUp = this.held()
        .sort((a, b) => shardScore(a, identity) - shardScore(b, identity))
        .slice(0, excess);
      for (const k of giveUp) void this.#handBack(k);
    }
    // Wait one round after joining, so members that start together see each other before taking.
    if (this.#registeredAt === undefined || now.getTime() - this.#registeredAt < this.#opts.retryPeriodMs)
      return;
    const room = cap - this.#shards.size;
    if (room <= 0) return;
    const leases = new Map<number, Lease>();
    for (const l of items) {
      const k = Number(l.metadata.annotations?.[SHARD_ANNOTATIONS.shard]);
      if (l.metadata.labels?.[SHARD_LABELS.role] === 'shard' && Number.isInteger(k)) leases.set(k, l);
    }
    const free = Array.from({ length: shardCount }, (_, k) => k)
      .filter((k) => !this.#shards.has(k) && mayAcquire(leases.get(k), identity, now))
      .sort((a, b) => shardScore(b, identity) - shardScore(a, identity));
    let taken = 0;
    for (const k of free) {
      if (taken >= room || this.#stopped) break;
      if (await this.#acquire(k, leases.get(k))) taken++;
    }
  }

  async #renewMember(): Promise<void> {
    const { namespace, id, identity, clock } = this.#opts;
    const name = memberLeaseName(id, identity);
    const now = clock.now();
    const spec: Lease['spec'] = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.#opts.leaseDurationMs / 1000),
      acquireTime: this.#member?.spec.acquireTime ?? micro(now),
      renewTime: micro(now),
    };
    try {
      this.#member = this.#member
        ? await this.#client.replace({ ...this.#member, spec })
        : await this.#client.create({
            ...LEASE_TYPE,
            metadata: {
              name,
              namespace,
              labels: { [SHARD_LABELS.memberOf]: id, [SHARD_LABELS.role]: 'member' },
            },
            spec,
          });
    } catch {
      // Deleted, or written by someone else (conflict): read it again and write it next round.
      const live = await this.#client.get({ name, namespace });
      this.#member = live ? await this.#client.replace({ ...live, spec }) : undefined;
      if (!this.#member) throw new Error(`member Lease ${name} could not be written`);
    }
    this.#registeredAt ??= now.getTime();
  }

  async #acquire(k: number, current: Lease | undefined): Promise<boolean> {
    const { namespace, id, identity, clock, shardCount } = this.#opts;
    const now = clock.now();
    const spec: Lease['spec'] = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.#opts.leaseDurationMs / 1000),
      acquireTime: micro(now),
      renewTime: micro(now),
      leaseTransitions: (current?.spec.leaseTransitions ?? 0) + (current?.spec.holderIdentity ? 1 : 0),
    };
    try {
      const lease = current
        ? await this.#client.replace({ ...current, spec })
        : await this.#client.create({
            ...LEASE_TYPE,
            metadata: {
              name: shardLeaseName(id, k),
              namespace,
              labels: { [SHARD_LABELS.memberOf]: id, [SHARD_LABELS.role]: 'shard' },
              annotations: {
                [SHARD_ANNOTATIONS.shard]: String(k),
                [SHARD_ANNOTATIONS.count]: String(shardCount),
              },
            },
            spec,
          });
      if (this.#stopped) return false;
      this.#shards.set(k, { lease, state: 'held', inFlight: 0 });
      this.#armDeadline(k, now.getTime());
      this.#opts.log({ msg: 'took a shard', shard: k, lease: lease.metadata.name });
      this.#opts.onChange?.(this.held());
      this.#opts.onAcquired?.(k);
      return true;
    } catch {
      // Someone else took it first (409): it is theirs.
      return false;
    }
  }

  async #renewShard(k: number): Promise<void> {
    const s = this.#shards.get(k);
    if (!s) return;
    const started = this.#opts.clock.now();
    const renew = (lease: Lease) =>
      this.#client.replace({
        ...lease,
        spec: { ...lease.spec, holderIdentity: this.#opts.identity, renewTime: micro(started) },
      });
    try {
      s.lease = await renew(s.lease);
    } catch {
      // A conflict or an error: read it; still ours, write again; anyone else's, the shard is lost.
      // Anything else failing leaves the renew deadline running.
      const live = await this.#client
        .get({ name: s.lease.metadata.name, namespace: this.#opts.namespace })
        .catch(() => undefined);
      if (!live || this.#shards.get(k) !== s) return;
      if (live.spec.holderIdentity !== this.#opts.identity) return this.#lost?.();
      const renewed = await renew(live).catch(() => undefined);
      if (!renewed) return;
      s.lease = renewed;
    }
    if (this.#shards.get(k) === s) this.#armDeadline(k, started.getTime());
  }

  /** The renew deadline of shard k, counted from the start of its last successful renewal. */
  #armDeadline(k: number, renewedAt: number): void {
    this.#deadlines.get(k)?.();
    const { clock, renewDeadlineMs } = this.#opts;
    this.#deadlines.set(
      k,
      clock.after(renewedAt + renewDeadlineMs - clock.now().getTime(), () => this.#lost?.()),
    );
  }

  /** Stops taking reconciles for shard k, waits for those in flight, then releases its Lease. */
  async #handBack(k: number): Promise<void> {
    const s = this.#shards.get(k);
    if (s?.state !== 'held') return;
    s.state = 'draining';
    this.#opts.onChange?.(this.held());
    if (s.inFlight > 0) await new Promise<void>((resolve) => (s.drained = resolve));
    if (this.#stopped || this.#shards.get(k) !== s) return;
    await this.#release(k, s);
    this.#opts.log({ msg: 'handed a shard back', shard: k });
  }

  async #release(k: number, s: ShardState): Promise<void> {
    this.#deadlines.get(k)?.();
    this.#deadlines.delete(k);
    this.#shards.delete(k);
    const spec = {
      ...s.lease.spec,
      holderIdentity: '',
      renewTime: micro(this.#opts.clock.now()),
      leaseDurationSeconds: 1,
    };
    await this.#client.replace({ ...s.lease, spec }).catch(async () => {
      const live = await this.#client
        .get({ name: s.lease.metadata.name, namespace: this.#opts.namespace })
        .catch(() => undefined);
      if (live?.spec.holderIdentity === this.#opts.identity)
        await this.#client.replace({ ...live, spec }).catch(() => {});
    });
  }

  /** Stops, releases every shard (the workers have finished by now) and removes the member Lease. */
  async release(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#cancel?.();
    this.#cancelRenewals?.();
    const shards = [...this.#shards];
    await Promise.all(shards.map(([k, s]) => this.#release(k, s)));
    this.#opts.onChange?.([]);
    if (this.#member) await this.#client.delete(this.#member).catch(() => {});
  }
}
