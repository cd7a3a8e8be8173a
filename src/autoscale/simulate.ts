/**
 * The replay simulator behind `shoal autoscale simulate`: a scenario (a policy, options, history and
 * observed steps) through the same pure engine the operator runs, step by step, carrying the state.
 * Pure: JSON in, JSON out. The format is documented in the README ("Autoscaling").
 */
import type { AutoscalingPolicy, MetricSpec } from '../api/app-group.ts';
import { parseMilli } from '../api/quantity.ts';
import { allocate, type BudgetApp, budgetStatus } from './budget.ts';
import { decide } from './decide.ts';
import { resolvePolicy } from './policy.ts';
import { settle } from './settle.ts';
import {
  type AppDecision,
  type AppState,
  DEFAULT_ENGINE_OPTIONS,
  type EngineOptions,
  initialState,
  type MetricReading,
  type MetricResult,
  type PodObservation,
  type ResolvedPolicy,
  type ResourceAmounts,
} from './types.ts';

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function time(v: unknown, where: string): Date {
  const d = typeof v === 'string' ? new Date(v) : undefined;
  if (!d || Number.isNaN(d.getTime()))
    throw new ScenarioError(`${where}: ${JSON.stringify(v)} is not an RFC 3339 time`);
  return d;
}

function count(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw new ScenarioError(`${where}: ${JSON.stringify(v)} is not a replica count`);
  return v;
}

function quantity(v: unknown, where: string): number {
  if (typeof v === 'number' || typeof v === 'string') {
    try {
      return parseMilli(v);
    } catch {
      throw new ScenarioError(`${where}: ${JSON.stringify(v)} is not a quantity`);
    }
  }
  throw new ScenarioError(`${where}: ${JSON.stringify(v)} is not a number or a quantity`);
}

function resources(v: unknown, where: string): ResourceAmounts | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) throw new ScenarioError(`${where}: expected an object like {"cpu": "500m"}`);
  const out: ResourceAmounts = {};
  if (v.cpu !== undefined) out.cpu = quantity(v.cpu, `${where}.cpu`);
  if (v.memory !== undefined) out.memory = quantity(v.memory, `${where}.memory`);
  return out;
}

function options(v: unknown): EngineOptions {
  if (v === undefined) return DEFAULT_ENGINE_OPTIONS;
  if (!isObject(v)) throw new ScenarioError('options: expected an object');
  const seconds = (key: string, fallbackMs: number) => {
    const s = v[key];
    if (s === undefined) return fallbackMs;
    if (typeof s !== 'number' || s < 0) throw new ScenarioError(`options.${key}: expected seconds`);
    return s * 1000;
  };
  let tolerance = DEFAULT_ENGINE_OPTIONS.tolerance;
  const t = v.tolerance;
  if (typeof t === 'number') tolerance = { scaleUp: t, scaleDown: t };
  else if (isObject(t))
    tolerance = {
      scaleUp: typeof t.scaleUp === 'number' ? t.scaleUp : tolerance.scaleUp,
      scaleDown: typeof t.scaleDown === 'number' ? t.scaleDown : tolerance.scaleDown,
    };
  else if (t !== undefined)
    throw new ScenarioError('options.tolerance: a number or {"scaleUp", "scaleDown"}');
  return {
    tolerance,
    cpuInitializationPeriodMs: seconds(
      'cpuInitializationPeriodSeconds',
      DEFAULT_ENGINE_OPTIONS.cpuInitializationPeriodMs,
    ),
    initialReadinessDelayMs: seconds(
      'initialReadinessDelaySeconds',
      DEFAULT_ENGINE_OPTIONS.initialReadinessDelayMs,
    ),
    downscaleStabilizationMs: seconds(
      'downscaleStabilizationSeconds',
      DEFAULT_ENGINE_OPTIONS.downscaleStabilizationMs,
    ),
  };
}

