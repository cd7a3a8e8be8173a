import type { Clock } from './clock.ts';
import type { Log } from './logger.ts';

/** A coordination.k8s.io/v1 Lease, as far as leader election reads and writes it. */
export interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: {
    name: string;
    namespace: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** The Lease API the elector needs (the operator passes a LeaseApi of its own). */
export interface LeaseClient {
  /** undefined when there is no such Lease. */
  get(ref: { name: string; namespace: string }): Promise<Lease | undefined>;
  create(lease: Lease): Promise<Lease>;
  replace(lease: Lease): Promise<Lease>;
}

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  /** How long a lease holds without renewal (client-go default 15 s). */
  leaseDurationMs: number;
  /** A leader that could not renew for this long gives up (10 s). */
  renewDeadlineMs: number;
  /** Time between tries to acquire or renew (2 s). */
  retryPeriodMs: number;
  clock: Clock;
  log: Log;
}

/** A Lease's apiVersion and kind, which every write carries. */
export const LEASE_TYPE = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' } as const;

/** MicroTime as the API server writes it. */
const micro = (d: Date) => d.toISOString().replace('Z', '000Z');

/**
 * Decides whether `identity` may take `lease` at `now`: when nobody holds it, it already does, or the
 * holder's renewal is older than the lease duration. Pure.
 */
export function mayAcquire(lease: Lease | undefined, identity: string, now: Date): boolean {
  if (!lease?.spec.holderIdentity) return true;
  if (lease.spec.holderIdentity === identity) return true;
  const renewed = Date.parse(lease.spec.renewTime ?? lease.spec.acquireTime ?? '');
  const duration = (lease.spec.leaseDurationSeconds ?? 15) * 1000;
  return !Number.isFinite(renewed) || now.getTime() > renewed + duration;
}

/**
 * Lease-based leader election, as client-go's: try to acquire every retry period; once leading,
 * renew every retry period; a leader that cannot renew within the renew deadline calls
 * `onStoppedLeading` (the operator then stops writing and exits). `release` gives the lease up.
 */
export class LeaderElector {
  readonly #client: LeaseClient;
  readonly #opts: LeaderElectionOptions;
  #leading = false;
  #stopped = false;
  #cancel: (() => void) | undefined;
  #deadline: (() => void) | undefined;

  constructor(client: LeaseClient, options: LeaderElectionOptions) {
    this.#client = client;
    this.#opts = options;
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** One attempt to acquire or renew; true when this identity holds the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.#opts;
    const now = this.#opts.clock.now();
    const ref = { name, namespace };
    try {
      const lease = await this.#client.get(ref);
      if (!mayAcquire(lease, identity, now)) return false;
      const taking = lease?.spec.holderIdentity !== identity;
      const spec: Lease['spec'] = {
        holderIdentity: identity,
        leaseDurationSeconds: Math.ceil(this.#opts.leaseDurationMs / 1000),
        acquireTime: taking ? micro(now) : (lease?.spec.acquireTime ?? micro(now)),
        renewTime: micro(now),
        leaseTransitions:
          (lease?.spec.leaseTransitions ?? 0) + (taking && lease?.spec.holderIdentity ? 1 : 0),
      };
      if (!lease)
        await this.#client.create({
          ...LEASE_TYPE,
          metadata: { name, namespace },
          spec,
        });
      else await this.#client.replace({ ...lease, spec });
      return true;
    } catch (err) {
      // A conflict (someone else wrote first) or an unreachable server: not holding it this round.
      this.#opts.log({
        level: 'debug',
        msg: 'lease attempt failed',
        error: err instanceof Error ? err.message : String(err),
      });
      return false;
    }
  }

  /**
   * Runs until stopped: acquires, then renews; calls back on gaining and on losing leadership. The
   * renew deadline is a timer of its own, armed from the start of each successful renewal, so a
   * renewal that hangs (a partition that black-holes requests) still ends the leadership on time.
   */
  run(callbacks: { onStartedLeading: () => void; onStoppedLeading: () => void }): void {
    const { clock, retryPeriodMs, renewDeadlineMs } = this.#opts;
    const lose = () => {
      if (!this.#leading) return;
      this.#leading = false;
      this.#stopped = true;
      this.#cancel?.();
      this.#opts.log({
        level: 'error',
        msg: 'lost the lease; stopping',
        lease: `${this.#opts.namespace}/${this.#opts.name}`,
      });
      callbacks.onStoppedLeading();
    };
    const tick = async () => {
      if (this.#stopped) return;
      const started = clock.now().getTime();
      const ok = await this.tryAcquireOrRenew();
      if (this.#stopped) return;
      if (ok) {
        this.#deadline?.();
        this.#deadline = clock.after(started + renewDeadlineMs - clock.now().getTime(), lose);
        if (!this.#leading) {
          this.#leading = true;
          this.#opts.log({ msg: 'became the leader', lease: `${this.#opts.namespace}/${this.#opts.name}` });
          callbacks.onStartedLeading();
        }
      }
      this.#cancel = clock.after(retryPeriodMs, () => void tick());
    };
    void tick();
  }

  /** Stops trying and, when leading, gives the lease up so a standby takes over at once. */
  async release(): Promise<void> {
    this.#stopped = true;
    this.#cancel?.();
    this.#deadline?.();
    if (!this.#leading) return;
    this.#leading = false;
    const { namespace, name, identity } = this.#opts;
    const lease = await this.#client.get({ name, namespace }).catch(() => undefined);
    if (lease?.spec.holderIdentity !== identity) return;
    const now = micro(this.#opts.clock.now());
    await this.#client
      .replace({
        ...lease,
        spec: { ...lease.spec, holderIdentity: '', renewTime: now, leaseDurationSeconds: 1 },
      })
      .catch(() => {});
  }
}
