import type { AppGroup, AppSpec, AppStatus, MetricSpec } from '../api/app-group.ts';
import { REASON } from '../api/conditions.ts';
import { FIELD_MANAGERS, KINDS, LABELS } from '../api/group.ts';
import type { KubernetesObject } from '../api/object.ts';
import {
  budgetLimits,
  conditionJson,
  decisionResult,
  metricStatus,
  statusReason,
  type Workload,
  workloadOf,
} from '../autoscale/app-status.ts';
import { allocate, type BudgetApp, budgetStatus } from '../autoscale/budget.ts';
import { decide as decideApp } from '../autoscale/decide.ts';
import { resolvePolicy } from '../autoscale/policy.ts';
import { observePods, type PodJson, perPodValues, podRequests, singleValue } from '../autoscale/readings.ts';
import { settle } from '../autoscale/settle.ts';
import { initialState, type MetricReading, type ResourceAmounts } from '../autoscale/types.ts';
import { KubeApiError } from '../kube/kube-api-error.ts';
import { listPodMetrics, type PodMetrics } from '../metrics/pod-metrics.ts';
import { statusRefOf, writeStatusIfChanged } from '../status/write-status.ts';
import type { AutoscaleContext as Context, Observed, Planned } from './autoscale-context.ts';
import type { Step } from './run-steps.ts';