function history(v: unknown, where: string): AppState {
  const state = initialState();
  if (v === undefined) return state;
  if (!isObject(v)) throw new ScenarioError(`${where}: expected an object`);
  const list = (key: string) => {
    const l = v[key] ?? [];
    if (!Array.isArray(l)) throw new ScenarioError(`${where}.${key}: expected an array`);
    return l as unknown[];
  };
  // Given recommendations (even none) replace the one a new autoscaler would seed.
  state.initialized = v.recommendations !== undefined;
  state.recommendations = list('recommendations').map((r, i) => {
    const e = isObject(r) ? r : {};
    return {
      replicas: count(e.replicas, `${where}.recommendations[${i}].replicas`),
      time: time(e.time, `${where}.recommendations[${i}].time`),
    };
  });
  const events = (key: string) =>
    list(key).map((r, i) => {
      const e = isObject(r) ? r : {};
      return {
        change: count(e.change, `${where}.${key}[${i}].change`),
        time: time(e.time, `${where}.${key}[${i}].time`),
      };
    });
  state.scaleUpEvents = events('scaleUpEvents');
  state.scaleDownEvents = events('scaleDownEvents');
  return state;
}

function pod(v: unknown, where: string, now: Date): PodObservation {
  if (!isObject(v) || typeof v.name !== 'string') throw new ScenarioError(`${where}: a pod needs a name`);
  const phase = (v.phase ?? 'Running') as PodObservation['phase'];
  if (!['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'].includes(phase))
    throw new ScenarioError(`${where}.phase: ${JSON.stringify(v.phase)} is not a pod phase`);
  const startTime =
    v.startTime === undefined ? new Date(now.getTime() - 3_600_000) : time(v.startTime, `${where}.startTime`);
  const p: PodObservation = { name: v.name, phase, startTime };
  if (v.deleting === true || v.deletionTimestamp !== undefined) p.deleting = true;
  if (v.ready !== null) {
    p.ready = {
      status: v.ready === undefined ? phase === 'Running' : v.ready === true,
      lastTransitionTime:
        v.readyTransitionTime === undefined
          ? startTime
          : time(v.readyTransitionTime, `${where}.readyTransitionTime`),
    };
  }
  const requests = resources(v.requests, `${where}.requests`);
  if (requests) p.requests = requests;
  const usage = resources(v.usage, `${where}.usage`);
  if (usage) {
    p.usage = usage;
    p.usageTimestamp =
      v.usageTimestamp === undefined ? now : time(v.usageTimestamp, `${where}.usageTimestamp`);
    p.usageWindowMs = (typeof v.usageWindowSeconds === 'number' ? v.usageWindowSeconds : 30) * 1000;
  }
  return p;
}

function reading(m: MetricSpec, v: unknown, where: string): MetricReading | undefined {
  if (m.type === 'Resource') return undefined;
  if (v === null || v === undefined)
    return { error: `no value for ${m.type} metric ${(m.pods ?? m.prometheus)?.query ?? ''}` };
  if (m.type === 'Pods') {
    if (!isObject(v)) throw new ScenarioError(`${where}: a Pods metric takes {"<pod>": value}`);
    return { perPod: new Map(Object.entries(v).map(([k, x]) => [k, quantity(x, `${where}.${k}`)])) };
  }
  return { value: quantity(v, where) };
}

interface AppInput {
  name: string;
  policy: ResolvedPolicy;
  spec: AutoscalingPolicy;
  perReplica: ResourceAmounts | undefined;
  state: AppState;
  replicas: number | undefined;
}

function appInput(name: string, v: Json, opts: EngineOptions, where: string): AppInput {
  if (!isObject(v.autoscaling))
    throw new ScenarioError(`${where}.autoscaling: expected an autoscaling policy`);
  const spec = v.autoscaling as unknown as AutoscalingPolicy;
  count(spec.maxReplicas, `${where}.autoscaling.maxReplicas`);
  let policy: ResolvedPolicy;
  try {
    policy = resolvePolicy(spec, opts);
  } catch (err) {
    throw new ScenarioError(`${where}.autoscaling: ${err instanceof Error ? err.message : String(err)}`);
  }
  return {
    name,
    policy,
    spec,
    perReplica: resources(v.perReplica, `${where}.perReplica`),
    state: history(v.history, `${where}.history`),
    replicas: undefined,
  };
}

interface StepOutput {
  time: string;
  currentReplicas: number;
  desiredReplicas: number;
  reason: string;
  conditions: { type: string; status: string; reason: string; message: string }[];
  metrics: MetricResult[];
  events: { type: string; reason: string; message: string }[];
}

