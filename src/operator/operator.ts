import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ObjectRef } from '../api/object-key.ts';
import { SyncMemo } from '../apply/sync-memo.ts';
import type { RunConfig } from '../config.ts';
import { DEFAULT_INVENTORY_LIMITS } from '../diff/inventory.ts';
import { listeningAddr, startHealthServer } from '../http/health-server.ts';
import { Metrics } from '../http/metrics.ts';
import { Kube, loadKubeConfig } from '../kube/client.ts';
import { EventRecorder } from '../kube/events.ts';
import { LeaseApi, leaseRequestTimeoutMs } from '../kube/lease-api.ts';
import { reconcileAppGroup } from '../reconcile/app-group-reconciler.ts';
import { reconcileAutoscale } from '../reconcile/autoscale-reconciler.ts';
import { reconcileChartSource } from '../reconcile/chart-source-reconciler.ts';
import { reconcileGitSource } from '../reconcile/git-source-reconciler.ts';
import { DEFAULT_HELM_OPTIONS } from '../render/helm.ts';
import { DEFAULT_KUSTOMIZE_OPTIONS } from '../render/kustomize.ts';
import { ManifestParser } from '../render/parse-in-worker.ts';
import { RenderCache } from '../render/render-cache.ts';
import { realClock } from '../runtime/clock.ts';
import { logGuardReport } from '../runtime/guard.ts';
import { LeaderElector } from '../runtime/leader-election.ts';
import { type Log, withLogContext } from '../runtime/logger.ts';
import { Manager } from '../runtime/manager.ts';
import { WorkQueue } from '../runtime/work-queue.ts';
import { ChartCache } from '../source/chart-cache.ts';
import { DEFAULT_SOURCE_LIMITS, GitCache } from '../source/git-cache.ts';
import { autoscaling, isScaled } from './autoscale.ts';
import { ownCaches } from './caches.ts';
import { cachedCapabilities } from './capabilities.ts';
import { CommitLatency } from './commit-latency.ts';
import { controller, stepObserver } from './controllers.ts';
import { DashboardMemory, operatorDashboard } from './dashboard.ts';
import { driftWatch } from './drift-watch.ts';
import { gitGarbageCollection } from './git-gc.ts';
import { type Gate, onArtifactChange, sharding } from './sharding.ts';
import { enqueueWhen, needsReconcile, requestedAtMarker } from './triggers.ts';
import { webhookReceiver } from './webhooks.ts';

export interface RunningOperator {
  stop(): Promise<void>;
  /** The health and metrics server. */
  server: Server;
  /** The push webhook receiver, when enabled. */
  webhookServer: Server | undefined;
  /** The dashboard's URL, when it is served. */
  dashboardUrl: string | undefined;
  manager: Manager;
}

export interface OperatorHooks {
  /** Called when this process lost its Lease: it must stop writing and exit (main exits 1). */
  onLostLease?: () => void;
}

/** How long SIGTERM waits for in-flight reconciles before abandoning their writes. */
const SHUTDOWN_GRACE_MS = 10_000;
/**
 * How long a reconcile waits for a drift cache being filled before it lists the group's objects of
 * that kind itself (a full list of 10,000 objects takes ~0.6–1.3 s here; a list that failed ends the
 * wait at once).
 */
const CACHE_START_WAIT_MS = 5_000;

/**
 * `shoal run`, assembled: clients, caches, queues, reconcilers, servers, and the manager that
 * starts and stops them in order (servers, caches, the always-on runnables, then the leader's
 * workers). Resolves once the caches have synced and everything is running.
 */