/** A workload the autoscaler may not scale: not the group's, or outside the tenancy policy. */
class NotScalable extends Error {
  override readonly name = 'NotScalable';
  readonly reason: typeof REASON.OwnershipConflict | typeof REASON.PolicyViolation;
  constructor(reason: NotScalable['reason'], message: string) {
    super(message);
    this.reason = reason;
  }
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * A workload's replicas are written with the operator's identity, so the workload must be the
 * group's (its owner labels, live: an inventory entry alone is only what the status says) and within
 * what the tenancy policy lets the group touch. Throws NotScalable otherwise.
 */
async function mayScale(ctx: Context, w: Workload): Promise<void> {
  const { deps, group } = ctx;
  const ref = { apiVersion: 'apps/v1', kind: w.kind, name: w.name, namespace: w.namespace };
  const forbidden = deps.forbidden?.(group, ref);
  if (forbidden) throw new NotScalable(REASON.PolicyViolation, `its replicas are left alone: ${forbidden}`);
  const cached = deps.cached?.('apps/v1', w.kind, w.namespace)?.find((o) => o.metadata?.name === w.name);
  const live = cached ?? (await deps.kube.get<KubernetesObject>(ref));
  const labels = live?.metadata?.labels ?? {};
  if (
    live &&
    (labels[LABELS.groupName] !== group.metadata.name ||
      labels[LABELS.groupNamespace] !== group.metadata.namespace)
  )
    throw new NotScalable(
      REASON.OwnershipConflict,
      `${w.kind}/${w.namespace}/${w.name} is not this group's (its owner labels); its replicas are left alone`,
    );
}

/** One metric's reading; Resource metrics come from the pods (only their fetch errors here). */
async function read(
  ctx: Context,
  m: MetricSpec,
  error: string | undefined,
): Promise<MetricReading | undefined> {
  if (error) return { error };
  if (m.type === 'Resource') return undefined;
  const source = m.type === 'Pods' ? m.pods : m.prometheus;
  if (!source) return { error: `a ${m.type} metric needs its ${m.type.toLowerCase()} field` };
  const address = ctx.group.spec.metrics?.prometheus?.address ?? ctx.deps.defaultPrometheusAddress;
  if (!address) return { error: 'no Prometheus to ask: set spec.metrics.prometheus.address' };
  try {
    const samples = await ctx.deps.prometheus.query(address, source.query);
    return m.type === 'Pods' ? perPodValues(samples, source.query) : singleValue(samples, source.query);
  } catch (err) {
    return { error: message(err) };
  }
}

/** What one app's decision needs: the workload's scale, its pods, their usage and the other readings. */
async function observeApp(ctx: Context, app: AppSpec): Promise<Observed | undefined> {
  const { kube, options } = ctx.deps;
  const workload = workloadOf(ctx.group, app.name);
  if (!workload) return undefined;
  await mayScale(ctx, workload);
  const scale = await kube.getScale(workload.kind, workload.namespace, workload.name);
  if (!scale) return undefined;
  const base = { app, workload, current: scale.specReplicas };
  if (app.replicas !== undefined) return { ...base, fixed: app.replicas };
  if (!app.autoscaling) return undefined;
  const policy = resolvePolicy(app.autoscaling, options);
  let pods: PodJson[] = [];
  let podsError: string | undefined;
  if (!scale.selector) podsError = 'the target has no pod selector';
  else {
    try {
      pods = (
        await kube.list<PodJson>('v1', 'Pod', {
          namespace: workload.namespace,
          labelSelector: scale.selector,
        })
      ).items;
    } catch (err) {
      podsError = `cannot list the pods: ${message(err)}`;
    }
  }
  let usageError: string | undefined;
  let podMetrics: PodMetrics[] = [];
  if (policy.metrics.some((m) => m.type === 'Resource') && scale.selector) {
    try {
      podMetrics = await listPodMetrics(kube, workload.namespace, scale.selector);
    } catch (err) {
      usageError = `unable to get metrics for resource from resource metrics API: ${message(err)}`;
    }
  }
  // A per-replica Prometheus target needs no pods; everything else does.
  const needsPods = (m: MetricSpec) => m.type !== 'Prometheus' || m.prometheus?.target.type === 'Value';
  const readings = await Promise.all(
    policy.metrics.map((m) =>
      read(
        ctx,
        m,
        (needsPods(m) ? podsError : undefined) ?? (m.type === 'Resource' ? usageError : undefined),
      ),
    ),
  );
  const observation = {
    now: ctx.now,
    currentReplicas: scale.specReplicas,
    statusReplicas: scale.statusReplicas,
    pods: observePods(pods, podMetrics),
    readings,
  };
  return { ...base, policy, observation, pods };
}

/** Reads every owned app's workload and metrics; an app that cannot be read is reported, not fatal. */
export const observe: Step<Context> = {
  name: 'observe',
  async run(ctx) {
    const d = ctx.deps;
    for (const app of ctx.owned) {
      try {
        const o = await observeApp(ctx, app);
        if (o) ctx.observed.push(o);
        else
          ctx.statuses.set(app.name, {
            name: app.name,
            replicas: {},
            reason: 'the workload has not been applied yet',
          });
      } catch (err) {
        ctx.statuses.set(app.name, { name: app.name, replicas: {}, reason: message(err) });
        d.metrics?.decision('failed');
        // The API refused (FailedGetScale, as HPA says), the workload is not the group's to scale, or
        // the policy itself is invalid.
        const reason =
          err instanceof KubeApiError
            ? REASON.FailedGetScale
            : err instanceof NotScalable
              ? err.reason
              : REASON.InvalidSpec;
        await d.events.emit(ctx.group, 'Warning', reason, `${app.name}: ${message(err)}`, 'Autoscale');
      }
    }
    return undefined;
  },
};

/**
 * One replica's requests: from the workload's pod template (what new pods will ask for), as the
 * drift watch holds it; a GET only when that kind is not watched (yet).
 */
async function perReplica(ctx: Context, w: Workload, pods: readonly PodJson[]): Promise<ResourceAmounts> {
  type Template = { spec?: { template?: { spec?: PodJson['spec'] } } };
  const cached = ctx.deps
    .cached?.('apps/v1', w.kind, w.namespace)
    ?.find((o) => o.metadata?.name === w.name) as Template | undefined;
  const live =
    cached ??
    (await ctx.deps.kube.get<Template>({
      apiVersion: 'apps/v1',
      kind: w.kind,
      namespace: w.namespace,
      name: w.name,
    }));
  const template = live?.spec?.template?.spec;
  if (template) return podRequests({ metadata: { name: '' }, spec: template });
  return pods[0] ? podRequests(pods[0]) : {};
}

/** The engine's decision for every autoscaled app (pure), carrying its state. */
export const decide: Step<Context> = {
  name: 'decide',
  async run(ctx) {
    for (const o of ctx.observed) {
      if (!o.policy || !o.observation) {
        ctx.planned.push(o);
        continue;
      }
      const decision = decideApp(
        o.policy,
        ctx.states.get(o.app.name) ?? initialState(),
        o.observation,
        ctx.deps.options,
      );
      ctx.states.set(o.app.name, decision.state);
      const budgeted = ctx.group.spec.budget ? await perReplica(ctx, o.workload, o.pods ?? []) : undefined;
      ctx.planned.push({ ...o, decision, ...(budgeted ? { perReplica: budgeted } : {}) });
    }
    return undefined;
  },
};

/** The group budget: autoscaled apps share it by tier and weight. */
export const allocateBudget: Step<Context> = {
  name: 'allocate',
  async run(ctx) {
    const budget = ctx.group.spec.budget;
    const scaled = ctx.planned.filter((p) => p.decision);
    if (!budget || scaled.length === 0) return undefined;
    ctx.allocation = allocate(
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
    );
    return undefined;
  },
};

/** Writes one app's count if it changed; its events, metrics and status entry. */
async function actOn(ctx: Context, p: Planned): Promise<AppStatus> {
  const { deps: d, group, now } = ctx;
  const labels = {
    namespace: group.metadata.namespace ?? '',
    group: group.metadata.name ?? '',
    app: p.app.name,
  };
  const write = (replicas: number) =>
    d.kube.applyScale({ ...p.workload, replicas, fieldManager: FIELD_MANAGERS.autoscaler });
  if (p.fixed !== undefined) {
    let reason = 'fixed replicas in spec.apps';
    if (p.current !== p.fixed) {
      try {
        await write(p.fixed);
        d.metrics?.decision('rescaled');
        await d.events.emit(
          group,
          'Normal',
          REASON.SuccessfulRescale,
          `${p.app.name}: New size: ${p.fixed}; reason: ${reason}`,
          'Autoscale',
        );
      } catch (err) {
        reason = `cannot set the replicas: ${message(err)}`;
        d.metrics?.decision('failed');
        await d.events.emit(group, 'Warning', REASON.FailedRescale, `${p.app.name}: ${reason}`, 'Autoscale');
      }
    } else d.metrics?.decision('unchanged');
    d.metrics?.desired(labels, p.fixed);
    return {
      name: p.app.name,
      replicas: { current: p.current, desired: p.fixed, min: p.fixed, max: p.fixed },
      reason,
    };
  }
  const decision = p.decision;
  const policy = p.policy;
  if (!decision || !policy) return { name: p.app.name, replicas: {} };
  const allocated = ctx.allocation?.replicas.get(p.app.name);
  const target = allocated ?? decision.desiredReplicas;
  let writeError: string | undefined;
  if (decision.active && target !== decision.currentReplicas) {
    try {
      await write(target);
    } catch (err) {
      writeError = message(err);
    }
  }
  const s = settle(policy, decision, target, now, writeError);
  ctx.states.set(p.app.name, s.state);
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

/** Writes the decided counts through the scale subresource, as shoal-autoscaler. */
export const act: Step<Context> = {
  name: 'act',
  async run(ctx) {
    for (const p of ctx.planned) ctx.statuses.set(p.app.name, await actOn(ctx, p));
    return undefined;
  },
};

/** status.apps and status.budget (the sync's status writes leave them alone); a removed budget is cleared. */
export const writeAutoscaleStatus: Step<Context> = {
  name: 'status',
  async run(ctx) {
    const { group } = ctx;
    const apps = ctx.owned.map((a) => ctx.statuses.get(a.name) ?? { name: a.name, replicas: {} });
    const next = { apps, ...(ctx.allocation ? { budget: budgetStatus(ctx.allocation) } : {}) };
    const previous = {
      apps: group.status?.apps,
      ...(group.status?.budget ? { budget: group.status.budget } : {}),
    };
    const body = !ctx.allocation && group.status?.budget ? { ...next, budget: null } : next;
    await writeAppsStatus(ctx.deps, group, previous, body);
    return undefined;
  },
};

/** Writes status.apps/status.budget unless unchanged; tells the reads about the new version. */
export async function writeAppsStatus(
  deps: Context['deps'],
  group: AppGroup,
  previous: object,
  next: object,
): Promise<void> {
  const written = await writeStatusIfChanged(
    deps.kube,
    statusRefOf(KINDS.AppGroup.plural, group),
    previous,
    next,
    deps.clock,
  );
  if (written.wrote) deps.wrote?.(group, written.resourceVersion);
}

export const AUTOSCALE_STEPS = [observe, decide, allocateBudget, act, writeAutoscaleStatus];
