/**
 * What the HPA does with a desired count before it acts on it (autoscaling.md §1.7–1.8): the legacy
 * path (downscale stabilisation, 2×/4 scale-up cap) and the `behavior` path (two-sided stabilisation
 * windows, Pods/Percent policies over past scale events, selectPolicy). Pure: the state goes in and
 * the next state comes out.
 */

export interface Recommendation {
  replicas: number;
  time: Date;
}

export interface ScaleEvent {
  change: number;
  time: Date;
  outdated?: boolean;
}

export interface ScalingPolicy {
  type: 'Pods' | 'Percent';
  value: number;
  periodSeconds: number;
}

export interface ScalingRules {
  stabilizationWindowSeconds: number;
  selectPolicy: 'Max' | 'Min' | 'Disabled';
  policies: ScalingPolicy[];
}

export interface Behavior {
  scaleUp: ScalingRules;
  scaleDown: ScalingRules;
}

export interface AutoscalerState {
  recommendations: Recommendation[];
  scaleUpEvents: ScaleEvent[];
  scaleDownEvents: ScaleEvent[];
}

export type LimitReason =
  | 'DesiredWithinRange'
  | 'ScaleUpLimit'
  | 'ScaleDownLimit'
  | 'TooManyReplicas'
  | 'TooFewReplicas';
export type AbleReason = 'ReadyForNewScale' | 'ScaleUpStabilized' | 'ScaleDownStabilized';

export interface Normalized {
  replicas: number;
  /** AbleToScale=True with this reason. */
  able: AbleReason;
  /** ScalingLimited: True unless DesiredWithinRange. */
  limited: LimitReason;
  state: AutoscalerState;
}

/** The API server's defaults for a partial or empty `behavior` (scale-down window from the flag). */
export function defaultBehavior(
  partial: { scaleUp?: Partial<ScalingRules>; scaleDown?: Partial<ScalingRules> } = {},
  downscaleStabilizationSeconds = 300,
): Behavior {
  return {
    scaleUp: {
      stabilizationWindowSeconds: partial.scaleUp?.stabilizationWindowSeconds ?? 0,
      selectPolicy: partial.scaleUp?.selectPolicy ?? 'Max',
      policies: partial.scaleUp?.policies ?? [
        { type: 'Pods', value: 4, periodSeconds: 15 },
        { type: 'Percent', value: 100, periodSeconds: 15 },
      ],
    },
    scaleDown: {
      stabilizationWindowSeconds:
        partial.scaleDown?.stabilizationWindowSeconds ?? downscaleStabilizationSeconds,
      selectPolicy: partial.scaleDown?.selectPolicy ?? 'Max',
      policies: partial.scaleDown?.policies ?? [{ type: 'Percent', value: 100, periodSeconds: 15 }],
    },
  };
}

/** Stores `desired` in the last slot older than every window, else appends (upstream reuse). */
function record(recs: Recommendation[], reusable: number, desired: number, now: Date): Recommendation[] {
  const next = [...recs];
  if (reusable >= 0) next[reusable] = { replicas: desired, time: now };
  else next.push({ replicas: desired, time: now });
  return next;
}

/** What a count is normalised from: the current and proposed counts, the bounds, the time. */
export interface NormalizeInput {
  current: number;
  desired: number;
  min: number;
  max: number;
  now: Date;
}

/** Upstream `normalizeDesiredReplicas` (no `behavior`). */
export function normalizeLegacy(
  state: AutoscalerState,
  input: NormalizeInput & { downscaleWindowMs: number },
): Normalized {
  const { current, desired, min, max, now, downscaleWindowMs } = input;
  let stabilized = desired;
  let reusable = -1;
  state.recommendations.forEach((rec, i) => {
    if (rec.time.getTime() < now.getTime() - downscaleWindowMs) reusable = i;
    else if (rec.replicas > stabilized) stabilized = rec.replicas;
  });
  const recommendations = record(state.recommendations, reusable, desired, now);
  const able: AbleReason = stabilized !== desired ? 'ScaleDownStabilized' : 'ReadyForNewScale';
  const scaleUpLimit = Math.max(2 * current, 4);
  const [maxAllowed, limReason]: [number, LimitReason] =
    max > scaleUpLimit ? [scaleUpLimit, 'ScaleUpLimit'] : [max, 'TooManyReplicas'];
  let replicas = stabilized;
  let limited: LimitReason = 'DesiredWithinRange';
  if (stabilized < min) [replicas, limited] = [min, 'TooFewReplicas'];
  else if (stabilized > maxAllowed) [replicas, limited] = [maxAllowed, limReason];
  return { replicas, able, limited, state: { ...state, recommendations } };
}

const changedSince = (events: readonly ScaleEvent[], since: number) =>
  events.filter((e) => e.time.getTime() > since).reduce((sum, e) => sum + e.change, 0);

