/** Every timer and "now" goes through a Clock, so tests can drive time. */
export interface Clock {
  now(): Date;
  /** Runs `fn` after `ms`; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
}

/** The longest delay Node's timers take (2^31 - 1 ms, 24.8 days); past it they fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A delay a single timer or AbortSignal.timeout can hold: at least 0, at most MAX_TIMER_MS (a
 * missing or non-numeric delay is the maximum, never "now": a storm is worse than a late tick). Pure.
 */
export function clampTimerMs(ms: number): number {
  if (Number.isNaN(ms)) return MAX_TIMER_MS;
  return Math.min(MAX_TIMER_MS, Math.max(0, ms));
}

export const realClock: Clock = {
  now: () => new Date(),
  after(ms, fn) {
    // Longer delays than one timer holds are a chain of timers, so 1000h is 1000h and not 1 ms.
    let remaining = Number.isNaN(ms) ? MAX_TIMER_MS : Math.max(0, ms);
    let t: ReturnType<typeof setTimeout> | undefined;
    const schedule = () => {
      const step = Math.min(remaining, MAX_TIMER_MS);
      remaining -= step;
      t = setTimeout(() => (remaining > 0 ? schedule() : fn()), step);
      t.unref?.();
    };
    schedule();
    return () => clearTimeout(t);
  },
};

/** Resolves after `ms` on `clock` (a FakeClock resolves it when advanced past it). */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.after(ms, resolve));
}

/** A manually advanced clock for tests: timers fire only inside `advance`. */
export class FakeClock implements Clock {
  #now: number;
  #timers: { at: number; fn: () => void; id: number }[] = [];
  #nextId = 0;

  constructor(start = new Date('2026-01-01T00:00:00Z')) {
    this.#now = start.getTime();
  }

  now(): Date {
    return new Date(this.#now);
  }

  after(ms: number, fn: () => void): () => void {
    const id = this.#nextId++;
    this.#timers.push({ at: this.#now + Math.max(0, ms), fn, id });
    return () => {
      this.#timers = this.#timers.filter((t) => t.id !== id);
    };
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      this.#timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.#timers[0];
      if (!next || next.at > end) break;
      this.#timers.shift();
      this.#now = next.at;
      next.fn();
    }
    this.#now = end;
  }

  get pendingTimers(): number {
    return this.#timers.length;
  }
}
