/**
 * What status.apps says of a decision, and how a decision is counted: pure conversions from the
 * engine's results to the API's shapes.
 */
import type { AppGroup, AppStatus, ResourceBudget } from '../api/app-group.ts';
import type { Condition } from '../api/meta.ts';
import { parseMilli } from '../api/quantity.ts';
import { inventoryRefs } from '../diff/inventory.ts';
import type { Settled } from './settle.ts';
import {
  type AppDecision,
  type HpaCondition,
  type MetricResult,
  RESOURCES,
  type ResourceAmounts,
} from './types.ts';

export type ScalableKind = 'Deployment' | 'StatefulSet';

/** A workload an app of the group names. */
export interface Workload {
  kind: ScalableKind;
  namespace: string;
  name: string;
}

/** The Deployment or StatefulSet of the group's inventory an app names (malformed entries skipped). Pure. */
export function workloadOf(group: AppGroup, app: string): Workload | undefined {
  for (const ref of inventoryRefs(group.status?.inventory)) {
    if (
      ref.name === app &&
      ref.apiVersion === 'apps/v1' &&
      (ref.kind === 'Deployment' || ref.kind === 'StatefulSet')
    )
      return { kind: ref.kind, namespace: ref.namespace ?? group.metadata.namespace ?? '', name: ref.name };
  }
  return undefined;
}

export const conditionJson = (c: HpaCondition): Condition => ({
  type: c.type,
  status: c.status,
  reason: c.reason,
  message: c.message,
  lastTransitionTime: c.lastTransitionTime.toISOString(),
});

export function metricStatus(m: MetricResult): NonNullable<AppStatus['metrics']>[number] {
  const show = (v?: { averageUtilization?: number; averageValue?: string; value?: string }) =>
    v?.averageUtilization !== undefined
      ? `${v.averageUtilization}%`
      : (v?.averageValue ?? v?.value ?? (v === undefined ? undefined : ''));
  const current = m.error ? `<error: ${m.error}>` : show(m.current);
  const target = show(m.target);
  return {
    type: m.type,
    name: m.name,
    ...(current !== undefined ? { current } : {}),
    ...(target ? { target } : {}),
  };
}

/** What status.apps[].reason says of a decision: the rescale, a metric failure, the budget, or the targets. Pure. */
export function statusReason(d: AppDecision, s: Settled, allocated: number | undefined): string {
  if (s.rescaled) return s.reason;
  const active = s.state.conditions.find((c) => c.type === 'ScalingActive');
  if (active?.status === 'False') return active.message;
  if (allocated !== undefined && allocated < d.desiredReplicas)
    return `the group budget allows ${allocated} of ${d.desiredReplicas}`;
  return d.reason || 'the current count meets the targets';
}

export type DecisionResult = 'rescaled' | 'unchanged' | 'limited' | 'paused' | 'failed';

/** How a decision ended, for shoal_autoscaler_decisions_total. Pure. */
export function decisionResult(
  d: AppDecision,
  s: Settled,
  allocated: number | undefined,
  writeError: string | undefined,
): DecisionResult {
  const metricsFailed = s.state.conditions.some(
    (c) => c.type === 'ScalingActive' && c.status === 'False' && c.reason !== 'ScalingDisabled',
  );
  if (writeError !== undefined || metricsFailed) return 'failed';
  if (!d.active) return 'paused';
  if (!s.rescaled) return 'unchanged';
  return allocated !== undefined && allocated < d.desiredReplicas ? 'limited' : 'rescaled';
}

/** The budget in milli-units, only the resources it names. Pure. */
export function budgetLimits(budget: ResourceBudget): ResourceAmounts {
  const out: ResourceAmounts = {};
  for (const r of RESOURCES) {
    const q = budget[r];
    if (q !== undefined) out[r] = parseMilli(q);
  }
  return out;
}