/**
 * The furthest a direction's policies let the count move from the replicas at the start of each
 * policy's period: up by Pods or a Percent (rounded up), down by Pods or a Percent (truncated).
 * selectPolicy Max picks the largest change, Min the smallest; Disabled allows none.
 */
function policyLimit(
  current: number,
  s: AutoscalerState,
  rules: ScalingRules,
  now: Date,
  up: boolean,
): number {
  if (rules.selectPolicy === 'Disabled') return current;
  // The largest change upwards is the highest count; downwards, the lowest.
  const highest = (rules.selectPolicy === 'Max') === up;
  let limit = highest ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  for (const p of rules.policies) {
    const since = now.getTime() - p.periodSeconds * 1000;
    const start = current - changedSince(s.scaleUpEvents, since) + changedSince(s.scaleDownEvents, since);
    const proposed = up
      ? p.type === 'Pods'
        ? start + p.value
        : Math.ceil(start * (1 + p.value / 100))
      : p.type === 'Pods'
        ? start - p.value
        : Math.trunc(start * (1 - p.value / 100));
    limit = highest ? Math.max(limit, proposed) : Math.min(limit, proposed);
  }
  return limit;
}

/** Upstream `calculateScaleUpLimitWithScalingRules`. */
export const scaleUpLimit = (current: number, s: AutoscalerState, rules: ScalingRules, now: Date) =>
  policyLimit(current, s, rules, now, true);

/** Upstream `calculateScaleDownLimitWithBehaviors`. */
export const scaleDownLimit = (current: number, s: AutoscalerState, rules: ScalingRules, now: Date) =>
  policyLimit(current, s, rules, now, false);

/** Upstream `normalizeDesiredReplicasWithBehaviors`. */
export function normalizeWithBehavior(
  state: AutoscalerState,
  behavior: Behavior,
  input: NormalizeInput,
): Normalized {
  const { current, desired, min, max, now } = input;
  const upCut = now.getTime() - behavior.scaleUp.stabilizationWindowSeconds * 1000;
  const downCut = now.getTime() - behavior.scaleDown.stabilizationWindowSeconds * 1000;
  let upRec = desired;
  let downRec = desired;
  let reusable = -1;
  state.recommendations.forEach((rec, i) => {
    const t = rec.time.getTime();
    if (t > upCut) upRec = Math.min(upRec, rec.replicas);
    if (t > downCut) downRec = Math.max(downRec, rec.replicas);
    if (t < upCut && t < downCut) reusable = i;
  });
  let stabilized = current;
  if (stabilized < upRec) stabilized = upRec;
  if (stabilized > downRec) stabilized = downRec;
  const recommendations = record(state.recommendations, reusable, desired, now);
  const able: AbleReason =
    stabilized !== desired
      ? desired >= current
        ? 'ScaleUpStabilized'
        : 'ScaleDownStabilized'
      : 'ReadyForNewScale';
  let replicas = stabilized;
  let limited: LimitReason = 'DesiredWithinRange';
  if (stabilized > current) {
    const limit = Math.max(current, scaleUpLimit(current, state, behavior.scaleUp, now));
    const [maxAllowed, reason]: [number, LimitReason] =
      max > limit ? [limit, 'ScaleUpLimit'] : [max, 'TooManyReplicas'];
    if (stabilized > maxAllowed) [replicas, limited] = [maxAllowed, reason];
  } else if (stabilized < current) {
    const limit = Math.min(current, scaleDownLimit(current, state, behavior.scaleDown, now));
    const [minAllowed, reason]: [number, LimitReason] =
      min < limit ? [limit, 'ScaleDownLimit'] : [min, 'TooFewReplicas'];
    if (stabilized < minAllowed) [replicas, limited] = [minAllowed, reason];
  }
  return { replicas, able, limited, state: { ...state, recommendations } };
}

/** Upstream `storeScaleEvent`: after a rescale with `behavior`, remember the change for the policies. */
export function storeScaleEvent(
  state: AutoscalerState,
  behavior: Behavior,
  previous: number,
  next: number,
  now: Date,
): AutoscalerState {
  if (next === previous) return state;
  const up = next > previous;
  const rules = up ? behavior.scaleUp : behavior.scaleDown;
  const longest = Math.max(0, ...rules.policies.map((p) => p.periodSeconds)) * 1000;
  const events = (up ? state.scaleUpEvents : state.scaleDownEvents).map((e) => ({
    ...e,
    outdated: e.outdated || e.time.getTime() < now.getTime() - longest,
  }));
  const event = { change: Math.abs(next - previous), time: now, outdated: false };
  const lastOutdated = events.map((e) => e.outdated).lastIndexOf(true);
  if (lastOutdated >= 0) events[lastOutdated] = event;
  else events.push(event);
  return up ? { ...state, scaleUpEvents: events } : { ...state, scaleDownEvents: events };
}
