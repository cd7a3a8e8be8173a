import { randomBytes } from 'node:crypto';
import { REASON } from '../api/conditions.ts';
import type { Metrics } from '../http/metrics.ts';
import type { StepObserver } from '../reconcile/run-steps.ts';
import { type Reconcile, runWorkers } from '../runtime/controller.ts';
import { StalledError } from '../runtime/errors/stalled-error.ts';
import { WaitingError } from '../runtime/errors/waiting-error.ts';
import { type Log, logContext } from '../runtime/logger.ts';
import type { Runnable } from '../runtime/manager.ts';
import type { WorkQueue } from '../runtime/work-queue.ts';
import { describeFailure } from '../status/summarize.ts';
import type { Gate } from './sharding.ts';

export type ControllerKind = 'GitSource' | 'ChartSource' | 'AppGroup' | 'Autoscale';

const KNOWN_REASONS: ReadonlySet<string> = new Set(Object.values(REASON));

/** A reason as a metric label: Shoal's closed vocabulary, anything else is Other. Pure. */
export function reasonLabel(reason: string): string {
  return KNOWN_REASONS.has(reason) ? reason : 'Other';
}

/** A StepObserver for one kind: each step's duration in the histogram and a debug line in the log. */
export function stepObserver(kind: ControllerKind, metrics: Metrics, log: Log): StepObserver {
  return (step) => {
    const end = metrics.stepDuration.startTimer({ kind, step });
    return (outcome) => {
      const seconds = end();
      log({ level: 'debug', msg: 'step', step, outcome, ms: Math.round(seconds * 1000) });
    };
  };
}

/**
 * One controller: `concurrency` workers taking keys from `queue`, leader-only (and, sharded, only
 * for the keys `gate` admits). Every reconcile runs
 * with its kind, key and a reconcile id in the log context, and is counted and timed; failures are
 * counted by reason (a bounded label) and logged.
 */
export function controller(
  kind: ControllerKind,
  queue: WorkQueue,
  reconcile: Reconcile,
  opts: { concurrency: number; metrics: Metrics; log: Log; gate?: Gate },
): Runnable {
  const { metrics, log, gate } = opts;
  const counted: Reconcile = (key) =>
    logContext.run({ kind, key, reconcileId: randomBytes(6).toString('hex') }, async () => {
      const end = metrics.reconcileDuration.startTimer({ kind });
      try {
        const result = await reconcile(key);
        metrics.reconcileTotal.inc({ kind, result: 'success' });
        log({ level: 'debug', msg: 'reconciled', requeueAfterMs: result.requeueAfterMs });
        return result;
      } catch (err) {
        const result =
          err instanceof StalledError ? 'stalled' : err instanceof WaitingError ? 'waiting' : 'error';
        metrics.reconcileTotal.inc({ kind, result });
        if (result !== 'waiting')
          metrics.reconcileErrors.inc({
            kind,
            reason: reasonLabel(describeFailure(err, REASON.Progressing).reason),
          });
        throw err;
      } finally {
        end();
        metrics.workqueueDepth.set({ kind }, queue.length);
      }
    });
  // A key this replica does not write (another shard's) is dropped: its owner has it in its queue.
  const instrumented: Reconcile = gate
    ? async (key) => {
        const done = gate(key);
        if (!done) return {};
        try {
          return await counted(key);
        } finally {
          done();
        }
      }
    : counted;
  const onError = (key: string, err: unknown, retryInMs: number | undefined) => {
    const { reason, message } = describeFailure(err, REASON.Progressing);
    if (retryInMs !== undefined) metrics.workqueueRetries.inc({ kind });
    log({ level: 'warn', msg: 'reconcile failed', kind, key, reason, error: message, retryInMs });
  };
  return {
    name: `${kind} workers`,
    group: 'leader',
    start: () => runWorkers(queue, opts.concurrency, instrumented, { onError }),
    async stop() {
      queue.shutDown();
    },
  };
}
