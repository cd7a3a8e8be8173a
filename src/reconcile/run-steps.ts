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
 * Runs `steps` in order against one context. Stops at the first error (rethrown, with the step name
 * added to nothing: the error classes carry their own reason) or at a step that returns `stop`, and
 * merges the results otherwise (fluxcd/source-controller's list of reconcilers).
 */
export async function runSteps<C>(steps: readonly Step<C>[], ctx: C): Promise<StepResult> {
  let merged: StepResult = {};
  for (const step of steps) {
    const result = await step.run(ctx);
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
): Promise<StepResult> {
  let failure: unknown;
  let result: StepResult = {};
  try {
    result = await runSteps(steps, ctx);
  } catch (err) {
    failure = err;
  } finally {
    if (!result.stop) await report(failure);
  }
  if (failure !== undefined) throw failure;
  return result;
}
