import type { AppGroup } from '../api/app-group.ts';
import { keyOf } from '../api/object-key.ts';
import { policyViolation } from '../apply/tenancy.ts';
import type { RunConfig } from '../config.ts';
import type { Metrics } from '../http/metrics.ts';
import type { Kube } from '../kube/client.ts';
import type { EventRecorder } from '../kube/events.ts';
import { PrometheusClient } from '../metrics/prometheus.ts';
import { tenantOf } from '../reconcile/app-group-context.ts';
import { type AutoscaleDeps, AutoscaleMemory } from '../reconcile/autoscale-reconciler.ts';
import type { CachedReads } from '../reconcile/cached-reads.ts';
import type { DriftWatcher } from '../reconcile/drift-watcher.ts';
import { ownsReplicas } from '../render/replica-ownership.ts';
import type { Clock } from '../runtime/clock.ts';
import { type GuardReport, guard } from '../runtime/guard.ts';
import type { InformerLike } from '../runtime/informer.ts';
import type { Log } from '../runtime/logger.ts';
import type { WorkQueue } from '../runtime/work-queue.ts';
import { stepObserver } from './controllers.ts';

/** Groups with apps to scale, or with decisions in status still to clear; no other group costs a reconcile. */
export const isScaled = (g: AppGroup): boolean =>
  (g.spec.apps ?? []).some(ownsReplicas) || (g.status?.apps?.length ?? 0) > 0;

/**
 * The autoscaler and what triggers it: it decides a group's apps every sync period, and at once
 * when the group is new, its spec changed or its inventory did (a workload was created); never on
 * its own status writes.
 */
export function autoscaling(o: {
  kube: Kube;
  config: RunConfig;
  clock: Clock;
  events: EventRecorder;
  log: Log;
  metrics: Metrics;
  reads: CachedReads;
  groups: InformerLike<AppGroup>;
  drift: () => DriftWatcher;
  queue: WorkQueue;
  report: GuardReport;
}): AutoscaleDeps {
  const a = o.config.autoscaler;
  const memory = new AutoscaleMemory(o.metrics.autoscaler);
  const deps: AutoscaleDeps = {
    kube: o.kube,
    clock: o.clock,
    events: o.events,
    log: o.log,
    options: {
      tolerance: { scaleUp: a.tolerance, scaleDown: a.tolerance },
      cpuInitializationPeriodMs: a.cpuInitializationPeriodMs,
      initialReadinessDelayMs: a.initialReadinessDelayMs,
      downscaleStabilizationMs: a.downscaleStabilizationMs,
    },
    syncPeriodMs: a.syncPeriodMs,
    group: (namespace, name) => o.reads.group(namespace, name),
    wrote: (group, resourceVersion) => o.reads.wrote(group, resourceVersion),
    cached: (apiVersion, kind, namespace) => o.drift().cached(apiVersion, kind, namespace),
    prometheus: new PrometheusClient({ hosts: o.config.urlPolicy, clock: o.clock }),
    ...(a.prometheusAddress ? { defaultPrometheusAddress: a.prometheusAddress } : {}),
    forbidden: (group, workload) =>
      policyViolation(
        workload,
        tenantOf({ defaultServiceAccount: o.config.defaultServiceAccount }, group),
        o.config.tenancy,
      ),
    metrics: o.metrics.autoscaler,
    memory,
    observeStep: stepObserver('Autoscale', o.metrics, o.log),
  };
  const signatures = new Map<string, string>();
  const signature = (g: AppGroup) => JSON.stringify([g.metadata.generation, g.status?.inventory ?? []]);
  o.groups.on(
    'add',
    guard(
      'autoscale add',
      (g: AppGroup) => {
        signatures.set(keyOf(g), signature(g));
        if (isScaled(g)) o.queue.add(keyOf(g));
      },
      o.report,
    ),
  );
  o.groups.on(
    'update',
    guard(
      'autoscale update',
      (g: AppGroup) => {
        const key = keyOf(g);
        const next = signature(g);
        if (signatures.get(key) !== next && isScaled(g)) o.queue.add(key);
        signatures.set(key, next);
      },
      o.report,
    ),
  );
  o.groups.on(
    'delete',
    guard(
      'autoscale delete',
      (g: AppGroup) => {
        signatures.delete(keyOf(g));
        memory.forget(keyOf(g));
      },
      o.report,
    ),
  );
  return deps;
}
