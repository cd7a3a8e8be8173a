/**
 * The autoscaler loop, one reconcile per AppGroup with apps (DESIGN.md §3): for every app, read its
 * workload's scale, pods and metrics, decide with the pure engine, share the group budget, write the
 * replicas through the scale subresource as `shoal-autoscaler`, and report in status.apps,
 * status.budget, events and metrics. Fixed `replicas` are enforced the same way. The engine's state
 * (recommendations, scale events) lives in memory, as the HPA's does.
 */
import type {
  AppGroup,
  AppGroupStatus,
  AppSpec,
  AppStatus,
  MetricSpec,
  ResourceBudget,
} from '../api/app-group.ts';
import { FIELD_MANAGERS, KINDS, LABELS } from '../api/group.ts';
import type { Condition } from '../api/meta.ts';
import { parseMilli } from '../api/quantity.ts';
import { inventoryRefs } from '../diff/inventory.ts';
import type { Kube, ScalableKind } from '../kube/client.ts';
import type { EventRecorder } from '../kube/events.ts';
import { KubeApiError } from '../kube/kube-api-error.ts';
import type { WatchedObject } from '../reconcile/drift.ts';
import { ownsReplicas } from '../render/replica-ownership.ts';
import type { Clock } from '../runtime/clock.ts';
import type { ReconcileResult } from '../runtime/controller.ts';
import type { Log } from '../runtime/logger.ts';
import { statusRefOf, writeStatusIfChanged } from '../status/write-status.ts';
import { allocate, type BudgetApp, budgetStatus } from './budget.ts';
import {
  type AppDecision,
  type AppState,
  decide,
  type EngineOptions,
  initialState,
  type MetricReading,
  type MetricResult,
  RESOURCES,
  type ResolvedPolicy,
  type ResourceAmounts,
  resolvePolicy,
  type Settled,
  settle,
} from './engine.ts';
import {
  observePods,
  type PodJson,
  PrometheusClient,
  perPodValues,
  podRequests,
  singleValue,
} from './sources.ts';

export interface AutoscalerMetrics {
  desired(labels: { namespace: string; group: string; app: string }, replicas: number): void;
  decision(result: 'rescaled' | 'unchanged' | 'limited' | 'paused' | 'failed'): void;
  forget(labels: { namespace: string; group: string; app: string }): void;
}

export interface AutoscalerDeps {
  kube: Kube;
  clock: Clock;
  events: EventRecorder;
  log: Log;
  options: EngineOptions;
  syncPeriodMs: number;
  /** The AppGroup as cached (undefined: gone). */
  group(namespace: string, name: string): Promise<AppGroup | undefined>;
  /** Tells the reads about the status write's new version. */
  wrote?(group: AppGroup, resourceVersion: string | undefined): void;
  /** Objects the drift watches hold (the workloads, with their pod templates); undefined: not watched. */
  cached?(apiVersion: string, kind: string, namespace: string): readonly WatchedObject[] | undefined;
  prometheus?: PrometheusClient;
  defaultPrometheusAddress?: string;
  /** Why the tenancy policy forbids `group` to touch a workload (undefined: it may). */
  forbidden?: (
    group: AppGroup,
    workload: { apiVersion: string; kind: string; name: string; namespace: string },
  ) => string | undefined;
  metrics?: AutoscalerMetrics;
}

interface Workload {
  kind: ScalableKind;
  namespace: string;
  name: string;
}

