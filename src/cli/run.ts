import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { AppGroup } from '../api/app-group.ts';
import { REASON } from '../api/conditions.ts';
import type { GitSource } from '../api/git-source.ts';
import { ANNOTATIONS, API_GROUP, API_VERSION, KINDS } from '../api/group.ts';
import { keyOf, refFromInventory } from '../api/object-key.ts';
import { SyncMemo } from '../apply/sync-memo.ts';
import { Autoscaler } from '../autoscale/autoscaler.ts';
import { PrometheusClient } from '../autoscale/sources.ts';
import type { RunConfig } from '../config.ts';
import { startHealthServer } from '../http/health-server.ts';
import { Metrics } from '../http/metrics.ts';
import { startWebhookServer } from '../http/webhook/webhook-server.ts';
import { Kube, loadKubeConfig } from '../kube/client.ts';
import { EventRecorder } from '../kube/events.ts';
import { reconcileAppGroup } from '../reconcile/app-group-reconciler.ts';
import { cachedReads } from '../reconcile/cached-reads.ts';
import { DriftWatcher } from '../reconcile/drift-watcher.ts';
import { reconcileGitSource } from '../reconcile/git-source-reconciler.ts';
import { describeFailure } from '../reconcile/summarize.ts';
import { DEFAULT_KUSTOMIZE_OPTIONS } from '../render/kustomize.ts';
import { ManifestParser } from '../render/parse-in-worker.ts';
import { RenderCache } from '../render/render-cache.ts';
import { ownsReplicas } from '../render/replica-ownership.ts';
import { realClock } from '../runtime/clock.ts';
import { type Reconcile, runWorkers } from '../runtime/controller.ts';
import { StalledError } from '../runtime/errors/stalled-error.ts';
import { WaitingError } from '../runtime/errors/waiting-error.ts';
import { type InformerLike, startResilient } from '../runtime/informer.ts';
import { LeaderElector } from '../runtime/leader-election.ts';
import { type Log, logContext, withLogContext } from '../runtime/logger.ts';
import { WorkQueue } from '../runtime/work-queue.ts';
import { DEFAULT_SOURCE_LIMITS, GitCache } from '../source/git-cache.ts';

type Watched = GitSource | AppGroup;

/** Enqueue on create, on a spec change (generation) or a new requested-at; never on status-only writes. */
function needsReconcile(oldObj: Watched | undefined, obj: Watched): boolean {
  if (!oldObj) return true;
  return (
    oldObj.metadata.generation !== obj.metadata.generation ||
    oldObj.metadata.annotations?.[ANNOTATIONS.requestedAt] !==
      obj.metadata.annotations?.[ANNOTATIONS.requestedAt] ||
    (obj.metadata.deletionTimestamp !== undefined && oldObj.metadata.deletionTimestamp === undefined)
  );
}

export interface RunningOperator {
  stop(): Promise<void>;
  server: Server;
  /** The push webhook receiver, when enabled. */
  webhookServer: Server | undefined;
}

/** How long a webhook secret's token is reused before it is read again. */
const TOKEN_TTL_MS = 10_000;
/** Garbage collection of artifacts and mirrors: how often, and how long unused ones are kept. */
const GC_PERIOD_MS = 10 * 60_000;
const GC_GRACE_MS = 60 * 60_000;
/** How long SIGTERM waits for in-flight reconciles before abandoning their writes. */
const SHUTDOWN_GRACE_MS = 10_000;
/** The safety re-list of the GitSource and AppGroup caches. */
const RELIST_EVERY_MS = 10 * 60_000;
/** Revisions whose detection time is remembered for shoal_commit_to_applied_seconds. */
const DETECTED_LIMIT = 10_000;
/** How often the set of watched kinds follows the groups' inventories. */
const DRIFT_WATCH_SYNC_MS = 5_000;

/**
 * `shoal run`: watches GitSources and AppGroups, reconciles them with a work queue per kind, and
 * serves /healthz, /readyz and /metrics. Workers start only after both caches have synced.
 */
