import type { AutoscalingPolicy, MetricSpec, ScalingBehavior } from '../api/app-group.ts';
import { parseMilli } from '../api/quantity.ts';
import { type Behavior, defaultBehavior, type ScalingRules } from './normalize.ts';
import { DEFAULT_ENGINE_OPTIONS, type EngineOptions, type ResolvedPolicy } from './types.ts';

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