function observe(app: AppInput, v: unknown, now: Date, where: string) {
  if (!isObject(v)) throw new ScenarioError(`${where}: expected a step object`);
  const currentReplicas =
    v.currentReplicas === undefined ? app.replicas : count(v.currentReplicas, `${where}.currentReplicas`);
  if (currentReplicas === undefined)
    throw new ScenarioError(`${where}.currentReplicas: the first step needs one`);
  const pods = (Array.isArray(v.pods) ? v.pods : []).map((p, i) => pod(p, `${where}.pods[${i}]`, now));
  const values = Array.isArray(v.metricValues) ? v.metricValues : [];
  const readings = app.policy.metrics.map((m, i) => reading(m, values[i], `${where}.metricValues[${i}]`));
  const statusReplicas =
    v.statusReplicas === undefined ? currentReplicas : count(v.statusReplicas, `${where}.statusReplicas`);
  return { now, currentReplicas, statusReplicas, pods, readings };
}

function output(d: AppDecision, replicas: number, now: Date, app: AppInput): StepOutput {
  const s = settle(app.policy, d, replicas, now);
  app.state = s.state;
  app.replicas = s.replicas;
  return {
    time: now.toISOString(),
    currentReplicas: d.currentReplicas,
    desiredReplicas: s.replicas,
    reason: s.reason,
    conditions: s.state.conditions.map(({ type, status, reason, message }) => ({
      type,
      status,
      reason,
      message,
    })),
    metrics: d.metrics,
    events: s.events,
  };
}

function perReplicaOf(app: AppInput, pods: readonly PodObservation[]): ResourceAmounts {
  return app.perReplica ?? pods.find((p) => p.requests)?.requests ?? {};
}

/** Runs a scenario: a single app (`autoscaling`) or a group (`apps` and `budget`). Pure. */
export function simulate(scenario: unknown): unknown {
  if (!isObject(scenario)) throw new ScenarioError('a scenario is a JSON object');
  const opts = options(scenario.options);
  if (!Array.isArray(scenario.steps)) throw new ScenarioError('steps: expected an array');
  if (scenario.apps === undefined) {
    const app = appInput('app', scenario, opts, '');
    const steps = scenario.steps.map((step, i) => {
      const where = `steps[${i}]`;
      const now = time(isObject(step) ? step.time : undefined, `${where}.time`);
      const d = decide(app.policy, app.state, observe(app, step, now, where), opts);
      return output(d, d.desiredReplicas, now, app);
    });
    return { steps };
  }
  if (!Array.isArray(scenario.apps)) throw new ScenarioError('apps: expected an array');
  const apps = scenario.apps.map((a, i) => {
    if (!isObject(a) || typeof a.name !== 'string')
      throw new ScenarioError(`apps[${i}]: an app needs a name`);
    return appInput(a.name, a, opts, `apps[${i}]`);
  });
  const budget = resources(scenario.budget, 'budget');
  const steps = scenario.steps.map((step, i) => {
    const where = `steps[${i}]`;
    if (!isObject(step) || !isObject(step.apps))
      throw new ScenarioError(`${where}.apps: expected {"<app>": step}`);
    const now = time(step.time, `${where}.time`);
    const stepApps = step.apps;
    const decided = apps.map((app) => {
      const obs = observe(app, stepApps[app.name] ?? {}, now, `${where}.apps.${app.name}`);
      return { app, obs, d: decide(app.policy, app.state, obs, opts) };
    });
    const alloc = budget
      ? allocate(
          decided.map(
            ({ app, obs, d }): BudgetApp => ({
              name: app.name,
              floor: d.floorReplicas,
              want: d.desiredReplicas,
              perReplica: perReplicaOf(app, obs.pods),
              weight: app.spec.weight ?? 1,
              priority: app.spec.priority ?? 0,
            }),
          ),
          budget,
        )
      : undefined;
    const out: Record<string, StepOutput> = {};
    for (const { app, d } of decided)
      out[app.name] = output(d, alloc?.replicas.get(app.name) ?? d.desiredReplicas, now, app);
    return {
      time: now.toISOString(),
      apps: out,
      ...(alloc ? { budget: budgetStatus(alloc) } : {}),
    };
  });
  return { steps };
}
