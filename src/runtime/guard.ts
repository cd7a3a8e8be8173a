import type { Log } from './logger.ts';

/** Where a guarded callback's failure is told (a log line and a metric, in the operator). */
export type GuardReport = (where: string, err: unknown) => void;

/** A report that logs the failure as an error line. */
export function logGuardReport(log: Log, count?: (where: string) => void): GuardReport {
  return (where, err) => {
    count?.(where);
    log({
      level: 'error',
      msg: 'callback failed',
      where,
      error: err instanceof Error ? err.message : String(err),
    });
  };
}

/**
 * Wraps a callback that runs outside any reconcile (a timer, an informer handler) so that nothing
 * it throws or rejects with escapes: an exception there would end the process (a timer) or stop an
 * informer, for every group, because of one bad object. The failure is reported instead.
 */
export function guard<A extends unknown[]>(
  where: string,
  fn: (...args: A) => unknown,
  report: GuardReport,
): (...args: A) => void {
  return (...args: A) => {
    try {
      const result = fn(...args);
      if (result instanceof Promise) result.catch((err: unknown) => report(where, err));
    } catch (err) {
      report(where, err);
    }
  };
}
