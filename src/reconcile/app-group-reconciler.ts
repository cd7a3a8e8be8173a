import type { AppGroup, AppGroupStatus, HistoryEntry, InventoryEntry } from '../api/app-group.ts';
import { CONDITION, REASON, type Reason } from '../api/conditions.ts';
import { jitter, parseDuration } from '../api/duration.ts';
import type { GitSource } from '../api/git-source.ts';
import { ANNOTATIONS, API_GROUP, API_VERSION, FINALIZER, KINDS } from '../api/group.ts';
import { describeRef, inventoryId, keyOf } from '../api/object-key.ts';
import { type AppliedObject, applyStaged } from '../apply/apply-staged.ts';
import { type Owner, type PruneResult, prune, staleEntries } from '../apply/prune.ts';
import { type CachedObjects, memoOf, SyncMemo, unchangedSince } from '../apply/sync-memo.ts';
import { objectHealth } from '../health/rules.ts';
import { type GroupHealth, groupHealth } from '../health/summarize.ts';
import type { Kube } from '../kube/client.ts';
import type { EventRecorder } from '../kube/events.ts';
import { decorate } from '../render/decorate.ts';
import type { KustomizeOptions } from '../render/kustomize.ts';
import { loadManifests } from '../render/load.ts';
import type { ManifestParser } from '../render/parse-in-worker.ts';
import type { RenderedObject } from '../render/parse-manifests.ts';
import { RenderCache } from '../render/render-cache.ts';
import { assignReplicaOwnership } from '../render/replica-ownership.ts';
import type { Clock } from '../runtime/clock.ts';
import type { ReconcileResult } from '../runtime/controller.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import { WaitingError } from '../runtime/errors/waiting-error.ts';
import type { GitCache } from '../source/git-cache.ts';
import { setCondition } from '../status/conditions.ts';
import { statusRefOf, writeStatusIfChanged } from '../status/write-status.ts';
import { type CachedReads, liveReads } from './cached-reads.ts';
import { resolveScopes } from './resolve-scopes.ts';
import { runAndReport, type Step } from './run-steps.ts';
import { describeFailure, summarizeFailure, summarizeSuccess } from './summarize.ts';

export interface AppGroupReconcilerDeps {
  kube: Kube;
  git: GitCache;
  clock: Clock;
  events: EventRecorder;
  random: () => number;
  /** How long to wait before looking again at a source that is not ready. */
  sourceRetryMs: number;
  /** ServiceAccount (in the group's namespace) to apply as when spec.serviceAccountName is unset. */
  defaultServiceAccount?: string;
  /** What each group's last successful apply left, to skip re-syncs that would change nothing. */
  memo: SyncMemo;
  /** Parsed manifests by tree digest and path. */
  renderCache: RenderCache;
  /** Parses manifests off the event loop. */
  parser: ManifestParser;
  /** How kustomizations are built (binary, remote bases), and kustomize's HOME. */
  kustomize: { options: KustomizeOptions; home: string };
  /** Called once a group has applied a revision it had not applied before. */
  onApplied?: (group: AppGroup, revision: string) => void;
  /** Managed objects from the operator's watch caches, to check an unchanged re-sync without a LIST. */
  cachedObjects?: CachedObjects;
  /** Reads AppGroups and GitSources (from the informer caches, in the operator); default: GET. */
  reads?: CachedReads;
}

interface Context {
  deps: AppGroupReconcilerDeps;
  group: AppGroup;
  /** The client that renders, dry-runs, applies and prunes: the group's identity. */
  applier: Kube;
  source?: GitSource;
  revision?: string;
  digest?: string;
  artifactDir?: string;
  objects: RenderedObject[];
  applied: AppliedObject[];
  pruned?: PruneResult;
  health?: GroupHealth;
}

const HISTORY_LIMIT = 5;

const HEALTH_REASON: Record<GroupHealth['status'], Reason> = {
  Healthy: REASON.Succeeded,
  Progressing: REASON.Progressing,
  Degraded: REASON.HealthCheckFailed,
  Missing: REASON.HealthCheckFailed,
  Unknown: REASON.Progressing,
};

