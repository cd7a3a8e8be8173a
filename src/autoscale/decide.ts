/**
 * One autoscaled app's decision, as the HPA's `reconcileAutoscaler` makes it (autoscaling.md §1.3–1.10):
 * the paused and out-of-range rules, every metric through the replica calculator (largest proposal
 * wins; a failed metric forbids a scale-down; all failed means no action), normalisation (legacy or
 * `behavior`), and the conditions and events HPA reports. Pure: the clock is the observation's `now`,
 * and the state goes in and comes out.
 */
import { ABLE_MESSAGES, LIMIT_MESSAGES, setHpaCondition } from './hpa-conditions.ts';
import { type AutoscalerState, normalizeLegacy, normalizeWithBehavior, scaleDownLimit } from './normalize.ts';
import { proposeForMetrics } from './propose.ts';
import {
  type AppDecision,
  type AppObservation,
  type AppState,
  DEFAULT_ENGINE_OPTIONS,
  type EngineOptions,
  type ResolvedPolicy,
} from './types.ts';

/**
 * The lowest count a group budget may hold an app to now: its minimum, or what its scale-down
 * policies allow from the current count (the legacy path has no scale-down rate). Pure.
 */
function floorOf(
  policy: ResolvedPolicy,
  state: AutoscalerState,
  current: number,
  desired: number,
  now: Date,
) {
  const limit = policy.behavior
    ? Math.min(current, scaleDownLimit(current, state, policy.behavior.scaleDown, now))
    : 0;
  return Math.min(desired, Math.max(policy.minReplicas, limit));
}

/**
 * Upstream `reconcileAutoscaler`, up to the write: what the app wants and why. The scale write, its
 * event and the scale-event record come from `settle`, once the group budget has had its say. Pure.
 */
export function decide(
  policy: ResolvedPolicy,
  state: AppState,
  obs: AppObservation,
  options: EngineOptions = DEFAULT_ENGINE_OPTIONS,
): AppDecision {
  const { now, currentReplicas: current } = obs;
  const { minReplicas: min, maxReplicas: max } = policy;
  let conditions = setHpaCondition(
    state.conditions,
    {
      type: 'AbleToScale',
      status: true,
      reason: 'SucceededGetScale',
      message: "the HPA controller was able to get the target's current scale",
    },
    now,
  );
  // A new autoscaler starts from one recommendation of the current count (recordInitialRecommendation).
  let s: AppState = {
    ...state,
    conditions,
    initialized: true,
    recommendations: state.initialized
      ? state.recommendations
      : [...state.recommendations, { replicas: current, time: now }],
  };
  const previousLimited = state.conditions.find((c) => c.type === 'ScalingLimited');
  const hold = (extra: Partial<AppDecision> = {}): AppDecision => ({
    ...(previousLimited ? { previousLimited } : {}),
    currentReplicas: current,
    desiredReplicas: current,
    floorReplicas: current,
    reason: '',
    active: false,
    metrics: [],
    events: [],
    state: s,
    ...extra,
  });
  if (current === 0 && min !== 0) {
    conditions = setHpaCondition(
      conditions,
      {
        type: 'ScalingActive',
        status: false,
        reason: 'ScalingDisabled',
        message: 'scaling is disabled since the replica count of the target is zero',
      },
      now,
    );
    s = { ...s, conditions };
    return hold({ state: s });
  }
  if (current > max || current < min) {
    const desired = current > max ? max : min;
    return {
      ...hold(),
      desiredReplicas: desired,
      floorReplicas: desired,
      active: true,
      reason:
        current > max
          ? 'Current number of replicas above Spec.MaxReplicas'
          : 'Current number of replicas below Spec.MinReplicas',
    };
  }
  const proposed = proposeForMetrics(policy, obs, options, s);
  s = { ...s, conditions: proposed.conditions };
  if (proposed.replicas === -1) return hold({ metrics: proposed.metrics, events: proposed.events, state: s });
  let desired = proposed.replicas;
  let reason = '';
  if (desired > current) reason = `${proposed.metric} above target`;
  if (desired < current) reason = 'All metrics below target';
  const n = policy.behavior
    ? normalizeWithBehavior(s, policy.behavior, { current, desired, min, max, now })
    : normalizeLegacy(s, {
        current,
        desired,
        min,
        max,
        now,
        downscaleWindowMs: options.downscaleStabilizationMs,
      });
  desired = n.replicas;
  conditions = setHpaCondition(
    s.conditions,
    { type: 'AbleToScale', status: true, reason: n.able, message: ABLE_MESSAGES[n.able] ?? '' },
    now,
  );
  conditions = setHpaCondition(
    conditions,
    {
      type: 'ScalingLimited',
      status: n.limited !== 'DesiredWithinRange',
      reason: n.limited,
      message: LIMIT_MESSAGES[n.limited] ?? '',
    },
    now,
  );
  s = { ...s, recommendations: n.state.recommendations, conditions };
  return {
    ...hold(),
    currentReplicas: current,
    desiredReplicas: desired,
    floorReplicas: floorOf(policy, s, current, desired, now),
    reason,
    active: true,
    metrics: proposed.metrics,
    events: proposed.events,
    state: s,
  };
}
