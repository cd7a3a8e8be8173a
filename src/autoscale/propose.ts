/**
 * What each metric proposes (upstream `computeReplicasForMetric(s)`): the readings through the
 * replica calculator, the largest valid proposal, and HPA's ScalingActive condition. Pure.
 */
import type { MetricSpec } from '../api/app-group.ts';
import { REASON } from '../api/conditions.ts';
import { formatMilli, parseMilli } from '../api/quantity.ts';
import { FAILURE_REASON, setHpaCondition } from './hpa-conditions.ts';
import {
  averageOfValueReplicas,
  averageValueReplicas,
  CalculatorError,
  type CalculatorOptions,
  type PodInfo,
  type PodSample,
  resourceUtilizationReplicas,
  valueReplicas,
} from './replica-calculator.ts';
import type {
  AppObservation,
  AppState,
  EngineEvent,
  EngineOptions,
  MetricReading,
  MetricResult,
  PodObservation,
  ResolvedPolicy,
} from './types.ts';

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
export function proposeForMetrics(
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
    conditions = setHpaCondition(
      conditions,
      { type: 'ScalingActive', status: false, reason: firstFailure.reason, message: firstFailure.message },
      obs.now,
    );
    const message = `invalid metrics (${invalid} invalid out of ${policy.metrics.length}), first error is: ${firstFailure.message.replace(/^the HPA was unable to compute the replica count: /, '')}`;
    events.push({ type: 'Warning', reason: REASON.FailedComputeMetricsReplicas, message });
    return { replicas: -1, metric, metrics, events, conditions };
  }
  conditions = setHpaCondition(
    conditions,
    {
      type: 'ScalingActive',
      status: true,
      reason: 'ValidMetricFound',
      message: `the HPA was able to successfully calculate a replica count from ${metric}`,
    },
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
