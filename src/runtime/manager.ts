import type { Clock } from './clock.ts';
import type { Log } from './logger.ts';

/**
 * When a runnable starts and stops, as in controller-runtime's manager:
 * - `servers`: first up and last down (health probes answer through start-up and shutdown);
 * - `caches`: started after the servers; start resolves once synced; stopped after the workers;
 * - `always`: on every replica once the caches synced (webhook receiver, timers); stopped first;
 * - `leader`: only while this process holds the Lease (the writers); start resolves when they end.
 */
export type RunnableGroup = 'servers' | 'caches' | 'always' | 'leader';

export interface Runnable {
  name: string;
  group: RunnableGroup;
  /** For `leader` runnables, resolves when the runnable has finished (after `stop`). */
  start(): Promise<unknown>;
  stop(): Promise<void>;
}

/** What the manager needs of leader election (the operator's LeaderElector). */
export interface Elector {
  run(callbacks: { onStartedLeading: () => void; onStoppedLeading: () => void }): void;
  release(): Promise<void>;
}

export interface ManagerOptions {
  clock: Clock;
  log: Log;
  /** Without one, this process is the leader from the start. */
  elector?: Elector;
  /** How long leader runnables get to finish on shutdown before `onAbandon`. */
  shutdownGraceMs: number;
  /** The Lease is lost: every write must stop now (the process is expected to exit). */
  onLostLease?: () => void;
  /** Leader runnables did not finish within the grace period: refuse their writes. */
  onAbandon?: () => void;
  /** Leadership changed (for a metric). */
  onLeading?: (leading: boolean) => void;
}

/**
 * Starts and stops the operator's runnables in one order (see RunnableGroup) and knows whether the
 * process is healthy: a leader whose writers stopped without being asked to, or a start-up that
 * failed, is unhealthy, so a liveness probe restarts it instead of leaving it wedged.
 */
export class Manager {
  readonly #opts: ManagerOptions;
  readonly #runnables: Runnable[] = [];
  readonly #running: Promise<unknown>[] = [];
  #leading = false;
  #started = false;
  #stopping = false;
  #failure: string | undefined;

  constructor(options: ManagerOptions) {
    this.#opts = options;
  }

  /** Adds a runnable; one added after start joins at once if its group is already running. */
  add(runnable: Runnable): void {
    this.#runnables.push(runnable);
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** Ready to serve: started, caches synced, not shutting down. */
  ready(): boolean {
    return this.#started && !this.#stopping && this.#failure === undefined;
  }

  /** Why the process is not healthy, or undefined when it is. */
  unhealthy(): string | undefined {
    return this.#failure;
  }

  /** Marks the process unhealthy (the liveness probe fails from now on). */
  fail(why: string): void {
    if (this.#failure !== undefined) return;
    this.#failure = why;
    this.#opts.log({ level: 'error', msg: 'unhealthy', reason: why });
  }

  #of(group: RunnableGroup): Runnable[] {
    return this.#runnables.filter((r) => r.group === group);
  }

  async start(): Promise<void> {
    try {
      for (const r of this.#of('servers')) await r.start();
      await Promise.all(this.#of('caches').map((r) => r.start()));
      this.#opts.log({ msg: 'caches synced' });
      for (const r of this.#of('always')) await r.start();
    } catch (err) {
      this.fail(`start-up failed: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    }
    const elector = this.#opts.elector;
    if (elector) {
      this.#opts.onLeading?.(false);
      elector.run({
        onStartedLeading: () => this.#lead(),
        onStoppedLeading: () => {
          this.#leading = false;
          this.#opts.onLeading?.(false);
          this.#opts.onLostLease?.();
          void Promise.all(this.#of('leader').map((r) => r.stop()));
        },
      });
    } else this.#lead();
    this.#started = true;
  }

  #lead(): void {
    if (this.#stopping) return;
    this.#leading = true;
    this.#opts.onLeading?.(true);
    for (const r of this.#of('leader')) {
      const running = r.start().then(
        () => {
          if (this.#leading && !this.#stopping) this.fail(`${r.name} stopped while this process leads`);
        },
        (err: unknown) => this.fail(`${r.name} failed: ${err instanceof Error ? err.message : String(err)}`),
      );
      this.#running.push(running);
    }
  }

  /**
   * Stops everything: the `always` runnables (no new work arrives), the leader runnables (they get
   * the grace period, then `onAbandon`), the caches, the Lease, the servers.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const r of this.#of('always').reverse()) await this.#quietly(r);
    await Promise.all(this.#of('leader').map((r) => this.#quietly(r)));
    const finished = await Promise.race([
      Promise.all(this.#running).then(() => true),
      new Promise<false>((resolve) =>
        this.#opts.clock.after(this.#opts.shutdownGraceMs, () => resolve(false)),
      ),
    ]);
    if (!finished) {
      this.#opts.onAbandon?.();
      this.#opts.log({
        level: 'warn',
        msg: 'abandoned in-flight reconciles',
        graceMs: this.#opts.shutdownGraceMs,
      });
    }
    await Promise.all(this.#of('caches').map((r) => this.#quietly(r)));
    await this.#opts.elector?.release();
    this.#leading = false;
    for (const r of this.#of('servers').reverse()) await this.#quietly(r);
  }

  async #quietly(r: Runnable): Promise<void> {
    try {
      await r.stop();
    } catch (err) {
      this.#opts.log({
        level: 'warn',
        msg: 'stop failed',
        runnable: r.name,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
}