/** The Deployment or StatefulSet of the group's inventory an app names. */
function workloadOf(group: AppGroup, app: string): Workload | undefined {
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

const conditionJson = (c: AppState['conditions'][number]): Condition => ({
  type: c.type,
  status: c.status,
  reason: c.reason,
  message: c.message,
  lastTransitionTime: c.lastTransitionTime.toISOString(),
});

function metricStatus(m: MetricResult): NonNullable<AppStatus['metrics']>[number] {
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

interface Planned {
  app: AppSpec;
  workload: Workload;
  current: number;
  /** Autoscaled apps: the policy and the engine's decision. */
  policy?: ResolvedPolicy;
  decision?: AppDecision;
  /** Fixed apps: the count to hold. */
  fixed?: number;
  perReplica?: ResourceAmounts;
}

/** A workload the autoscaler may not scale: not the group's, or outside the tenancy policy. */
class NotScalable extends Error {
  override readonly name = 'NotScalable';
  readonly reason: 'OwnershipConflict' | 'PolicyViolation';
  constructor(reason: 'OwnershipConflict' | 'PolicyViolation', message: string) {
    super(message);
    this.reason = reason;
  }
}

export class Autoscaler {
  readonly #deps: AutoscalerDeps;
  /** Engine state per `namespace/group`, then per app. */
  readonly #states = new Map<string, Map<string, AppState>>();

  readonly #prometheus: PrometheusClient;

  constructor(deps: AutoscalerDeps) {
    this.#deps = deps;
    this.#prometheus = deps.prometheus ?? new PrometheusClient();
  }

  /** Forgets a group (deleted, or no apps any more). */
  forget(key: string): void {
    const [namespace = '', group = ''] = key.split('/');
    for (const app of this.#states.get(key)?.keys() ?? [])
      this.#deps.metrics?.forget({ namespace, group, app });
    this.#states.delete(key);
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const d = this.#deps;
    const [namespace = '', name = ''] = key.split('/');
    const group = await d.group(namespace, name);
    const owned = (group?.spec.apps ?? []).filter(ownsReplicas);
    if (!group || group.metadata.deletionTimestamp || owned.length === 0) {
      this.forget(key);
      // No apps any more: their decisions leave status too.
      if (group && !group.metadata.deletionTimestamp && (group.status?.apps || group.status?.budget)) {
        const written = await writeStatusIfChanged(
          d.kube,
          statusRefOf(KINDS.AppGroup.plural, group),
          { apps: group.status.apps, budget: group.status.budget },
          { apps: null, budget: null },
        );
        if (written.wrote) d.wrote?.(group, written.resourceVersion);
      }
      return {};
    }
    if (group.spec.suspend) return { requeueAfterMs: d.syncPeriodMs };
    const now = d.clock.now();
    const states = this.#states.get(key) ?? new Map<string, AppState>();
    this.#states.set(key, states);
    for (const app of states.keys()) {
      if (!owned.some((a) => a.name === app && a.autoscaling)) {
        states.delete(app);
        d.metrics?.forget({ namespace, group: name, app });
      }
    }

    const statuses = new Map<string, AppStatus>();
    const planned: Planned[] = [];
    for (const app of owned) {
      try {
        const p = await this.#plan(group, app, states, now);
        if (p) planned.push(p);
        else
          statuses.set(app.name, {
            name: app.name,
            replicas: {},
            reason: 'the workload has not been applied yet',
          });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        statuses.set(app.name, { name: app.name, replicas: {}, reason: message });
        d.metrics?.decision('failed');
        // The API refused (FailedGetScale, as HPA says), the workload is not the group's to scale, or
        // the policy itself is invalid.
        const reason =
          err instanceof KubeApiError
            ? 'FailedGetScale'
            : err instanceof NotScalable
              ? err.reason
              : 'InvalidSpec';
        await d.events.emit(group, 'Warning', reason, `${app.name}: ${message}`, 'Autoscale');
      }
    }

    // The group budget: autoscaled apps share it by tier and weight.
    const budget = group.spec.budget;
    const scaled = planned.filter((p) => p.decision);
    const alloc =
      budget && scaled.length > 0
        ? allocate(
            scaled.map(
              (p): BudgetApp => ({
                name: p.app.name,
                floor: p.decision?.floorReplicas ?? p.current,
                want: p.decision?.desiredReplicas ?? p.current,
                perReplica: p.perReplica ?? {},
                weight: p.app.autoscaling?.weight ?? 1,
                priority: p.app.autoscaling?.priority ?? 0,
              }),
            ),
            budgetLimits(budget),
          )
        : undefined;

    for (const p of planned) {
      const status = await this.#act(group, p, alloc?.replicas.get(p.app.name), states, now);
      statuses.set(p.app.name, status);
    }
    const apps = owned.map((a) => statuses.get(a.name) ?? { name: a.name, replicas: {} });
    const next: AppGroupStatus = {
      apps,
      ...(alloc ? { budget: budgetStatus(alloc) } : {}),
    };
    const previous = {
      apps: group.status?.apps,
      ...(group.status?.budget ? { budget: group.status.budget } : {}),
    };
    // A budget that was removed is cleared (null in a merge patch).
    const body = !alloc && group.status?.budget ? { ...next, budget: null } : next;
    const written = await writeStatusIfChanged(
      d.kube,
      statusRefOf(KINDS.AppGroup.plural, group),
      previous,
      body as object,
    );
    if (written.wrote) d.wrote?.(group, written.resourceVersion);
    return { requeueAfterMs: d.syncPeriodMs };
  }

  /** Reads what one app's decision needs and decides it (no write yet). */
  async #plan(
    group: AppGroup,
    app: AppSpec,
    states: Map<string, AppState>,
    now: Date,
  ): Promise<Planned | undefined> {
    const d = this.#deps;
    const workload = workloadOf(group, app.name);
    if (!workload) return undefined;
    await this.#mayScale(group, workload);
    const scale = await d.kube.getScale(workload.kind, workload.namespace, workload.name);
    if (!scale) return undefined;
    const base = { app, workload, current: scale.specReplicas };
    if (app.replicas !== undefined) return { ...base, fixed: app.replicas };
    const spec = app.autoscaling;
    if (!spec) return undefined;
    const policy = resolvePolicy(spec, d.options);
    let pods: PodJson[] = [];
    let podsError: string | undefined;
    if (!scale.selector) podsError = 'the target has no pod selector';
    else {
      try {
        pods = (
          await d.kube.list<PodJson>('v1', 'Pod', {
            namespace: workload.namespace,
            labelSelector: scale.selector,
          })
        ).items;
      } catch (err) {
        podsError = `cannot list the pods: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
    const needsUsage = policy.metrics.some((m) => m.type === 'Resource');
    let usageError: string | undefined;
    let podMetrics: Awaited<ReturnType<Kube['listPodMetrics']>> = [];
    if (needsUsage && scale.selector) {
      try {
        podMetrics = await d.kube.listPodMetrics(workload.namespace, scale.selector);
      } catch (err) {
        usageError = `unable to get metrics for resource from resource metrics API: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
    // A per-replica Prometheus target needs no pods; everything else does.
    const needsPods = (m: MetricSpec) => m.type !== 'Prometheus' || m.prometheus?.target.type === 'Value';
    const readings = await Promise.all(
      policy.metrics.map((m) =>
        this.#read(
          group,
          m,
          (needsPods(m) ? podsError : undefined) ?? (m.type === 'Resource' ? usageError : undefined),
        ),
      ),
    );
    const decision = decide(
      policy,
      states.get(app.name) ?? initialState(),
      {
        now,
        currentReplicas: scale.specReplicas,
        statusReplicas: scale.statusReplicas,
        pods: observePods(pods, podMetrics),
        readings,
      },
      d.options,
    );
    states.set(app.name, decision.state);
    const perReplica = group.spec.budget ? await this.#perReplica(workload, pods) : undefined;
    return { ...base, policy, decision, ...(perReplica ? { perReplica } : {}) };
  }

  /**
   * A workload's replicas are written with the operator's identity, so the workload must be the
   * group's (its owner labels, live: an inventory entry alone is only what the status says) and
   * within what the tenancy policy lets the group touch. Throws NotScalable otherwise.
   */
  async #mayScale(group: AppGroup, w: Workload): Promise<void> {
    const ref = { apiVersion: 'apps/v1', kind: w.kind, name: w.name, namespace: w.namespace };
    const forbidden = this.#deps.forbidden?.(group, ref);
    if (forbidden) throw new NotScalable('PolicyViolation', `its replicas are left alone: ${forbidden}`);
    type Labelled = { metadata?: { labels?: Record<string, string> } };
    const cached = this.#deps
      .cached?.('apps/v1', w.kind, w.namespace)
      ?.find((o) => o.metadata?.name === w.name) as Labelled | undefined;
    const live = cached ?? (await this.#deps.kube.get<Labelled>(ref));
    const labels = live?.metadata?.labels ?? {};
    if (
      live &&
      (labels[LABELS.groupName] !== group.metadata.name ||
        labels[LABELS.groupNamespace] !== group.metadata.namespace)
    )
      throw new NotScalable(
        'OwnershipConflict',
        `${w.kind}/${w.namespace}/${w.name} is not this group's (its owner labels); its replicas are left alone`,
      );
  }

  /** One metric's reading; Resource metrics come from the pods (only their fetch errors here). */
  async #read(group: AppGroup, m: MetricSpec, error: string | undefined): Promise<MetricReading | undefined> {
    if (error) return { error };
    if (m.type === 'Resource') return undefined;
    const source = m.type === 'Pods' ? m.pods : m.prometheus;
    if (!source) return { error: `a ${m.type} metric needs its ${m.type.toLowerCase()} field` };
    const address = group.spec.metrics?.prometheus?.address ?? this.#deps.defaultPrometheusAddress;
    if (!address) return { error: 'no Prometheus to ask: set spec.metrics.prometheus.address' };
    try {
      const samples = await this.#prometheus.query(address, source.query);
      return m.type === 'Pods' ? perPodValues(samples, source.query) : singleValue(samples, source.query);
    } catch (err) {
      return { error: err instanceof Error ? err.message : String(err) };
    }
  }

  /**
   * One replica's requests: from the workload's pod template (what new pods will ask for), as the
   * drift watch holds it; a GET only when that kind is not watched (yet).
   */
  async #perReplica(w: Workload, pods: readonly PodJson[]): Promise<ResourceAmounts> {
    type Template = { spec?: { template?: { spec?: PodJson['spec'] } } };
    const cached = this.#deps
      .cached?.('apps/v1', w.kind, w.namespace)
      ?.find((o) => o.metadata?.name === w.name) as Template | undefined;
    const live =
      cached ??
      (await this.#deps.kube.get<Template>({
        apiVersion: 'apps/v1',
        kind: w.kind,
        namespace: w.namespace,
        name: w.name,
      }));
    const template = live?.spec?.template?.spec;
    if (template) return podRequests({ metadata: { name: '' }, spec: template });
    return pods[0] ? podRequests(pods[0]) : {};
  }

  /** Writes the decided count if it changed; events, metrics and the app's status. */
  async #act(
    group: AppGroup,
    p: Planned,
    allocated: number | undefined,
    states: Map<string, AppState>,
    now: Date,
  ): Promise<AppStatus> {
    const d = this.#deps;
    const labels = {
      namespace: group.metadata.namespace ?? '',
      group: group.metadata.name ?? '',
      app: p.app.name,
    };
    const write = (replicas: number) =>
      d.kube.applyScale(
        p.workload.kind,
        p.workload.namespace,
        p.workload.name,
        replicas,
        FIELD_MANAGERS.autoscaler,
      );
    if (p.fixed !== undefined) {
      let reason = 'fixed replicas in spec.apps';
      if (p.current !== p.fixed) {
        try {
          await write(p.fixed);
          d.metrics?.decision('rescaled');
          await d.events.emit(
            group,
            'Normal',
            'SuccessfulRescale',
            `${p.app.name}: New size: ${p.fixed}; reason: ${reason}`,
            'Autoscale',
          );
        } catch (err) {
          reason = `cannot set the replicas: ${err instanceof Error ? err.message : String(err)}`;
          d.metrics?.decision('failed');
          await d.events.emit(group, 'Warning', 'FailedRescale', `${p.app.name}: ${reason}`, 'Autoscale');
        }
      } else d.metrics?.decision('unchanged');
      d.metrics?.desired(labels, p.fixed);
      return {
        name: p.app.name,
        replicas: { current: p.current, desired: p.fixed, min: p.fixed, max: p.fixed },
        reason,
      };
    }
    const decision = p.decision as AppDecision;
    const policy = p.policy as ResolvedPolicy;
    const target = allocated ?? decision.desiredReplicas;
    let writeError: string | undefined;
    if (decision.active && target !== decision.currentReplicas) {
      try {
        await write(target);
      } catch (err) {
        writeError = err instanceof Error ? err.message : String(err);
      }
    }
    const s: Settled = settle(policy, decision, target, now, writeError);
    states.set(p.app.name, s.state);
    for (const e of s.events)
      await d.events.emit(group, e.type, e.reason, `${p.app.name}: ${e.message}`, 'Autoscale');
    d.metrics?.desired(labels, s.replicas);
    d.metrics?.decision(decisionResult(decision, s, allocated, writeError));
    // After a restart the engine's memory is new; the last scale time survives in status.
    const lastScaleTime =
      s.state.lastScaleTime?.toISOString() ??
      group.status?.apps?.find((a) => a.name === p.app.name)?.lastScaleTime;
    return {
      name: p.app.name,
      replicas: {
        current: decision.currentReplicas,
        desired: s.replicas,
        min: policy.minReplicas,
        max: policy.maxReplicas,
      },
      ...(lastScaleTime ? { lastScaleTime } : {}),
      reason: statusReason(decision, s, allocated),
      metrics: decision.metrics.map(metricStatus),
      conditions: s.state.conditions.map(conditionJson),
    };
  }
}

