import { StalledError } from './errors/stalled-error.ts';
import { WaitingError } from './errors/waiting-error.ts';
import type { WorkQueue } from './work-queue.ts';

/** What a reconcile asks of the runtime when it succeeds. */
export interface ReconcileResult {
  /** Reconcile this key again after this many milliseconds (for example the poll interval). */
  requeueAfterMs?: number;
}

export type Reconcile = (key: string) => Promise<ReconcileResult>;

export interface ControllerHooks {
  /** Called for every failure, after the runtime decided what to do with it. */
  onError?: (key: string, err: unknown, retryInMs: number | undefined) => void;
}

/**
 * Runs `workers` loops that take keys from `queue` and reconcile them. Errors tell the runtime what to
 * do: StalledError stops retrying, WaitingError requeues after its delay, anything else backs off.
 * A failing reconcile never stops the loop. Resolves when the queue shuts down and workers finish.
 */
export async function runWorkers(
  queue: WorkQueue,
  workers: number,
  reconcile: Reconcile,
  hooks: ControllerHooks = {},
): Promise<void> {
  const loop = async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        const result = await reconcile(key);
        queue.forget(key);
        if (result.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
      } catch (err) {
        let retryIn: number | undefined;
        if (err instanceof StalledError) queue.forget(key);
        else if (err instanceof WaitingError) {
          queue.forget(key);
          retryIn = err.requeueAfterMs;
          queue.addAfter(key, retryIn);
        } else {
          retryIn = queue.addRateLimited(key);
          // An API server that throttles (429) or is unavailable (503) says when to come back.
          const asked = retryAfterMs(err);
          if (asked !== undefined && asked > retryIn) {
            queue.addAfter(key, asked, { replace: true });
            retryIn = asked;
          }
        }
        hooks.onError?.(key, err, retryIn);
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, loop));
}

/** The Retry-After an error (or one of its causes) carries, in milliseconds. */
export function retryAfterMs(err: unknown): number | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const seconds = (e as { retryAfterSeconds?: unknown }).retryAfterSeconds;
    if (typeof seconds === 'number' && seconds > 0) return seconds * 1000;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
