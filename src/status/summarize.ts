import { CONDITION, REASON, type Reason } from '../api/conditions.ts';
import type { Condition } from '../api/meta.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import { StalledError } from '../runtime/errors/stalled-error.ts';
import { removeCondition, sanitizeMessage, setCondition } from './conditions.ts';

/** kstatus conditions after a successful reconcile: Ready=True; no Reconciling, no Stalled. Pure. */
export function summarizeSuccess(
  conditions: readonly Condition[],
  reason: Reason,
  message: string,
  generation: number,
  now: Date,
): Condition[] {
  const ready = setCondition(
    conditions,
    { type: CONDITION.Ready, status: 'True', reason, message },
    generation,
    now,
  );
  return removeCondition(removeCondition(ready, CONDITION.Reconciling), CONDITION.Stalled);
}

/** The reason and a sanitised message of any thrown value. Pure. */
export function describeFailure(err: unknown, fallback: Reason): { reason: string; message: string } {
  if (err instanceof ReconcileError) return { reason: err.reason, message: sanitizeMessage(err.message) };
  return { reason: fallback, message: sanitizeMessage(err instanceof Error ? err.message : String(err)) };
}

/**
 * kstatus conditions after a failure: Ready=False with the error's reason; Stalled=True for a
 * StalledError (no retry until the spec changes), otherwise Reconciling=True (retrying). Pure.
 */
export function summarizeFailure(
  conditions: readonly Condition[],
  err: unknown,
  generation: number,
  now: Date,
  fallback: Reason = REASON.Progressing,
): Condition[] {
  const { reason, message } = describeFailure(err, fallback);
  const r = reason as Reason;
  let next = setCondition(
    conditions,
    { type: CONDITION.Ready, status: 'False', reason: r, message },
    generation,
    now,
  );
  if (err instanceof StalledError) {
    next = setCondition(
      next,
      { type: CONDITION.Stalled, status: 'True', reason: r, message },
      generation,
      now,
    );
    return removeCondition(next, CONDITION.Reconciling);
  }
  next = setCondition(
    next,
    { type: CONDITION.Reconciling, status: 'True', reason: REASON.Progressing, message: 'retrying' },
    generation,
    now,
  );
  return removeCondition(next, CONDITION.Stalled);
}