const resolveSource: Step<Context> = {
  name: 'resolveSource',
  async run(ctx) {
    if (ctx.group.spec.suspend) return { stop: true };
    const namespace = ctx.group.metadata.namespace ?? '';
    const name = ctx.group.spec.sourceRef.name;
    const source = await reads(ctx.deps).source(namespace, name);
    if (!source)
      throw new WaitingError(
        REASON.SourceNotReady,
        `GitSource ${name} was not found`,
        ctx.deps.sourceRetryMs,
      );
    const revision = source.status?.artifact?.revision;
    const digest = source.status?.artifact?.digest;
    if (!revision || !digest) {
      throw new WaitingError(
        REASON.SourceNotReady,
        `GitSource ${name} has no artifact yet`,
        ctx.deps.sourceRetryMs,
      );
    }
    if (!(await ctx.deps.git.hasArtifact(digest))) {
      // Fetched by another process, or before a restart: the GitSource reconcile checks it out again.
      throw new WaitingError(
        REASON.SourceNotReady,
        `revision ${revision} (tree ${digest}) is not checked out yet`,
        ctx.deps.sourceRetryMs,
      );
    }
    ctx.source = source;
    ctx.revision = revision;
    ctx.digest = digest;
    ctx.artifactDir = ctx.deps.git.artifactDir(digest);
    return undefined;
  },
};

/** Waits until every AppGroup named in spec.dependsOn (same namespace) is Ready for its generation. */
const checkDependencies: Step<Context> = {
  name: 'checkDependencies',
  async run(ctx) {
    for (const dep of ctx.group.spec.dependsOn ?? []) {
      const other = await reads(ctx.deps).group(ctx.group.metadata.namespace ?? '', dep.name);
      const ready = other?.status?.conditions?.find((c) => c.type === CONDITION.Ready);
      const current = other !== undefined && other.status?.observedGeneration === other.metadata.generation;
      if (!other || !current || ready?.status !== 'True') {
        throw new WaitingError(
          REASON.DependencyNotReady,
          `waiting for AppGroup ${dep.name} to be Ready${other ? '' : ' (it does not exist)'}`,
          ctx.deps.sourceRetryMs,
        );
      }
    }
    return undefined;
  },
};

const render: Step<Context> = {
  name: 'render',
  async run(ctx) {
    const { path = '.', patches = [] } = ctx.group.spec;
    const parsed = await ctx.deps.renderCache.get(RenderCache.key(ctx.digest ?? '', path, patches), () =>
      loadManifests(ctx.deps.parser, ctx.artifactDir ?? '', path, patches, ctx.deps.kustomize),
    );
    const scopes = await resolveScopes(
      ctx.applier,
      parsed.map((p) => p.object),
    );
    const decorated = decorate(parsed, {
      owner: ownerOf(ctx.group),
      targetNamespace: ctx.group.spec.targetNamespace ?? ctx.group.metadata.namespace ?? 'default',
      namespaced: scopes,
    });
    ctx.objects = assignReplicaOwnership(decorated, ctx.group.spec.apps ?? []);
    const { prune: pruning, allowEmpty } = ctx.group.spec;
    if (
      ctx.objects.length === 0 &&
      pruning &&
      !allowEmpty &&
      (ctx.group.status?.inventory?.length ?? 0) > 0
    ) {
      throw new ReconcileError(
        REASON.EmptySourceRefused,
        `path "${ctx.group.spec.path ?? '.'}" renders no objects; refusing to prune all ${ctx.group.status?.inventory?.length} ` +
          'objects of this group (set spec.allowEmpty to allow it)',
      );
    }
    return undefined;
  },
};

/**
 * Applies the rendered objects. When Git renders exactly what the last successful apply sent and
 * every live object is still at the resourceVersion that apply left (one labelled LIST per kind),
 * nothing is dry-run or written: a re-sync of an unchanged group costs a few reads.
 */
const apply: Step<Context> = {
  name: 'apply',
  async run(ctx) {
    const memoKey = `${keyOf(ctx.group)}|${ctx.group.spec.serviceAccountName ?? ctx.deps.defaultServiceAccount ?? ''}`;
    const memo = ctx.deps.memo.get(memoKey);
    if (memo && SyncMemo.matches(memo, ctx.objects)) {
      const unchanged = await unchangedSince(
        ctx.applier,
        ctx.objects,
        memo,
        ownerOf(ctx.group),
        // A reconcile someone asked for (shoal reconcile, requested-at) looks at the cluster itself.
        requestedNow(ctx.group) ? undefined : ctx.deps.cachedObjects,
      );
      if (unchanged) {
        ctx.applied = unchanged;
        return undefined;
      }
    }
    ctx.deps.memo.forget(memoKey);
    ctx.applied = await applyStaged(ctx.applier, ctx.objects, {
      onApplied: (a) => ctx.applied.push(a),
    });
    ctx.deps.memo.set(memoKey, memoOf(ctx.objects, ctx.applied));
    return undefined;
  },
};

