/**
 * One autoscaled app's decision, as the HPA's `reconcileAutoscaler` makes it (autoscaling.md §1.3–1.10):
 * the paused and out-of-range rules, every metric through the replica calculator (largest proposal
 * wins; a failed metric forbids a scale-down; all failed means no action), normalisation (legacy or
 * `behavior`), and the conditions and events HPA reports. Pure: the clock is the observation's `now`,
 * and the state goes in and comes out.
 */
import type { AutoscalingPolicy, MetricSpec, ScalingBehavior } from '../api/app-group.ts';
import { formatMilli, parseMilli } from '../api/quantity.ts';
import {
  type AutoscalerState,
  type Behavior,
  defaultBehavior,
  normalizeLegacy,
  normalizeWithBehavior,
  type ScalingRules,
  scaleDownLimit,
  storeScaleEvent,
} from './normalize.ts';
import {
  averageOfValueReplicas,
  averageValueReplicas,
  CalculatorError,
  type CalculatorOptions,
  DEFAULT_TOLERANCE,
  type PodInfo,
  type PodPhase,
  type PodSample,
  resourceUtilizationReplicas,
  type Tolerance,
  valueReplicas,
} from './replica-calculator.ts';

/** The controller-manager flags that shape every decision, with their defaults. */
export interface EngineOptions {
  tolerance: Tolerance;
  cpuInitializationPeriodMs: number;
  initialReadinessDelayMs: number;
  downscaleStabilizationMs: number;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  tolerance: DEFAULT_TOLERANCE,
  cpuInitializationPeriodMs: 300_000,
  initialReadinessDelayMs: 30_000,
  downscaleStabilizationMs: 300_000,
};

/** Amounts of the resources an autoscaler and a budget count, in milli-units. */
export type ResourceAmounts = { cpu?: number; memory?: number };
export const RESOURCES = ['cpu', 'memory'] as const;

/** One pod of the target as observed: its state, its requests and its usage (milli-units, pod totals). */
export interface PodObservation {
  name: string;
  phase: PodPhase;
  deleting?: boolean;
  ready?: { status: boolean; lastTransitionTime: Date };
  startTime?: Date;
  requests?: ResourceAmounts;
  usage?: ResourceAmounts;
  usageTimestamp?: Date;
  usageWindowMs?: number;
}

/** A Prometheus or Pods metric as read: one number, one number per pod, or a failure. Milli-units. */
export type MetricReading = { value: number } | { perPod: ReadonlyMap<string, number> } | { error: string };

export interface AppObservation {
  now: Date;
  /** The scale subresource's spec.replicas. */
  currentReplicas: number;
  /** The scale subresource's status.replicas (per-pod Prometheus targets divide by it). */
  statusReplicas: number;
  pods: readonly PodObservation[];
  /** Per metric of the policy, in order; Resource metrics read the pods and may carry a fetch error. */
  readings: readonly (MetricReading | undefined)[];
}

export interface HpaCondition {
  type: 'AbleToScale' | 'ScalingActive' | 'ScalingLimited';
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastTransitionTime: Date;
}

export interface AppState extends AutoscalerState {
  /** The first decision has recorded its initial recommendation (HPA's recordInitialRecommendation). */
  initialized: boolean;
  conditions: HpaCondition[];
  lastScaleTime?: Date;
}

export const initialState = (): AppState => ({
  recommendations: [],
  scaleUpEvents: [],
  scaleDownEvents: [],
  initialized: false,
  conditions: [],
});

export interface EngineEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface MetricResult {
  type: MetricSpec['type'];
  name: string;
  target: { type: string; averageUtilization?: number; averageValue?: string; value?: string };
  current?: { averageUtilization?: number; averageValue?: string; value?: string };
  /** The replicas this metric alone proposes. */
  replicas?: number;
  error?: string;
}

export interface AppDecision {
  /** ScalingLimited as it was before this decision (a budget limit keeps its transition time). */
  previousLimited?: HpaCondition;
  currentReplicas: number;
  /** The count the app wants after normalisation (before any group budget). */
  desiredReplicas: number;
  /** The lowest count the app's own rules let a budget hold it to (min, scale-down limits). */
  floorReplicas: number;
  /** Why it would rescale ("cpu resource utilization (percentage of request) above target"...). */
  reason: string;
  /** False when the decision is to leave the count alone whatever it is (paused, metrics failed). */
  active: boolean;
  metrics: MetricResult[];
  events: EngineEvent[];
  state: AppState;
}

