import type { MetricSpec } from '../api/app-group.ts';
import { REASON } from '../api/conditions.ts';
import type { HpaCondition } from './types.ts';

/** HPA's `setConditionInList`: the transition time moves only when the status does. Pure. */
export function setHpaCondition(
  list: readonly HpaCondition[],
  input: { type: HpaCondition['type']; status: boolean; reason: string; message: string },
  now: Date,
): HpaCondition[] {
  const { type, reason, message } = input;
  const s = input.status ? 'True' : 'False';
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

export const LIMIT_MESSAGES: Record<string, string> = {
  DesiredWithinRange: 'the desired count is within the acceptable range',
  ScaleUpLimit: 'the desired replica count is increasing faster than the maximum scale rate',
  ScaleDownLimit: 'the desired replica count is decreasing faster than the maximum scale rate',
  TooManyReplicas: 'the desired replica count is more than the maximum replica count',
  TooFewReplicas: 'the desired replica count is less than the minimum replica count',
};

export const ABLE_MESSAGES: Record<string, string> = {
  ReadyForNewScale: 'recommended size matches current size',
  ScaleUpStabilized:
    'recent recommendations were lower than current one, applying the lowest recent recommendation',
  ScaleDownStabilized:
    'recent recommendations were higher than current one, applying the highest recent recommendation',
};

export const FAILURE_REASON: Record<MetricSpec['type'], string> = {
  Resource: REASON.FailedGetResourceMetric,
  Pods: REASON.FailedGetPodsMetric,
  Prometheus: REASON.FailedGetExternalMetric,
};
