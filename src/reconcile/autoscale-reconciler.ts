import { parseKey } from '../api/object-key.ts';
import { ownsReplicas } from '../render/replica-ownership.ts';
import type { ReconcileResult } from '../runtime/controller.ts';
import type { AutoscaleContext, AutoscaleDeps } from './autoscale-context.ts';
import { AUTOSCALE_STEPS, writeAppsStatus } from './autoscale-steps.ts';
import { runSteps } from './run-steps.ts';

export { type AutoscaleDeps, AutoscaleMemory, type AutoscalerMetrics } from './autoscale-context.ts';

/**
 * The autoscaler, one reconcile per AppGroup with apps (DESIGN.md §3): observe every app's workload
 * (scale, pods, metrics.k8s.io usage, Prometheus), decide with the pure engine, allocate the group
 * budget, act (the scale subresource, server-side apply as `shoal-autoscaler`), and write
 * status.apps and status.budget. Fixed `replicas` are enforced the same way. A group without apps
 * (or deleted) is forgotten, and its decisions leave status. Requeues every sync period.
 */
export async function reconcileAutoscale(deps: AutoscaleDeps, key: string): Promise<ReconcileResult> {
  const { namespace, name } = parseKey(key);
  const group = await deps.group(namespace, name);
  const owned = (group?.spec.apps ?? []).filter(ownsReplicas);
  if (!group || group.metadata.deletionTimestamp || owned.length === 0) {
    deps.memory.forget(key);
    if (group && !group.metadata.deletionTimestamp && (group.status?.apps || group.status?.budget)) {
      await writeAppsStatus(
        deps,
        group,
        { apps: group.status.apps, budget: group.status.budget },
        { apps: null, budget: null },
      );
    }
    return {};
  }
  if (group.spec.suspend) return { requeueAfterMs: deps.syncPeriodMs };
  const states = deps.memory.of(key);
  for (const app of [...states.keys()]) {
    if (!owned.some((a) => a.name === app && a.autoscaling)) deps.memory.forget(key, app);
  }
  const ctx: AutoscaleContext = {
    deps,
    key,
    group,
    owned,
    now: deps.clock.now(),
    states,
    observed: [],
    planned: [],
    statuses: new Map(),
  };
  await runSteps(AUTOSCALE_STEPS, ctx, deps.observeStep);
  return { requeueAfterMs: deps.syncPeriodMs };
}