/** Deletes what left Git, when spec.prune is on; failed deletes stay in the inventory and fail the run. */
const pruneStale: Step<Context> = {
  name: 'prune',
  async run(ctx) {
    if (!ctx.group.spec.prune) return undefined;
    const stale = staleEntries(ctx.group.status?.inventory ?? [], toInventory(ctx.applied));
    if (stale.length === 0) return undefined;
    ctx.pruned = await prune(ctx.applier, stale, ownerOf(ctx.group));
    const failed = ctx.pruned.failed;
    if (failed.length > 0) {
      throw new ReconcileError(
        REASON.PruneFailed,
        `could not delete ${failed.length} object(s), kept in the inventory for a retry: ` +
          failed.map((f) => `${describeRef(f.ref)}: ${f.message}`).join('; '),
      );
    }
    return undefined;
  },
};

/** How soon a group that is still rolling out is looked at again: a quarter of its timeout, 1 to 10 s. */
const recheckMs = (timeoutMs: number) => Math.min(10_000, Math.max(1_000, Math.round(timeoutMs / 4)));

/**
 * Health of what was applied, from the API server's answers to the applies (no extra reads). A
 * rollout that is still in progress `spec.timeout` after it started is Degraded.
 */
const assessHealth: Step<Context> = {
  name: 'assessHealth',
  async run(ctx) {
    const now = ctx.deps.clock.now().getTime();
    const changed = ctx.applied.some((a) => a.action !== 'unchanged');
    const lastChange = ctx.group.status?.history?.find((h) => h.result === 'Succeeded')?.finishedAt;
    const since = changed || !lastChange ? now : Date.parse(lastChange);
    const timeoutMs = parseDuration(ctx.group.spec.timeout ?? '5m');
    ctx.health = groupHealth(
      ctx.applied.map((a) => ({ name: describeRef(a.ref), health: objectHealth(a.live) })),
      now - since,
      timeoutMs,
    );
    return ctx.health.status === 'Progressing' ? { requeueAfterMs: recheckMs(timeoutMs) } : undefined;
  },
};

const STEPS = [resolveSource, checkDependencies, render, apply, pruneStale, assessHealth];

function ownerOf(group: AppGroup): Owner {
  return { groupName: group.metadata.name ?? '', groupNamespace: group.metadata.namespace ?? '' };
}

function toInventory(applied: readonly AppliedObject[]): InventoryEntry[] {
  const byId = new Map(applied.map((a) => [inventoryId(a.ref), a.version]));
  return [...byId.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([id, v]) => ({ id, v }));
}

/** A retry that failed like the last run adds no history entry (and so, usually, no status write). */
function sameFailure(last: HistoryEntry | undefined, revision: string, message: string): boolean {
  return last?.result === 'Failed' && last.revision === revision && last.message === message;
}

function sortedEntries(entries: Iterable<[string, string]>): InventoryEntry[] {
  return [...new Map(entries).entries()].sort(([a], [b]) => a.localeCompare(b)).map(([id, v]) => ({ id, v }));
}

/**
 * The inventory after a run. After a prune: what was applied plus what failed to delete. After a
 * failure before any prune: the old inventory plus whatever was confirmed written, so a partial
 * apply is never forgotten. After a success without prune: what Git declares. Pure.
 */
function nextInventory(old: readonly InventoryEntry[], ctx: Context, succeeded: boolean): InventoryEntry[] {
  const applied = toInventory(ctx.applied).map((e): [string, string] => [e.id, e.v]);
  if (ctx.pruned)
    return sortedEntries([
      ...applied,
      ...ctx.pruned.failed.map((f): [string, string] => [f.entry.id, f.entry.v]),
    ]);
  if (succeeded) return sortedEntries(applied);
  return sortedEntries([...old.map((e): [string, string] => [e.id, e.v]), ...applied]);
}

/**
 * Reconciles one AppGroup: resolve the GitSource's artifact, render the manifests under `path`, and
 * apply them (dry-run first, then staged server-side apply). Status is written once at the end: on
 * success the inventory and lastAppliedRevision; on failure Ready=False with a reason, the previous
 * lastAppliedRevision, and the inventory plus whatever was confirmed written.
 */
