import { REASON } from '../api/conditions.ts';
import { setHpaCondition } from './hpa-conditions.ts';
import { storeScaleEvent } from './normalize.ts';
import type { AppDecision, AppState, EngineEvent, ResolvedPolicy } from './types.ts';

export interface Settled {
  /** The count written (or left). */
  replicas: number;
  rescaled: boolean;
  /** Why it rescaled (HPA's rescale reason, or the group budget); the decision's reason otherwise. */
  reason: string;
  events: EngineEvent[];
  state: AppState;
}

/**
 * After the write (or the decision not to write): HPA's rescale bookkeeping. `replicas` is the count
 * decided, after the group budget; `budgetLimited` says the budget held it below `desiredReplicas`;
 * `writeError` is the scale write's failure. Pure.
 */
export function settle(
  policy: ResolvedPolicy,
  d: AppDecision,
  replicas: number,
  now: Date,
  writeError?: string,
): Settled {
  let state = d.state;
  const events = [...d.events];
  if (replicas < d.desiredReplicas) {
    // Judged against the condition before this decision, so a budget limit that lasts keeps its time.
    const before = state.conditions
      .filter((c) => c.type !== 'ScalingLimited')
      .concat(d.previousLimited ? [d.previousLimited] : []);
    state = {
      ...state,
      conditions: setHpaCondition(
        before,
        {
          type: 'ScalingLimited',
          status: true,
          reason: 'GroupBudgetLimit',
          message: `the group budget allows ${replicas} of the ${d.desiredReplicas} replicas recommended`,
        },
        now,
      ),
    };
  }
  if (!d.active || replicas === d.currentReplicas)
    return { replicas: d.currentReplicas, rescaled: false, reason: d.reason, events, state };
  const reason =
    replicas < d.desiredReplicas && replicas < d.currentReplicas ? 'group budget limit' : d.reason;
  if (writeError !== undefined) {
    events.push({
      type: 'Warning',
      reason: REASON.FailedRescale,
      message: `New size: ${replicas}; reason: ${reason}; error: ${writeError}`,
    });
    state = {
      ...state,
      conditions: setHpaCondition(
        state.conditions,
        {
          type: 'AbleToScale',
          status: false,
          reason: 'FailedUpdateScale',
          message: `the HPA controller was unable to update the target scale: ${writeError}`,
        },
        now,
      ),
    };
    return { replicas: d.currentReplicas, rescaled: false, reason, events, state };
  }
  events.push({
    type: 'Normal',
    reason: REASON.SuccessfulRescale,
    message: `New size: ${replicas}; reason: ${reason}`,
  });
  state = {
    ...state,
    lastScaleTime: now,
    conditions: setHpaCondition(
      state.conditions,
      {
        type: 'AbleToScale',
        status: true,
        reason: 'SucceededRescale',
        message: `the HPA controller was able to update the target scale to ${replicas}`,
      },
      now,
    ),
  };
  if (policy.behavior)
    state = { ...state, ...storeScaleEvent(state, policy.behavior, d.currentReplicas, replicas, now) };
  return { replicas, rescaled: true, reason, events, state };
}