/** A policy with the defaults filled in and its targets parsed. */
export interface ResolvedPolicy {
  minReplicas: number;
  maxReplicas: number;
  metrics: MetricSpec[];
  /** Undefined: HPA's legacy path. */
  behavior: Behavior | undefined;
  tolerance: Tolerance;
}

/** Defaults as the API server and controller-manager give an HPA (autoscaling.md §1.2, §1.6). Pure. */
export function resolvePolicy(
  p: AutoscalingPolicy,
  o: EngineOptions = DEFAULT_ENGINE_OPTIONS,
): ResolvedPolicy {
  const metrics: MetricSpec[] = p.metrics?.length
    ? p.metrics
    : [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
        },
      ];
  const behavior = p.behavior ? resolveBehavior(p.behavior, o.downscaleStabilizationMs / 1000) : undefined;
  const tolerance = {
    scaleUp: tol(p.behavior?.scaleUp?.tolerance) ?? o.tolerance.scaleUp,
    scaleDown: tol(p.behavior?.scaleDown?.tolerance) ?? o.tolerance.scaleDown,
  };
  return { minReplicas: p.minReplicas ?? 1, maxReplicas: p.maxReplicas, metrics, behavior, tolerance };
}

const tol = (q: string | number | undefined) => (q === undefined ? undefined : parseMilli(q) / 1000);

function resolveBehavior(b: ScalingBehavior, downscaleSeconds: number): Behavior {
  const rules = (r: ScalingBehavior['scaleUp']): Partial<ScalingRules> | undefined =>
    r && {
      ...(r.stabilizationWindowSeconds !== undefined
        ? { stabilizationWindowSeconds: r.stabilizationWindowSeconds }
        : {}),
      ...(r.selectPolicy ? { selectPolicy: r.selectPolicy } : {}),
      ...(r.policies?.length ? { policies: r.policies } : {}),
    };
  const scaleUp = rules(b.scaleUp);
  const scaleDown = rules(b.scaleDown);
  return defaultBehavior(
    { ...(scaleUp ? { scaleUp } : {}), ...(scaleDown ? { scaleDown } : {}) },
    downscaleSeconds,
  );
}

/** HPA's `setConditionInList`: the transition time moves only when the status does. Pure. */
export function setCondition(
  list: readonly HpaCondition[],
  type: HpaCondition['type'],
  status: boolean,
  reason: string,
  message: string,
  now: Date,
): HpaCondition[] {
  const s = status ? 'True' : 'False';
  const old = list.find((c) => c.type === type);
  const next: HpaCondition = {
    type,
    status: s,
    reason,
    message,
    lastTransitionTime: old && old.status === s ? old.lastTransitionTime : now,
  };
  return old ? list.map((c) => (c === old ? next : c)) : [...list, next];
}

const LIMIT_MESSAGES: Record<string, string> = {
  DesiredWithinRange: 'the desired count is within the acceptable range',
  ScaleUpLimit: 'the desired replica count is increasing faster than the maximum scale rate',
  ScaleDownLimit: 'the desired replica count is decreasing faster than the maximum scale rate',
  TooManyReplicas: 'the desired replica count is more than the maximum replica count',
  TooFewReplicas: 'the desired replica count is less than the minimum replica count',
};

const ABLE_MESSAGES: Record<string, string> = {
  ReadyForNewScale: 'recommended size matches current size',
  ScaleUpStabilized:
    'recent recommendations were lower than current one, applying the lowest recent recommendation',
  ScaleDownStabilized:
    'recent recommendations were higher than current one, applying the highest recent recommendation',
};

const FAILURE_REASON: Record<MetricSpec['type'], string> = {
  Resource: 'FailedGetResourceMetric',
  Pods: 'FailedGetPodsMetric',
  Prometheus: 'FailedGetExternalMetric',
};

/** The name HPA gives a metric in reasons and messages. */
export function metricName(m: MetricSpec): string {
  if (m.type === 'Resource') {
    const r = m.resource;
    return r?.target.type === 'Utilization'
      ? `${r.name} resource utilization (percentage of request)`
      : `${r?.name} resource`;
  }
  if (m.type === 'Pods') return `pods metric ${m.pods?.query}`;
  return `prometheus metric ${m.prometheus?.query}`;
}