export async function reconcileAppGroup(deps: AppGroupReconcilerDeps, key: string): Promise<ReconcileResult> {
  const [namespace, name] = key.split('/') as [string, string];
  const group = await reads(deps).group(namespace, name);
  if (!group) return {};
  const applier = applierFor(deps, group);
  if (group.metadata.deletionTimestamp) return finalize(deps, group, applier);
  if (!group.metadata.finalizers?.includes(FINALIZER)) {
    await setFinalizers(deps, group, [...(group.metadata.finalizers ?? []), FINALIZER]);
  }
  const started = deps.clock.now();
  const ctx: Context = { deps, group, applier, objects: [], applied: [] };
  const generation = group.metadata.generation ?? 0;
  const requested = group.metadata.annotations?.[ANNOTATIONS.requestedAt];
  const result = await runAndReport(STEPS, ctx, (failure) =>
    writeStatus(ctx, failure, generation, requested, started),
  );
  if (result.stop) return {};
  const interval = jitter(parseDuration(group.spec.interval ?? '5m'), deps.random());
  return { requeueAfterMs: Math.min(interval, result.requeueAfterMs ?? interval) };
}

/**
 * The identity a group applies with: its spec.serviceAccountName, else the operator's configured
 * default, both in the group's namespace (impersonated); else the operator's own.
 */
function applierFor(deps: AppGroupReconcilerDeps, group: AppGroup): Kube {
  const sa = group.spec.serviceAccountName ?? deps.defaultServiceAccount;
  return sa
    ? deps.kube.impersonating(`system:serviceaccount:${group.metadata.namespace ?? ''}:${sa}`)
    : deps.kube;
}

/** Whether this reconcile answers a new shoal.dev/requested-at (a user asked to reconcile now). */
function requestedNow(group: AppGroup): boolean {
  const requested = group.metadata.annotations?.[ANNOTATIONS.requestedAt];
  return requested !== undefined && requested !== group.status?.lastHandledReconcileAt;
}

/** How this reconciler reads AppGroups and GitSources. */
function reads(deps: AppGroupReconcilerDeps): CachedReads {
  return deps.reads ?? liveReads(deps.kube);
}

/** Writes the group's status unless unchanged; tells the reads about the new version. */
async function writeGroupStatus(deps: AppGroupReconcilerDeps, group: AppGroup, status: AppGroupStatus) {
  // status.apps and status.budget belong to the autoscaler: a merge patch without them leaves them be.
  const { apps: _apps, budget: _budget, ...previous } = group.status ?? {};
  const { apps: _a, budget: _b, ...next } = status;
  const result = await writeStatusIfChanged(
    deps.kube,
    statusRefOf(KINDS.AppGroup.plural, group),
    previous,
    next,
  );
  if (result.wrote) reads(deps).wrote(group, result.resourceVersion);
}

/** Sets metadata.finalizers, guarded by resourceVersion (a concurrent change answers 409 and retries). */
async function setFinalizers(
  deps: AppGroupReconcilerDeps,
  group: AppGroup,
  finalizers: string[],
): Promise<void> {
  const resourceVersion = await deps.kube.mergePatch(
    {
      group: API_GROUP,
      version: API_VERSION,
      plural: KINDS.AppGroup.plural,
      namespace: group.metadata.namespace ?? '',
      name: group.metadata.name ?? '',
    },
    { metadata: { finalizers, resourceVersion: group.metadata.resourceVersion } },
  );
  reads(deps).wrote(group, resourceVersion);
}

/**
 * A deleted AppGroup: with `prune`, deletes what it applied (owner labels checked, as in any prune)
 * and keeps the finalizer until every delete succeeded; without it, orphans the objects. Then
 * removes the finalizer.
 */
async function finalize(
  deps: AppGroupReconcilerDeps,
  group: AppGroup,
  applier: Kube,
): Promise<ReconcileResult> {
  if (!group.metadata.finalizers?.includes(FINALIZER)) return {};
  const inventory = group.status?.inventory ?? [];
  if (group.spec.prune && !group.spec.suspend && inventory.length > 0) {
    const result = await prune(applier, inventory, ownerOf(group));
    if (result.failed.length > 0) {
      const status = { ...group.status, inventory: result.failed.map((f) => f.entry) };
      await writeGroupStatus(deps, group, status);
      const message = `deleting: could not delete ${result.failed.map((f) => `${describeRef(f.ref)} (${f.message})`).join('; ')}`;
      await deps.events.emit(group, 'Warning', REASON.PruneFailed, message);
      throw new ReconcileError(REASON.PruneFailed, message);
    }
    await deps.events.emit(
      group,
      'Normal',
      'Pruned',
      `deleted ${result.deleted.length} object(s) of the deleted AppGroup`,
    );
  } else if (inventory.length > 0) {
    await deps.events.emit(
      group,
      'Normal',
      'Orphaned',
      `left ${inventory.length} object(s) in place (prune is off)`,
    );
  }
  await setFinalizers(
    deps,
    group,
    (group.metadata.finalizers ?? []).filter((f) => f !== FINALIZER),
  );
  return {};
}

