import { type Clock, realClock } from './clock.ts';

export interface WorkQueueOptions {
  clock: Clock;
  /** First retry delay after a failure; doubles per consecutive failure of the same key. */
  baseDelayMs: number;
  /** Cap on the retry delay. */
  maxDelayMs: number;
}

export const DEFAULT_WORK_QUEUE_OPTIONS: WorkQueueOptions = {
  clock: realClock,
  baseDelayMs: 500,
  maxDelayMs: 5 * 60_000,
};

/**
 * A de-duplicating queue of keys (never events), as client-go's workqueue: a key waits at most once,
 * is handed to one worker at a time, and a key added while it is being processed is handed out again
 * after `done`. Delayed adds keep only the earliest timer per key; failures back off per key.
 */
export class WorkQueue {
  readonly #opts: WorkQueueOptions;
  readonly #queue: string[] = [];
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Map<string, { at: number; cancel: () => void }>();
  #waiters: ((key: string | undefined) => void)[] = [];
  #shuttingDown = false;

  constructor(options: Partial<WorkQueueOptions> = {}) {
    this.#opts = { ...DEFAULT_WORK_QUEUE_OPTIONS, ...options };
  }

  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      waiter(key);
    } else this.#queue.push(key);
  }

  /**
   * Adds `key` after `ms`, unless an earlier timer for it is already pending; `replace` moves a
   * pending timer later instead (a server that asked to be left alone for a while).
   */
  addAfter(key: string, ms: number, { replace = false } = {}): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.#opts.clock.now().getTime() + ms;
    const pending = this.#timers.get(key);
    if (pending && pending.at <= at && !replace) return;
    pending?.cancel();
    const cancel = this.#opts.clock.after(ms, () => {
      this.#timers.delete(key);
      this.add(key);
    });
    this.#timers.set(key, { at, cancel });
  }

  /** Re-adds a failed key after its exponential backoff; returns the delay chosen. */
  addRateLimited(key: string): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    const delay = Math.min(this.#opts.maxDelayMs, this.#opts.baseDelayMs * 2 ** failures);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the failure count of a key (after a success). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  retries(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Waits for the next key; undefined once the queue shuts down. The caller must call `done(key)`. */
  get(): Promise<string | undefined> {
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      return Promise.resolve(key);
    }
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key)) {
      this.#dirty.delete(key);
      this.add(key);
    }
  }

  get length(): number {
    return this.#queue.length;
  }

  shutDown(): void {
    this.#shuttingDown = true;
    for (const t of this.#timers.values()) t.cancel();
    this.#timers.clear();
    for (const w of this.#waiters) w(undefined);
    this.#waiters = [];
  }
}