function targetOf(m: MetricSpec): MetricResult['target'] {
  const t = (m.resource ?? m.pods ?? m.prometheus)?.target;
  if (!t) throw new CalculatorError(`metric of type ${m.type} has no ${m.type.toLowerCase()} source`);
  if (t.type === 'Utilization') return { type: t.type, averageUtilization: t.averageUtilization ?? 0 };
  if (t.type === 'AverageValue')
    return { type: t.type, averageValue: formatMilli(parseMilli(t.averageValue ?? 0)) };
  return { type: t.type, value: formatMilli(parseMilli(t.value ?? 0)) };
}

function calculatorPods(pods: readonly PodObservation[], resource?: 'cpu' | 'memory'): PodInfo[] {
  return pods.map((p) => ({
    name: p.name,
    phase: p.phase,
    ...(p.deleting ? { deleting: true } : {}),
    ...(p.ready ? { ready: p.ready } : {}),
    ...(p.startTime ? { startTime: p.startTime } : {}),
    ...(resource && p.requests?.[resource] !== undefined ? { request: p.requests[resource] } : {}),
  }));
}

/** One metric's proposal (upstream `computeReplicasForMetric`); throws CalculatorError on failure. */
function proposeForMetric(
  m: MetricSpec,
  reading: MetricReading | undefined,
  policy: ResolvedPolicy,
  obs: AppObservation,
  options: EngineOptions,
): MetricResult {
  const name = metricName(m);
  const target = targetOf(m);
  const result: MetricResult = { type: m.type, name, target };
  const calc: CalculatorOptions = {
    now: obs.now,
    tolerance: policy.tolerance,
    cpuInitializationPeriodMs: options.cpuInitializationPeriodMs,
    initialReadinessDelayMs: options.initialReadinessDelayMs,
  };
  if (reading && 'error' in reading) throw new CalculatorError(reading.error);
  const current = obs.currentReplicas;
  if (m.type === 'Resource') {
    const resource = m.resource?.name;
    if (resource !== 'cpu' && resource !== 'memory')
      throw new CalculatorError(`unsupported resource ${String(resource)}`);
    const samples = new Map<string, PodSample>();
    for (const p of obs.pods) {
      const value = p.usage?.[resource];
      if (value === undefined) continue;
      samples.set(p.name, {
        value,
        timestamp: p.usageTimestamp ?? obs.now,
        windowMs: p.usageWindowMs ?? 0,
      });
    }
    const pods = calculatorPods(obs.pods, resource);
    if (target.type === 'Utilization') {
      const r = resourceUtilizationReplicas(
        current,
        target.averageUtilization ?? 0,
        resource,
        pods,
        samples,
        calc,
      );
      result.current = { averageUtilization: r.utilization ?? 0, averageValue: formatMilli(r.average) };
      result.replicas = r.replicas;
    } else {
      const want = parseMilli(target.averageValue ?? 0);
      const r = averageValueReplicas(current, want, resource, pods, samples, calc);
      result.current = { averageValue: formatMilli(r.average) };
      result.replicas = r.replicas;
    }
    return result;
  }
  if (!reading) throw new CalculatorError(`no value for ${name}`);
  if (m.type === 'Pods') {
    if (!('perPod' in reading)) throw new CalculatorError(`${name} did not return one sample per pod`);
    const samples = new Map<string, PodSample>();
    for (const [pod, value] of reading.perPod) samples.set(pod, { value, timestamp: obs.now, windowMs: 0 });
    const r = averageValueReplicas(
      current,
      parseMilli(target.averageValue ?? 0),
      undefined,
      calculatorPods(obs.pods),
      samples,
      calc,
    );
    result.current = { averageValue: formatMilli(r.average) };
    result.replicas = r.replicas;
    return result;
  }
  if (!('value' in reading)) throw new CalculatorError(`${name} did not return one number`);
  const usage = reading.value;
  if (target.type === 'Value') {
    const ready = obs.pods.filter((p) => p.phase === 'Running' && p.ready?.status).length;
    if (current !== 0 && obs.pods.length === 0)
      throw new CalculatorError('no pods returned by selector while calculating replica count');
    result.replicas = valueReplicas(current, usage, parseMilli(target.value ?? 0), ready, policy.tolerance);
    result.current = { value: formatMilli(usage) };
    return result;
  }
  const r = averageOfValueReplicas(
    obs.statusReplicas,
    usage,
    parseMilli(target.averageValue ?? 0),
    policy.tolerance,
  );
  result.replicas = r.replicas;
  result.current = Number.isFinite(r.average) ? { averageValue: formatMilli(r.average) } : {};
  return result;
}