async function writeStatus(
  ctx: Context,
  failure: unknown,
  generation: number,
  requested: string | undefined,
  started: Date,
): Promise<void> {
  const { deps, group } = ctx;
  const now = deps.clock.now();
  const old = group.status ?? {};
  const revision = ctx.revision;
  const counts = {
    created: ctx.applied.filter((a) => a.action === 'created').length,
    configured: ctx.applied.filter((a) => a.action === 'configured').length,
    deleted: ctx.pruned?.deleted.length ?? 0,
  };
  const base: AppGroupStatus = {
    ...old,
    observedGeneration: generation,
    ...(requested ? { lastHandledReconcileAt: requested } : {}),
    ...(revision ? { lastAttemptedRevision: revision } : {}),
  };
  let status: AppGroupStatus;
  const run = (result: HistoryEntry['result'], message?: string): HistoryEntry[] =>
    [
      {
        revision: revision ?? '',
        startedAt: started.toISOString(),
        finishedAt: now.toISOString(),
        result,
        ...counts,
        ...(message ? { message } : {}),
      },
      ...(old.history ?? []),
    ].slice(0, HISTORY_LIMIT);
  if (failure === undefined) {
    const message = `applied revision ${revision}`;
    const health = ctx.health ?? { status: 'Unknown' as const, message: 'not assessed' };
    status = {
      ...base,
      health,
      lastAppliedRevision: revision,
      inventory: nextInventory(old.inventory ?? [], ctx, true),
      sync: { status: 'Synced', ...(revision ? { revision } : {}) },
      conditions: setCondition(
        summarizeSuccess(old.conditions ?? [], REASON.ReconciliationSucceeded, message, generation, now),
        {
          type: CONDITION.Healthy,
          status:
            health.status === 'Healthy' ? 'True' : health.status === 'Progressing' ? 'Unknown' : 'False',
          reason: HEALTH_REASON[health.status],
          message: health.message ?? '',
        },
        generation,
        now,
      ),
      history:
        counts.created + counts.configured + counts.deleted > 0 || old.lastAppliedRevision !== revision
          ? run('Succeeded')
          : (old.history ?? []),
    };
  } else {
    const { reason, message } = describeFailure(failure, REASON.ApplyFailed);
    const waiting = failure instanceof WaitingError;
    status = {
      ...base,
      inventory: nextInventory(old.inventory ?? [], ctx, false),
      sync: { status: waiting ? 'Unknown' : 'OutOfSync', ...(revision ? { revision } : {}) },
      conditions: summarizeFailure(old.conditions ?? [], failure, generation, now, REASON.ApplyFailed),
      history:
        revision && !waiting && !sameFailure(old.history?.[0], revision, message)
          ? run('Failed', message)
          : (old.history ?? []),
    };
    await deps.events.emit(group, 'Warning', reason, message);
  }
  await writeGroupStatus(deps, group, status);
  if (failure === undefined && revision && old.lastAppliedRevision !== revision) {
    deps.onApplied?.(group, revision);
  }
  if (failure === undefined && counts.created + counts.configured + counts.deleted > 0) {
    await deps.events.emit(
      group,
      'Normal',
      REASON.ReconciliationSucceeded,
      `revision ${revision}: ${counts.created} created, ${counts.configured} configured, ${counts.deleted} deleted`,
    );
  }
  if (failure === undefined && ctx.health?.status === 'Degraded' && old.health?.status !== 'Degraded') {
    await deps.events.emit(group, 'Warning', REASON.HealthCheckFailed, ctx.health.message ?? 'degraded');
  }
  const skipped = ctx.pruned?.skipped ?? [];
  if (skipped.length > 0) {
    await deps.events.emit(
      group,
      'Normal',
      'PruneSkipped',
      `left in place: ${skipped.map((s) => `${describeRef(s.ref)} (${s.why})`).join(', ')}`,
    );
  }
}
