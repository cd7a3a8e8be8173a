import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Shoal's Prometheus metrics, in a registry per process (no module-level state). Labels are bounded. */
export class Metrics {
  readonly registry = new Registry();
  readonly reconcileTotal = new Counter({
    name: 'shoal_reconcile_total',
    help: 'Reconciles by kind and result (success, error, stalled, waiting).',
    labelNames: ['kind', 'result'] as const,
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: 'shoal_reconcile_errors_total',
    help: "Failed reconciles by kind and reason (the Ready condition's reason; Other for anything else).",
    labelNames: ['kind', 'reason'] as const,
    registers: [this.registry],
  });
  readonly callbackErrors = new Counter({
    name: 'shoal_callback_errors_total',
    help: 'Exceptions caught in timers and informer handlers (where: a fixed name), which would otherwise end the process.',
    labelNames: ['where'] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'shoal_reconcile_duration_seconds',
    help: 'Duration of one reconcile.',
    labelNames: ['kind'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly stepDuration = new Histogram({
    name: 'shoal_reconcile_step_duration_seconds',
    help: 'Duration of one named step of a reconcile (render, apply, prune...).',
    labelNames: ['kind', 'step'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly workqueueDepth = new Gauge({
    name: 'shoal_workqueue_depth',
    help: 'Keys waiting in the work queue.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly workqueueRetries = new Counter({
    name: 'shoal_workqueue_retries_total',
    help: 'Keys put back in the work queue after a failed reconcile.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly commitToApplied = new Histogram({
    name: 'shoal_commit_to_applied_seconds',
    help: 'From the poll or webhook that found a new commit to an AppGroup having applied it.',
    buckets: [0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });
  /** The groups in each shard this member holds, read at scrape time (set by the operator). */
  shardGroupsOf: (() => Map<number, number>) | undefined;
  readonly shardGroups = new Gauge({
    name: 'shoal_shard_groups',
    help: 'AppGroups in each shard this member holds (sharded mode; a shard it does not hold is absent).',
    labelNames: ['shard'] as const,
    registers: [this.registry],
    collect: () => {
      this.shardGroups.reset();
      for (const [shard, n] of this.shardGroupsOf?.() ?? [])
        this.shardGroups.set({ shard: String(shard) }, n);
    },
  });
  readonly leader = new Gauge({
    name: 'shoal_leader',
    help: '1 while this process holds the leader Lease, or in sharded mode at least one shard (and so writes), else 0.',
    registers: [this.registry],
  });
  readonly gitFetchDuration = new Histogram({
    name: 'shoal_git_fetch_duration_seconds',
    help: 'Duration of git operations that move data: fetch and checkout.',
    labelNames: ['operation'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly gitRequests = new Counter({
    name: 'shoal_git_requests_total',
    help: 'git operations by operation (ls-remote, fetch, checkout) and result (success, error).',
    labelNames: ['operation', 'result'] as const,
    registers: [this.registry],
  });
  readonly webhookRequests = new Counter({
    name: 'shoal_webhook_requests_total',
    help: 'Push webhook requests by provider and result.',
    labelNames: ['provider', 'result'] as const,
    registers: [this.registry],
  });

  readonly autoscalerDesired = new Gauge({
    name: 'shoal_autoscaler_desired_replicas',
    help: 'The replica count the autoscaler decided for an app (after the group budget).',
    labelNames: ['namespace', 'group', 'app'] as const,
    registers: [this.registry],
  });
  readonly autoscalerDecisions = new Counter({
    name: 'shoal_autoscaler_decisions_total',
    help: 'Autoscaler decisions by result (rescaled, unchanged, limited, paused, failed).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  /** AutoscalerMetrics for the autoscaler. */
  readonly autoscaler = {
    desired: (labels: { namespace: string; group: string; app: string }, replicas: number) =>
      this.autoscalerDesired.set(labels, replicas),
    decision: (result: string) => this.autoscalerDecisions.inc({ result }),
    forget: (labels: { namespace: string; group: string; app: string }) =>
      this.autoscalerDesired.remove(labels),
  };

  /** A GitObserver for the git cache. */
  readonly git = {
    observe: (operation: string, result: string, seconds: number) => {
      this.gitRequests.inc({ operation, result });
      if (operation !== 'ls-remote') this.gitFetchDuration.observe({ operation }, seconds);
    },
  };

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'shoal_process_' });
  }
}