export async function runOperator(
  config: RunConfig,
  baseLog: Log,
  hooks: OperatorHooks = {},
): Promise<RunningOperator> {
  const log = withLogContext(baseLog);
  const kube = new Kube(loadKubeConfig(config.kube));
  const clock = realClock;
  const metrics = new Metrics();
  const report = logGuardReport(log, (where) => metrics.callbackErrors.inc({ where }));
  const instance = config.instance ?? hostname();
  const le = config.leaderElection;
  const events = new EventRecorder(kube, { clock, instance, dedupeWindowMs: 10 * 60_000, log });
  const git = new GitCache({
    root: config.cacheDir,
    policy: config.urlPolicy,
    env: config.gitEnv,
    limits: DEFAULT_SOURCE_LIMITS,
    observer: metrics.git,
    lsRemoteShareMs: 1_000,
    clock,
  });
  const parser = new ManifestParser();
  const charts = new ChartCache(config.cacheDir);
  const queues = {
    GitSource: new WorkQueue({ clock }),
    ChartSource: new WorkQueue({ clock }),
    AppGroup: new WorkQueue({ clock }),
    Autoscale: new WorkQueue({ clock }),
  };
  const caches = ownCaches(kube, { namespace: config.watchNamespace, clock, log, report });
  // Sharded (--shards=auto, the default with leader election): every member writes the groups of
  // the shards it holds. Otherwise one leader writes everything.
  let manager: Manager | undefined;
  const leading = () => manager?.leading ?? false;
  const shards = sharding({
    kube,
    clock,
    log,
    metrics,
    instance,
    election: le,
    groups: caches.groups,
    sources: { GitSource: caches.sources, ChartSource: caches.chartSources },
    queues,
    isScaled,
    leading,
  });
  manager = new Manager({
    clock,
    log,
    shutdownGraceMs: SHUTDOWN_GRACE_MS,
    ...(shards.coordinator
      ? { elector: shards.coordinator }
      : le.enabled
        ? {
            elector: new LeaderElector(new LeaseApi(kube.config, { timeoutMs: leaseRequestTimeoutMs(le) }), {
              namespace: le.namespace,
              name: le.name,
              identity: `${instance}_${randomBytes(4).toString('hex')}`,
              leaseDurationMs: le.leaseDurationMs,
              renewDeadlineMs: le.renewDeadlineMs,
              retryPeriodMs: le.retryPeriodMs,
              clock,
              log,
            }),
            onLeading: (on: boolean) => metrics.leader.set(on ? 1 : 0),
          }
        : { onLeading: (on: boolean) => metrics.leader.set(on ? 1 : 0) }),
    onLostLease: () => {
      // Stop every write at once; the process is expected to exit (hooks.onLostLease).
      kube.fence('this process lost its Lease');
      hooks.onLostLease?.();
    },
    onAbandon: () => kube.fence('shutting down'),
  });
  const mgr = manager;

  let server: Server | undefined;
  mgr.add({
    name: 'health and metrics',
    group: 'servers',
    async start() {
      server = await startHealthServer(
        config.metricsAddr,
        {
          ready: () => mgr.ready(),
          unhealthy: () => mgr.unhealthy(),
          readyDetail: shards.readyDetail,
        },
        metrics,
      );
      log({ msg: 'serving health and metrics', addr: listeningAddr(server) });
    },
    async stop() {
      const s = server;
      if (s) await new Promise((resolve) => s.close(resolve));
    },
  });

  mgr.add(caches.runnable);
  mgr.add({
    name: 'manifest parser',
    group: 'caches',
    start: async () => {},
    stop: () => parser.close(),
  });
  enqueueWhen(caches.sources, queues.GitSource, needsReconcile, report);
  enqueueWhen(caches.chartSources, queues.ChartSource, needsReconcile, report);
  enqueueWhen(caches.groups, queues.AppGroup, needsReconcile, report);

  const drift = driftWatch(kube, {
    groups: caches.groups,
    namespace: config.watchNamespace,
    clock,
    log,
    report,
    events,
    writes: shards.ownsGroup,
    onDrift: (key, group) => {
      queues.AppGroup.add(key);
      // A replica count someone else changed is corrected at once, not at the next period.
      if (group && isScaled(group)) queues.Autoscale.add(key);
    },
  });
  const autoscaleDeps = autoscaling({
    kube,
    config,
    clock,
    events,
    log,
    metrics,
    reads: caches.reads,
    groups: caches.groups,
    drift: () => drift.watcher,
    queue: queues.Autoscale,
    report,
  });
  // The dashboard's histories, kept only when it is served.
  const memory = config.dashboardAddr ? new DashboardMemory(() => clock.now().getTime()) : undefined;
  const latency = new CommitLatency(clock, (s, group) => {
    metrics.commitToApplied.observe(s);
    memory?.latency(group, s);
  });

  const enqueueGroupsOf = (kind: string, namespace: string, name: string) => {
    for (const g of caches.groups.list(namespace)) {
      if (g.spec.sourceRef.name === name && (g.spec.sourceRef.kind ?? 'GitSource') === kind)
        queues.AppGroup.add(`${namespace}/${g.metadata.name}`);
    }
  };
  /** A source has a new revision: the groups using it sync at once. */
  const sourceChanged = (
    kind: string,
    namespace: string,
    name: string,
    revision: string,
    detectedAt: Date,
  ) => {
    latency.detected(kind, namespace, name, revision, detectedAt);
    enqueueGroupsOf(kind, namespace, name);
  };
  /**
   * Sharded: the status of a source is written by its shard's holder. The others compare the remote
   * with what they fetched themselves, and mark the source when they saw a revision first.
   */
  const nudge = requestedAtMarker(kube, clock, 1_000);
  const sourceSharing = (kind: 'GitSource' | 'ChartSource') =>
    shards.coordinator
      ? {
          writesStatus: shards.writesSourceStatus,
          localArtifacts: new Map<string, object>(),
          onFollowerFetched: (namespace: string, name: string) =>
            void nudge(kind, namespace, name).catch((err: unknown) =>
              log({
                level: 'warn',
                msg: 'could not mark the source',
                kind,
                namespace,
                name,
                error: String(err),
              }),
            ),
        }
      : {};
  // Sharded: a source's new artifact, written by another member, syncs the groups here that use it.
  if (shards.coordinator) {
    onArtifactChange(caches.sources, report, (s) =>
      enqueueGroupsOf('GitSource', s.metadata.namespace ?? '', s.metadata.name ?? ''),
    );
    onArtifactChange(caches.chartSources, report, (s) =>
      enqueueGroupsOf('ChartSource', s.metadata.namespace ?? '', s.metadata.name ?? ''),
    );
  }
  const gitSourceDeps = {
    kube,
    git,
    clock,
    events,
    policy: config.urlPolicy,
    random: Math.random,
    credentialsDir: join(config.cacheDir, 'credentials'),
    reads: caches.reads,
    observeStep: stepObserver('GitSource', metrics, log),
    onRevision: (namespace: string, name: string, revision: string, detectedAt: Date) =>
      sourceChanged('GitSource', namespace, name, revision, detectedAt),
    onCheckedOut: (namespace: string, name: string) => enqueueGroupsOf('GitSource', namespace, name),
    ...sourceSharing('GitSource'),
  };
  const chartSourceDeps = {
    kube,
    charts,
    clock,
    events,
    policy: config.urlPolicy,
    random: Math.random,
    reads: caches.reads,
    observeStep: stepObserver('ChartSource', metrics, log),
    onRevision: (namespace: string, name: string, revision: string, detectedAt: Date) =>
      sourceChanged('ChartSource', namespace, name, revision, detectedAt),
    onCheckedOut: (namespace: string, name: string) => enqueueGroupsOf('ChartSource', namespace, name),
    ...sourceSharing('ChartSource'),
  };
  const appGroupDeps = {
    kube,
    git,
    clock,
    events,
    random: Math.random,
    memo: new SyncMemo(),
    renderCache: new RenderCache(),
    parser,
    kustomize: {
      options: {
        ...DEFAULT_KUSTOMIZE_OPTIONS,
        binary: config.kustomizePath,
        allowRemoteBases: config.allowRemoteBases,
        env: config.gitEnv,
      },
      home: join(config.cacheDir, 'kustomize-home'),
    },
    tenancy: config.tenancy,
    charts,
    helm: {
      ...DEFAULT_HELM_OPTIONS,
      binary: config.helmPath,
      env: config.gitEnv,
      workDir: join(config.cacheDir, 'helm-work'),
    },
    capabilities: cachedCapabilities(kube, clock, log),
    policy: config.urlPolicy,
    inventoryLimits: DEFAULT_INVENTORY_LIMITS,
    onApplied: (group: Parameters<CommitLatency['applied']>[0], revision: string) =>
      latency.applied(group, revision),
    ...(memory
      ? {
          onSynced: (
            group: Parameters<CommitLatency['applied']>[0],
            r: Parameters<DashboardMemory['synced']>[1],
          ) => memory.synced(`${group.metadata.namespace}/${group.metadata.name}`, r),
        }
      : {}),
    reads: caches.reads,
    cachedObjects: {
      list: (apiVersion: string, kind: string, namespace?: string) =>
        drift.watcher.cached(apiVersion, kind, namespace),
      get: (ref: ObjectRef) => drift.watcher.cachedObject(ref),
      watched: (apiVersion: string, kind: string) => drift.watcher.watches(apiVersion, kind),
      started: (apiVersion: string, kind: string) =>
        drift.watcher.started(apiVersion, kind, CACHE_START_WAIT_MS),
    },
    claims: (id: string) => caches.inventories.claims(id),
    observeStep: stepObserver('AppGroup', metrics, log),
    sourceRetryMs: 5_000,
    localWaits: new Map<string, number>(),
    ...(config.defaultServiceAccount ? { defaultServiceAccount: config.defaultServiceAccount } : {}),
  };
  const workers = { concurrency: config.concurrency, metrics, log };
  const gated = (gate: Gate) => (shards.coordinator ? { ...workers, gate } : workers);
  mgr.add(
    controller(
      'GitSource',
      queues.GitSource,
      (key) => reconcileGitSource(gitSourceDeps, key),
      gated(shards.sourceGate('GitSource')),
    ),
  );
  mgr.add(
    controller(
      'ChartSource',
      queues.ChartSource,
      (key) => reconcileChartSource(chartSourceDeps, key),
      gated(shards.sourceGate('ChartSource')),
    ),
  );
  mgr.add(
    controller(
      'AppGroup',
      queues.AppGroup,
      (key) => reconcileAppGroup(appGroupDeps, key),
      gated(shards.groupGate),
    ),
  );
  mgr.add(
    controller(
      'Autoscale',
      queues.Autoscale,
      (key) => reconcileAutoscale(autoscaleDeps, key),
      gated(shards.groupGate),
    ),
  );
  mgr.add(drift.runnable);
  mgr.add(
    gitGarbageCollection(git, charts, {
      sources: caches.sources,
      chartSources: caches.chartSources,
      clock,
      log,
      report,
    }),
  );
  const webhooks = config.webhookAddr
    ? webhookReceiver({
        addr: config.webhookAddr,
        maxBodyBytes: config.webhookMaxBodyBytes,
        kube,
        clock,
        sources: caches.sources,
        metrics,
        log,
        leading: () => mgr.leading,
        shared: shards.shared,
        enqueue: (target) => {
          git.forget(target.url);
          queues.GitSource.add(target.key);
        },
      })
    : undefined;
  if (webhooks) mgr.add(webhooks.runnable);
  const dashboard =
    config.dashboardAddr && memory
      ? operatorDashboard({
          kube,
          addr: config.dashboardAddr,
          readOnly: config.dashboardReadOnly,
          namespace: config.watchNamespace,
          caches,
          drift: () => drift.watcher,
          memory,
          clock,
          log,
          report,
        })
      : undefined;
  for (const r of dashboard?.runnables ?? []) mgr.add(r);

  await mgr.start();
  return {
    server: server as Server,
    webhookServer: webhooks?.server(),
    dashboardUrl: dashboard?.url(),
    manager: mgr,
    stop: () => mgr.stop(),
  };
}