export interface OperatorHooks {
  /** Called when this process lost its Lease: it must stop writing and exit (main exits 1). */
  onLostLease?: () => void;
}

export async function runOperator(
  config: RunConfig,
  baseLog: Log,
  hooks: OperatorHooks = {},
): Promise<RunningOperator> {
  const log = withLogContext(baseLog);
  const kube = new Kube(loadKubeConfig(config.kube));
  const clock = realClock;
  const metrics = new Metrics();
  let ready = false;
  const server = await startHealthServer(config.metricsAddr, { ready: () => ready }, metrics);
  log({ msg: 'serving health and metrics', addr: config.metricsAddr });

  const events = new EventRecorder(kube, {
    clock,
    instance: config.instance ?? hostname(),
    dedupeWindowMs: 10 * 60_000,
    log,
  });
  const git = new GitCache({
    root: config.cacheDir,
    policy: config.urlPolicy,
    env: config.gitEnv,
    limits: DEFAULT_SOURCE_LIMITS,
    observer: metrics.git,
    lsRemoteShareMs: 1_000,
  });
  const credentialsDir = join(config.cacheDir, 'credentials');
  const memo = new SyncMemo();
  const renderCache = new RenderCache();
  const parser = new ManifestParser();
  const kustomize = {
    options: {
      ...DEFAULT_KUSTOMIZE_OPTIONS,
      binary: config.kustomizePath,
      allowRemoteBases: config.allowRemoteBases,
      env: config.gitEnv,
    },
    home: join(config.cacheDir, 'kustomize-home'),
  };
  const queues = {
    GitSource: new WorkQueue({ clock }),
    AppGroup: new WorkQueue({ clock }),
    Autoscale: new WorkQueue({ clock }),
  };
  const gv = `${API_GROUP}/${API_VERSION}`;
  const ns = config.watchNamespace;
  const base = ns ? `/apis/${gv}/namespaces/${ns}` : `/apis/${gv}`;
  const scope = ns ? { namespace: ns } : {};
  const groupInformer = kube.informer(
    `${base}/${KINDS.AppGroup.plural}`,
    gv,
    KINDS.AppGroup.kind,
    scope,
  ) as unknown as InformerLike<AppGroup>;
  const sourceInformer = kube.informer(
    `${base}/${KINDS.GitSource.plural}`,
    gv,
    KINDS.GitSource.kind,
    scope,
  ) as unknown as InformerLike<GitSource>;

  const wire = <T extends Watched>(informer: InformerLike<T>, queue: WorkQueue) => {
    const seen = new Map<string, T>();
    informer.on('add', (obj) => {
      seen.set(keyOf(obj), obj);
      queue.add(keyOf(obj));
    });
    informer.on('update', (obj) => {
      const key = keyOf(obj);
      if (needsReconcile(seen.get(key), obj)) queue.add(key);
      seen.set(key, obj);
    });
    informer.on('delete', (obj) => {
      seen.delete(keyOf(obj));
    });
  };
  wire(sourceInformer, queues.GitSource);
  wire(groupInformer, queues.AppGroup);
  // Reconcilers read their objects from these caches, not with a GET each.
  const reads = cachedReads(kube, { group: groupInformer, source: sourceInformer });

  // The autoscaler decides a group's apps every sync period, and at once when the group is new,
  // its spec changed or its inventory did (a workload was created); never on its own status writes.
  const autoscaler = new Autoscaler({
    kube,
    clock,
    events,
    log,
    options: {
      tolerance: { scaleUp: config.autoscaler.tolerance, scaleDown: config.autoscaler.tolerance },
      cpuInitializationPeriodMs: config.autoscaler.cpuInitializationPeriodMs,
      initialReadinessDelayMs: config.autoscaler.initialReadinessDelayMs,
      downscaleStabilizationMs: config.autoscaler.downscaleStabilizationMs,
    },
    syncPeriodMs: config.autoscaler.syncPeriodMs,
    group: (namespace, name) => reads.group(namespace, name),
    wrote: (group, resourceVersion) => reads.wrote(group, resourceVersion),
    cached: (apiVersion, kind, namespace) => drift.cached(apiVersion, kind, namespace),
    prometheus: new PrometheusClient(),
    ...(config.autoscaler.prometheusAddress
      ? { defaultPrometheusAddress: config.autoscaler.prometheusAddress }
      : {}),
    metrics: metrics.autoscaler,
  });
  // Groups with apps to scale, or with decisions in status still to clear; no other group costs a reconcile.
  const scaled = (g: AppGroup) => (g.spec.apps ?? []).some(ownsReplicas) || (g.status?.apps?.length ?? 0) > 0;
  // What of a group makes the autoscaler look at once: its spec (generation) and its inventory.
  const signatures = new Map<string, string>();
  const signature = (g: AppGroup) => JSON.stringify([g.metadata.generation, g.status?.inventory ?? []]);
  groupInformer.on('add', (g) => {
    signatures.set(keyOf(g), signature(g));
    if (scaled(g)) queues.Autoscale.add(keyOf(g));
  });
  groupInformer.on('update', (g) => {
    const key = keyOf(g);
    const next = signature(g);
    if (signatures.get(key) !== next && scaled(g)) queues.Autoscale.add(key);
    signatures.set(key, next);
  });
  groupInformer.on('delete', (g) => {
    signatures.delete(keyOf(g));
    autoscaler.forget(keyOf(g));
  });

  // Commit-to-applied: when each new revision of a source was found, until its groups applied it.
  const detected = new Map<string, number>();
  const onRevision = (namespace: string, name: string, revision: string, detectedAt: Date) => {
    detected.set(`${namespace}/${name}|${revision}`, detectedAt.getTime());
    if (detected.size > DETECTED_LIMIT) {
      const oldest = detected.keys().next().value;
      if (oldest !== undefined) detected.delete(oldest);
    }
    for (const g of groupInformer.list(namespace)) {
      if (g.spec.sourceRef.name === name) queues.AppGroup.add(keyOf(g));
    }
  };
  const onApplied = (group: AppGroup, revision: string) => {
    const at = detected.get(`${group.metadata.namespace}/${group.spec.sourceRef.name}|${revision}`);
    if (at !== undefined) metrics.commitToApplied.observe((clock.now().getTime() - at) / 1000);
  };
  const random = Math.random;
  const instrument =
    (kind: keyof typeof queues, fn: Reconcile): Reconcile =>
    (key) =>
      logContext.run({ kind, key, reconcileId: randomBytes(6).toString('hex') }, async () => {
        const end = metrics.reconcileDuration.startTimer({ kind });
        try {
          const result = await fn(key);
          metrics.reconcileTotal.inc({ kind, result: 'success' });
          log({ level: 'debug', msg: 'reconciled', requeueAfterMs: result.requeueAfterMs });
          return result;
        } catch (err) {
          const result =
            err instanceof StalledError ? 'stalled' : err instanceof WaitingError ? 'waiting' : 'error';
          metrics.reconcileTotal.inc({ kind, result });
          throw err;
        } finally {
          end();
          metrics.workqueueDepth.set({ kind }, queues[kind].length);
        }
      });
  const onError =
    (kind: keyof typeof queues) => (key: string, err: unknown, retryInMs: number | undefined) => {
      const { reason, message } = describeFailure(err, REASON.Progressing);
      if (retryInMs !== undefined) metrics.workqueueRetries.inc({ kind });
      log({ level: 'warn', msg: 'reconcile failed', kind, key, reason, error: message, retryInMs });
    };

  const informerOptions = {
    clock,
    baseDelayMs: 500,
    maxDelayMs: 30_000,
    log,
    relistEveryMs: RELIST_EVERY_MS,
  };
  const stops = await Promise.all([
    startResilient(sourceInformer, { ...informerOptions, name: 'gitsources' }),
    startResilient(groupInformer, { ...informerOptions, name: 'appgroups' }),
  ]);
  log({ msg: 'caches synced', concurrency: config.concurrency });
  // Only the leader writes: workers run from the moment this process holds the Lease (or at once
  // without leader election); keys queue up meanwhile, de-duplicated.
  const startWorkers = () =>
    Promise.all([
      runWorkers(
        queues.GitSource,
        config.concurrency,
        instrument('GitSource', (key) =>
          reconcileGitSource(
            {
              kube,
              git,
              clock,
              events,
              policy: config.urlPolicy,
              random,
              onRevision,
              credentialsDir,
              reads,
            },
            key,
          ),
        ),
        { onError: onError('GitSource') },
      ),
      runWorkers(
        queues.AppGroup,
        config.concurrency,
        instrument('AppGroup', (key) =>
          reconcileAppGroup(
            {
              kube,
              git,
              clock,
              events,
              random,
              memo,
              renderCache,
              parser,
              kustomize,
              onApplied,
              reads,
              cachedObjects: (apiVersion, kind, namespace) => drift.cached(apiVersion, kind, namespace),
              sourceRetryMs: 5_000,
              ...(config.defaultServiceAccount
                ? { defaultServiceAccount: config.defaultServiceAccount }
                : {}),
            },
            key,
          ),
        ),
        { onError: onError('AppGroup') },
      ),
      runWorkers(
        queues.Autoscale,
        config.concurrency,
        instrument('Autoscale', (key) => autoscaler.reconcile(key)),
        { onError: onError('Autoscale') },
      ),
    ]);
  let workers: Promise<unknown> = Promise.resolve();
  let leading = false;
  // Drift: watch what the groups applied (by owner label) and re-sync a group whose objects someone
  // else changed or deleted; the leader says who, in a Warning event.
  const drift = new DriftWatcher(kube, {
    clock,
    log,
    ...(ns ? { groupNamespace: ns } : {}),
    onDrift: (key, description, author) => {
      queues.AppGroup.add(key);
      const [namespace, name] = key.split('/');
      const group = groupInformer.list(namespace).find((g) => g.metadata.name === name);
      // A replica count someone else changed is corrected at once, not at the next period.
      if (group && scaled(group)) queues.Autoscale.add(key);
      if (!leading || !author) return;
      if (group) void events.emit(group, 'Warning', 'DriftDetected', `${description}; re-syncing`);
    },
  });
  const syncDriftWatches = () => {
    const kinds = new Map<string, { apiVersion: string; kind: string }>();
    for (const g of groupInformer.list()) {
      for (const entry of g.status?.inventory ?? []) {
        const ref = refFromInventory(entry);
        kinds.set(`${ref.apiVersion}|${ref.kind}`, { apiVersion: ref.apiVersion, kind: ref.kind });
      }
    }
    drift
      .sync([...kinds.values()])
      .catch((err: unknown) => log({ level: 'warn', msg: 'drift watch sync failed', error: String(err) }));
  };
  syncDriftWatches();
  // A group whose inventory gains a kind nobody watches yet starts that watch at once; everything
  // else (kinds no inventory has any more) waits for the periodic sync, so a status write costs no
  // walk over every group's inventory.
  groupInformer.on('update', (g) => {
    const watched = new Set(drift.kinds);
    const fresh = (g.status?.inventory ?? []).some((entry) => {
      const ref = refFromInventory(entry);
      return !watched.has(`${ref.apiVersion}|${ref.kind}`);
    });
    if (fresh) syncDriftWatches();
  });
  const driftTimer = setInterval(syncDriftWatches, DRIFT_WATCH_SYNC_MS);
  driftTimer.unref();
  const le = config.leaderElection;
  const elector = le.enabled
    ? // A client of its own: fencing the writers must not keep it from releasing the Lease.
      new LeaderElector(new Kube(kube.config), {
        namespace: le.namespace,
        name: le.name,
        identity: `${config.instance ?? hostname()}_${randomBytes(4).toString('hex')}`,
        leaseDurationMs: le.leaseDurationMs,
        renewDeadlineMs: le.renewDeadlineMs,
        retryPeriodMs: le.retryPeriodMs,
        clock,
        log,
      })
    : undefined;
  if (elector) {
    metrics.leader.set(0);
    elector.run({
      onStartedLeading: () => {
        leading = true;
        metrics.leader.set(1);
        workers = startWorkers();
      },
      onStoppedLeading: () => {
        // Stop every write at once; the process is expected to exit (hooks.onLostLease).
        leading = false;
        kube.fence('this process lost its leader Lease');
        metrics.leader.set(0);
        queues.GitSource.shutDown();
        queues.AppGroup.shutDown();
        queues.Autoscale.shutDown();
        hooks.onLostLease?.();
      },
    });
  } else {
    leading = true;
    metrics.leader.set(1);
    workers = startWorkers();
  }
  ready = true;

  const tokens = new Map<string, { at: number; token: Promise<string | undefined> }>();
  const webhookServer = config.webhookAddr
    ? await startWebhookServer(
        config.webhookAddr,
        {
          sources: () =>
            sourceInformer.list().map((s) => ({
              key: keyOf(s),
              namespace: s.metadata.namespace ?? '',
              url: s.spec.url,
              ...(s.spec.webhookSecretRef ? { webhookSecretName: s.spec.webhookSecretRef.name } : {}),
            })),
          token: (namespace, name) => {
            const id = `${namespace}/${name}`;
            const now = clock.now().getTime();
            const cached = tokens.get(id);
            if (cached && now - cached.at < TOKEN_TTL_MS) return cached.token;
            const token = kube
              .get<{ data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'Secret', namespace, name })
              .then((secret) => {
                const t = secret?.data?.token;
                return t === undefined ? undefined : Buffer.from(t, 'base64').toString('utf8');
              })
              .catch(() => undefined);
            tokens.set(id, { at: now, token });
            return token;
          },
          enqueue: (target) => {
            git.forget(target.url);
            queues.GitSource.add(target.key);
          },
          count: (provider, result) => metrics.webhookRequests.inc({ provider, result }),
          log,
        },
        { maxBodyBytes: config.webhookMaxBodyBytes },
      )
    : undefined;
  if (webhookServer) log({ msg: 'serving push webhooks', addr: config.webhookAddr });

  const collect = () => {
    const keep = new Set(
      sourceInformer.list().flatMap((s) => (s.status?.artifact?.digest ? [s.status.artifact.digest] : [])),
    );
    git.collectGarbage(keep, GC_GRACE_MS).then(
      (removed) => {
        if (removed.artifacts + removed.mirrors > 0) log({ msg: 'removed unused git data', ...removed });
      },
      (err: unknown) => log({ level: 'warn', msg: 'git garbage collection failed', error: String(err) }),
    );
  };
  const gcTimer = setInterval(collect, GC_PERIOD_MS);
  gcTimer.unref();

  return {
    server,
    webhookServer,
    async stop() {
      ready = false;
      clearInterval(gcTimer);
      clearInterval(driftTimer);
      await drift.stop();
      if (webhookServer) await new Promise((resolve) => webhookServer.close(resolve));
      queues.GitSource.shutDown();
      queues.AppGroup.shutDown();
      queues.Autoscale.shutDown();
      // In-flight reconciles get a grace period to finish; after it their writes are refused, so
      // nothing is written once the Lease is released.
      const finished = await Promise.race([
        workers.then(() => true),
        new Promise<false>((resolve) => clock.after(SHUTDOWN_GRACE_MS, () => resolve(false))),
      ]);
      if (!finished) {
        kube.fence('shutting down');
        log({ level: 'warn', msg: 'abandoned in-flight reconciles', graceMs: SHUTDOWN_GRACE_MS });
      }
      await Promise.all(stops.map((s) => s()));
      await elector?.release();
      await new Promise((resolve) => server.close(resolve));
      await parser.close();
    },
  };
}
