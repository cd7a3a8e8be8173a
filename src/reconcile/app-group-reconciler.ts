import type { AppGroup, AppGroupStatus, HistoryEntry, InventoryEntry } from '../api/app-group.ts';
import { REASON } from '../api/conditions.ts';
import { jitter, parseDuration } from '../api/duration.ts';
import type { GitSource } from '../api/git-source.ts';
import { ANNOTATIONS, API_GROUP, API_VERSION, KINDS } from '../api/group.ts';
import { inventoryId } from '../api/object-key.ts';
import { type AppliedObject, applyStaged } from '../apply/apply-staged.ts';
import type { Kube } from '../kube/client.ts';
import type { EventRecorder } from '../kube/events.ts';
import { applyPatches } from '../render/apply-patches.ts';
import { decorate } from '../render/decorate.ts';
import { parseManifests, type RenderedObject } from '../render/parse-manifests.ts';
import { readManifests } from '../render/read-manifests.ts';
import type { Clock } from '../runtime/clock.ts';
import type { ReconcileResult } from '../runtime/controller.ts';
import { WaitingError } from '../runtime/errors/waiting-error.ts';
import type { GitCache } from '../source/git-cache.ts';
import { statusRefOf, writeStatusIfChanged } from '../status/write-status.ts';
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
}

interface Context {
  deps: AppGroupReconcilerDeps;
  group: AppGroup;
  source?: GitSource;
  revision?: string;
  artifactDir?: string;
  objects: RenderedObject[];
  applied: AppliedObject[];
}

const HISTORY_LIMIT = 5;

const resolveSource: Step<Context> = {
  name: 'resolveSource',
  async run(ctx) {
    if (ctx.group.spec.suspend) return { stop: true };
    const namespace = ctx.group.metadata.namespace ?? '';
    const name = ctx.group.spec.sourceRef.name;
    const source = await ctx.deps.kube.get<GitSource>({
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: KINDS.GitSource.kind,
      namespace,
      name,
    });
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
        `revision ${revision} is not checked out yet`,
        ctx.deps.sourceRetryMs,
      );
    }
    ctx.source = source;
    ctx.revision = revision;
    ctx.artifactDir = ctx.deps.git.artifactDir(digest);
    return undefined;
  },
};

const render: Step<Context> = {
  name: 'render',
  async run(ctx) {
    const files = await readManifests(ctx.artifactDir ?? '', ctx.group.spec.path ?? '.');
    const parsed = applyPatches(parseManifests(files), ctx.group.spec.patches ?? []);
    const scopes = await resolveScopes(
      ctx.deps.kube,
      parsed.map((p) => p.object),
    );
    ctx.objects = decorate(parsed, {
      groupName: ctx.group.metadata.name ?? '',
      groupNamespace: ctx.group.metadata.namespace ?? '',
      targetNamespace: ctx.group.spec.targetNamespace ?? ctx.group.metadata.namespace ?? 'default',
      namespaced: scopes,
    });
    return undefined;
  },
};

const apply: Step<Context> = {
  name: 'apply',
  async run(ctx) {
    ctx.applied = await applyStaged(ctx.deps.kube, ctx.objects, {
      onApplied: (a) => ctx.applied.push(a),
    });
    return undefined;
  },
};

const STEPS = [resolveSource, render, apply];

function toInventory(applied: readonly AppliedObject[]): InventoryEntry[] {
  const byId = new Map(applied.map((a) => [inventoryId(a.ref), a.version]));
  return [...byId.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([id, v]) => ({ id, v }));
}

/** A retry that failed like the last run adds no history entry (and so, usually, no status write). */
function sameFailure(last: HistoryEntry | undefined, revision: string, message: string): boolean {
  return last?.result === 'Failed' && last.revision === revision && last.message === message;
}

/** Old inventory plus what was confirmed written, so a partial apply is never forgotten. Pure. */
function mergeInventory(old: readonly InventoryEntry[], applied: readonly AppliedObject[]): InventoryEntry[] {
  const merged = new Map(old.map((e) => [e.id, e.v]));
  for (const e of toInventory(applied)) merged.set(e.id, e.v);
  return [...merged.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([id, v]) => ({ id, v }));
}

/**
 * Reconciles one AppGroup: resolve the GitSource's artifact, render the manifests under `path`, and
 * apply them (dry-run first, then staged server-side apply). Status is written once at the end: on
 * success the inventory and lastAppliedRevision; on failure Ready=False with a reason, the previous
 * lastAppliedRevision, and the inventory plus whatever was confirmed written.
 */
export async function reconcileAppGroup(deps: AppGroupReconcilerDeps, key: string): Promise<ReconcileResult> {
  const [namespace, name] = key.split('/') as [string, string];
  const group = await deps.kube.get<AppGroup>({
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    kind: KINDS.AppGroup.kind,
    name,
    namespace,
  });
  if (!group || group.metadata.deletionTimestamp) return {};
  const started = deps.clock.now();
  const ctx: Context = { deps, group, objects: [], applied: [] };
  const generation = group.metadata.generation ?? 0;
  const requested = group.metadata.annotations?.[ANNOTATIONS.requestedAt];
  const result = await runAndReport(STEPS, ctx, (failure) =>
    writeStatus(ctx, failure, generation, requested, started),
  );
  if (result.stop) return {};
  return { requeueAfterMs: jitter(parseDuration(group.spec.interval ?? '5m'), deps.random()) };
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
    deleted: 0,
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
    status = {
      ...base,
      lastAppliedRevision: revision,
      inventory: toInventory(ctx.applied),
      sync: { status: 'Synced', ...(revision ? { revision } : {}) },
      conditions: summarizeSuccess(
        old.conditions ?? [],
        REASON.ReconciliationSucceeded,
        message,
        generation,
        now,
      ),
      history:
        counts.created + counts.configured > 0 || old.lastAppliedRevision !== revision
          ? run('Succeeded')
          : (old.history ?? []),
    };
  } else {
    const { reason, message } = describeFailure(failure, REASON.ApplyFailed);
    const waiting = failure instanceof WaitingError;
    status = {
      ...base,
      inventory: mergeInventory(old.inventory ?? [], ctx.applied),
      sync: { status: waiting ? 'Unknown' : 'OutOfSync', ...(revision ? { revision } : {}) },
      conditions: summarizeFailure(old.conditions ?? [], failure, generation, now, REASON.ApplyFailed),
      history:
        revision && !waiting && !sameFailure(old.history?.[0], revision, message)
          ? run('Failed', message)
          : (old.history ?? []),
    };
    await deps.events.emit(group, 'Warning', reason, message);
  }
  await writeStatusIfChanged(deps.kube, statusRefOf(KINDS.AppGroup.plural, group), group.status, status);
  if (failure === undefined && counts.created + counts.configured > 0) {
    await deps.events.emit(
      group,
      'Normal',
      REASON.ReconciliationSucceeded,
      `revision ${revision}: ${counts.created} created, ${counts.configured} configured`,
    );
  }
}
