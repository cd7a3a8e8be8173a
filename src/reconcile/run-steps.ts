/** What a step asks of the runner. */
export interface StepResult {
  /** Stop here without error (for example: suspended, or nothing changed). */
  stop?: boolean;
  /** Requeue the key after this delay; the runner keeps the smallest one asked for. */
  requeueAfterMs?: number;
}

export interface Step<C> {
  name: string;
  run: (ctx: C) => Promise<StepResult | undefined>;
}

/**
 * Told when each step starts; the function it returns is called when the step ends (its duration
 * goes to shoal_reconcile_step_duration_seconds{kind,step}, its name to the log).
 */
export type StepObserver = (step: string) => (outcome: 'ok' | 'error') => void;

/**
 * Runs `steps` in order against one context. Stops at the first error (rethrown, with the step name
 * added to nothing: the error classes carry their own reason) or at a step that returns `stop`, and
 * merges the results otherwise (fluxcd/source-controller's list of reconcilers).
 */
export async function runSteps<C>(
  steps: readonly Step<C>[],
  ctx: C,
  observer?: StepObserver,
): Promise<StepResult> {
  let merged: StepResult = {};
  for (const step of steps) {
    const done = observer?.(step.name);
    let result: StepResult | undefined;
    try {
      result = await step.run(ctx);
    } catch (err) {
      done?.('error');
      throw err;
    }
    done?.('ok');
    if (result?.requeueAfterMs !== undefined) {
      merged = {
        ...merged,
        requeueAfterMs: Math.min(merged.requeueAfterMs ?? Number.POSITIVE_INFINITY, result.requeueAfterMs),
      };
    }
    if (result?.stop) return { ...merged, stop: true };
  }
  return merged;
}

/**
 * Runs `steps` and then `report(failure)` exactly once, unless a step stopped the run: the one place
 * a reconcile writes its status, in `finally` (STYLE.md rule 3). Rethrows the failure afterwards so
 * the runtime can decide on the retry.
 */
export async function runAndReport<C>(
  steps: readonly Step<C>[],
  ctx: C,
  report: (failure: unknown) => Promise<void>,
  observer?: StepObserver,
): Promise<StepResult> {
  let failure: unknown;
  let result: StepResult = {};
  try {
    result = await runSteps(steps, ctx, observer);
  } catch (err) {
    failure = err;
  } finally {
    if (!result.stop) await report(failure);
  }
  if (failure !== undefined) throw failure;
  return result;
}