/** What status.apps[].reason says of a decision: the rescale, a metric failure, the budget, or the targets. Pure. */
function statusReason(d: AppDecision, s: Settled, allocated: number | undefined): string {
  if (s.rescaled) return s.reason;
  const active = s.state.conditions.find((c) => c.type === 'ScalingActive');
  if (active?.status === 'False') return active.message;
  if (allocated !== undefined && allocated < d.desiredReplicas)
    return `the group budget allows ${allocated} of ${d.desiredReplicas}`;
  return d.reason || 'the current count meets the targets';
}

/** How a decision ended, for shoal_autoscaler_decisions_total. Pure. */
function decisionResult(
  d: AppDecision,
  s: Settled,
  allocated: number | undefined,
  writeError: string | undefined,
): 'rescaled' | 'unchanged' | 'limited' | 'paused' | 'failed' {
  const metricsFailed = s.state.conditions.some(
    (c) => c.type === 'ScalingActive' && c.status === 'False' && c.reason !== 'ScalingDisabled',
  );
  if (writeError !== undefined || metricsFailed) return 'failed';
  if (!d.active) return 'paused';
  if (!s.rescaled) return 'unchanged';
  return allocated !== undefined && allocated < d.desiredReplicas ? 'limited' : 'rescaled';
}

/** The budget in milli-units, only the resources it names. Pure. */
function budgetLimits(budget: ResourceBudget): ResourceAmounts {
  const out: ResourceAmounts = {};
  for (const r of RESOURCES) {
    const q = budget[r];
    if (q !== undefined) out[r] = parseMilli(q);
  }
  return out;
}
