import type { Clock } from './clock.ts';
import type { Log } from './logger.ts';

/** The part of client-node's informer Shoal uses (kept structural so this folder stays pure of it). */
export interface InformerLike<T> {
  on(verb: 'add' | 'update' | 'delete', cb: (obj: T) => void): void;
  on(verb: 'error', cb: (err?: unknown) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  list(namespace?: string): T[];
  get?(name: string, namespace?: string): T | undefined;
  /** Lists afresh and reconciles the cache with the list. */
  relist?(): void;
}

export interface ResilientInformerOptions {
  clock: Clock;
  baseDelayMs: number;
  maxDelayMs: number;
  log: Log;
  name: string;
  /** A full re-list this often, as a safety net for anything a watch missed (0: never). */
  relistEveryMs?: number;
  /** The initial list failed (it is tried again after a backoff). */
  onListFailed?: (err: unknown) => void;
  /**
   * Gives up a start whose list keeps failing (the watch is no longer wanted): the retries stop, and
   * the start rejects with `StartAborted`.
   */
  signal?: AbortSignal;
}

/** What startResilient rejects with once its signal aborted the start. */
export class StartAborted extends Error {
  constructor(name: string) {
    super(`the start of informer ${name} was given up`);
  }
}

/**
 * Starts `informer` and restarts it with capped exponential backoff after every watch error:
 * client-node's informer stops on any error but 410 Gone (which it handles by re-listing).
 * Resolves once the first list has filled the cache (`start` must reject when the list failed).
 * After that, the informer's error events drive the restarts.
 */
export async function startResilient<T>(
  informer: InformerLike<T>,
  opts: ResilientInformerOptions,
): Promise<() => Promise<void>> {
  let failures = 0;
  let stopped = false;
  let cancel: (() => void) | undefined;
  const restart = () => {
    if (stopped) return;
    const delay = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** failures);
    failures++;
    cancel = opts.clock.after(delay, () => {
      informer.start().then(
        () => {
          failures = 0;
        },
        (err: unknown) => {
          // The failure was also an error event, which scheduled the next restart.
          opts.log({
            level: 'warn',
            msg: 'informer restart failed',
            informer: opts.name,
            error: String(err),
          });
        },
      );
    });
  };
  let initializing = true;
  let initError: unknown;
  informer.on('error', (err) => {
    if (initializing) {
      // The first start's loop below retries a failed list; a watch that failed right after a
      // good list is restarted once that loop is done.
      initError = err ?? new Error('watch failed');
      return;
    }
    opts.log({
      level: 'warn',
      msg: 'watch failed; restarting',
      informer: opts.name,
      error: err instanceof Error ? err.message : String(err),
    });
    restart();
  });
  const { signal } = opts;
  for (;;) {
    if (signal?.aborted) throw new StartAborted(opts.name);
    initError = undefined;
    // Given up while the list is in flight: stopping the informer ends the list (one that hangs too).
    let stopping: Promise<void> | undefined;
    const stopOnAbort = () => {
      stopping = informer.stop().catch(() => {});
    };
    signal?.addEventListener('abort', stopOnAbort, { once: true });
    try {
      try {
        await informer.start();
      } finally {
        signal?.removeEventListener('abort', stopOnAbort);
      }
      if (signal?.aborted) {
        await (stopping ?? informer.stop());
        throw new StartAborted(opts.name);
      }
      break;
    } catch (err) {
      if (signal?.aborted) {
        await stopping;
        throw err instanceof StartAborted ? err : new StartAborted(opts.name);
      }
      opts.onListFailed?.(err);
      const delay = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** failures++);
      opts.log({
        level: 'warn',
        msg: 'initial list failed; retrying',
        informer: opts.name,
        error: String(err),
        retryInMs: delay,
      });
      await new Promise<void>((resolve) => {
        const onAbort = () => {
          cancel();
          resolve();
        };
        const cancel = opts.clock.after(delay, () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
  }
  failures = 0;
  initializing = false;
  if (initError !== undefined) restart();
  let cancelRelist: (() => void) | undefined;
  const every = opts.relistEveryMs ?? 0;
  const scheduleRelist = () => {
    if (every <= 0 || stopped) return;
    cancelRelist = opts.clock.after(every, () => {
      informer.relist?.();
      scheduleRelist();
    });
  };
  scheduleRelist();
  return async () => {
    stopped = true;
    cancel?.();
    cancelRelist?.();
    await informer.stop();
  };
}