/** Upstream `computeReplicasForMetrics`: the largest valid proposal, or -1 when none may be acted on. */
function proposeForMetrics(
  policy: ResolvedPolicy,
  obs: AppObservation,
  options: EngineOptions,
  state: AppState,
) {
  const metrics: MetricResult[] = [];
  const events: EngineEvent[] = [];
  let replicas = 0;
  let metric = '';
  let invalid = 0;
  let firstFailure: { reason: string; message: string } | undefined;
  policy.metrics.forEach((m, i) => {
    try {
      const r = proposeForMetric(m, obs.readings[i], policy, obs, options);
      metrics.push(r);
      if (replicas === 0 || (r.replicas ?? 0) > replicas) {
        replicas = r.replicas ?? 0;
        metric = r.name;
      }
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      invalid++;
      const reason = FAILURE_REASON[m.type];
      const message = `the HPA was unable to compute the replica count: ${error}`;
      firstFailure ??= { reason, message };
      events.push({ type: 'Warning', reason, message: error });
      metrics.push({ type: m.type, name: metricName(m), target: safeTarget(m), error });
    }
  });
  let conditions = state.conditions;
  if (firstFailure && (invalid >= policy.metrics.length || replicas < obs.currentReplicas)) {
    conditions = setCondition(
      conditions,
      'ScalingActive',
      false,
      firstFailure.reason,
      firstFailure.message,
      obs.now,
    );
    const message = `invalid metrics (${invalid} invalid out of ${policy.metrics.length}), first error is: ${firstFailure.message.replace(/^the HPA was unable to compute the replica count: /, '')}`;
    events.push({ type: 'Warning', reason: 'FailedComputeMetricsReplicas', message });
    return { replicas: -1, metric, metrics, events, conditions };
  }
  conditions = setCondition(
    conditions,
    'ScalingActive',
    true,
    'ValidMetricFound',
    `the HPA was able to successfully calculate a replica count from ${metric}`,
    obs.now,
  );
  return { replicas, metric, metrics, events, conditions };
}

function safeTarget(m: MetricSpec): MetricResult['target'] {
  try {
    return targetOf(m);
  } catch {
    return { type: 'Unknown' };
  }
}

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
  let conditions = setCondition(
    state.conditions,
    'AbleToScale',
    true,
    'SucceededGetScale',
    "the HPA controller was able to get the target's current scale",
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
    conditions = setCondition(
      conditions,
      'ScalingActive',
      false,
      'ScalingDisabled',
      'scaling is disabled since the replica count of the target is zero',
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
    ? normalizeWithBehavior(s, policy.behavior, current, desired, min, max, now)
    : normalizeLegacy(s, current, desired, min, max, now, options.downscaleStabilizationMs);
  desired = n.replicas;
  conditions = setCondition(s.conditions, 'AbleToScale', true, n.able, ABLE_MESSAGES[n.able] ?? '', now);
  conditions = setCondition(
    conditions,
    'ScalingLimited',
    n.limited !== 'DesiredWithinRange',
    n.limited,
    LIMIT_MESSAGES[n.limited] ?? '',
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
      conditions: setCondition(
        before,
        'ScalingLimited',
        true,
        'GroupBudgetLimit',
        `the group budget allows ${replicas} of the ${d.desiredReplicas} replicas recommended`,
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
      reason: 'FailedRescale',
      message: `New size: ${replicas}; reason: ${reason}; error: ${writeError}`,
    });
    state = {
      ...state,
      conditions: setCondition(
        state.conditions,
        'AbleToScale',
        false,
        'FailedUpdateScale',
        `the HPA controller was unable to update the target scale: ${writeError}`,
        now,
      ),
    };
    return { replicas: d.currentReplicas, rescaled: false, reason, events, state };
  }
  events.push({
    type: 'Normal',
    reason: 'SuccessfulRescale',
    message: `New size: ${replicas}; reason: ${reason}`,
  });
  state = {
    ...state,
    lastScaleTime: now,
    conditions: setCondition(
      state.conditions,
      'AbleToScale',
      true,
      'SucceededRescale',
      `the HPA controller was able to update the target scale to ${replicas}`,
      now,
    ),
  };
  if (policy.behavior)
    state = { ...state, ...storeScaleEvent(state, policy.behavior, d.currentReplicas, replicas, now) };
  return { replicas, rescaled: true, reason, events, state };
}
