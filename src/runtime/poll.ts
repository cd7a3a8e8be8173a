import { type Clock, sleep } from './clock.ts';

export interface PollOptions {
  clock: Clock;
  intervalMs: number;
  timeoutMs: number;
}

/**
 * Calls `check` every `intervalMs` until it returns something other than undefined, and returns
 * that; after `timeoutMs` without one, calls `timedOut` and throws what it returns. Time comes from
 * the clock, so a test drives it.
 */
export async function poll<T>(
  opts: PollOptions,
  check: () => Promise<T | undefined>,
  timedOut: () => Error,
): Promise<T> {
  const deadline = opts.clock.now().getTime() + opts.timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (opts.clock.now().getTime() >= deadline) throw timedOut();
    await sleep(opts.clock, opts.intervalMs);
  }
}
