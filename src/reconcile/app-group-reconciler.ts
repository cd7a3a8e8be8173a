import { jitter } from '../api/duration.ts';
import { ANNOTATIONS } from '../api/group.ts';
import { keyOf, parseKey } from '../api/object-key.ts';
import { entryOf, nextInventory, parseInventory } from '../diff/inventory.ts';
import type { ReconcileResult } from '../runtime/controller.ts';
import { WaitingError } from '../runtime/errors/waiting-error.ts';
import { nextAppGroupStatus } from '../status/app-group-status.ts';
import {
  type AppGroupContext,
  type AppGroupReconcilerDeps,
  applierFor,
  reads,
  tenantOf,
} from './app-group-context.ts';
import { ensureFinalizer, finalize } from './app-group-finalizer.ts';
import { writeGroupStatus } from './app-group-status-writer.ts';
import { APP_GROUP_STEPS } from './app-group-steps.ts';
import { runAndReport } from './run-steps.ts';

export type { AppGroupReconcilerDeps } from './app-group-context.ts';

/** The interval when spec.interval cannot be read (the group is Stalled until it is fixed). */
const FALLBACK_INTERVAL_MS = 5 * 60_000;

/**
 * Reconciles one AppGroup: resolve the GitSource's artifact, render the manifests under `path`,
 * check the tenancy policy, and apply them (dry-run first, ownership checked, then staged
 * server-side apply), prune, assess health. Status is written once at the end: on success the
 * inventory and lastAppliedRevision; on failure Ready=False with a reason, the previous
 * lastAppliedRevision, and the inventory plus whatever was confirmed written.
 */
export async function reconcileAppGroup(deps: AppGroupReconcilerDeps, key: string): Promise<ReconcileResult> {
  const { namespace, name } = parseKey(key);
  const group = await reads(deps).group(namespace, name);
  if (!group) return {};
  const applier = applierFor(deps, group);
  if (group.metadata.deletionTimestamp) return finalize(deps, group, applier);
  await ensureFinalizer(deps, group);
  const started = deps.clock.now();
  const ctx: AppGroupContext = {
    deps,
    group,
    applier,
    tenant: tenantOf(deps, group),
    inventory: parseInventory(group.status?.inventory),
    intervalMs: FALLBACK_INTERVAL_MS,
    timeoutMs: FALLBACK_INTERVAL_MS,
    objects: [],
    hooks: [],
    applied: [],
  };
  const result = await runAndReport(
    APP_GROUP_STEPS,
    ctx,
    (failure) => report(ctx, failure, started),
    deps.observeStep,
  );
  if (result.stop) return {};
  const interval = jitter(ctx.intervalMs, deps.random());
  return { requeueAfterMs: Math.min(interval, result.requeueAfterMs ?? interval) };
}

/**
 * How long a group may wait on this process's own preparation before the wait is reported like any
 * other (a checkout that takes this long is worth saying so).
 */
export const LOCAL_WAIT_MS = 60_000;

/**
 * Whether `failure` is a wait on this process's own preparation that began less than LOCAL_WAIT_MS
 * ago: a new operator pod with an empty cache, or a source created with its groups. Reporting it would
 * turn every group Ready=False with a Warning for the seconds a checkout takes (and cost two requests
 * each); the source's reconcile here enqueues the group once the artifact is ready.
 */
function quietWait(ctx: AppGroupContext, failure: unknown): boolean {
  const waits = ctx.deps.localWaits;
  if (!waits) return false;
  const key = keyOf(ctx.group);
  if (!(failure instanceof WaitingError && failure.local)) {
    waits.delete(key);
    return false;
  }
  const now = ctx.deps.clock.now().getTime();
  const since = waits.get(key) ?? now;
  if (!waits.has(key) && waits.size >= 100_000) waits.clear();
  waits.set(key, since);
  return now - since < LOCAL_WAIT_MS;
}

/** Computes the next status (pure), writes it, then emits the events it asks for. */
async function report(ctx: AppGroupContext, failure: unknown, started: Date): Promise<void> {
  if (quietWait(ctx, failure)) return;
  const { deps, group } = ctx;
  const previous = group.status ?? {};
  const succeeded = failure === undefined;
  const inventory = nextInventory({
    old: ctx.inventory.entries.map((e) => e.entry),
    applied: ctx.applied.map((a) => entryOf(a.ref, a.version, a.adopted ? { adopted: true } : {})),
    succeeded,
    pruneEnabled: group.spec.prune === true,
    ...(ctx.pruned ? { pruneFailed: ctx.pruned.failed.map((f) => f.entry) } : {}),
  });
  const { status, events } = nextAppGroupStatus({
    previous,
    generation: group.metadata.generation ?? 0,
    ...(group.metadata.annotations?.[ANNOTATIONS.requestedAt]
      ? { requested: group.metadata.annotations[ANNOTATIONS.requestedAt] }
      : {}),
    startedAt: started,
    now: deps.clock.now(),
    ...(ctx.revision ? { revision: ctx.revision } : {}),
    failure,
    counts: {
      created: ctx.applied.filter((a) => a.action === 'created').length,
      configured: ctx.applied.filter((a) => a.action === 'configured').length,
      deleted: ctx.pruned?.deleted.length ?? 0,
    },
    inventory,
    ...(ctx.health ? { health: ctx.health } : {}),
    adopted: ctx.applied.filter((a) => a.adopted).map((a) => a.ref),
    pruneSkipped: ctx.pruned?.skipped ?? [],
    invalidInventory: ctx.inventory.invalid,
    ...(ctx.hookStatus ? { hooks: ctx.hookStatus } : {}),
    ...(ctx.appliedDigest ? { appliedDigest: ctx.appliedDigest } : {}),
  });
  await writeGroupStatus(deps, group, status);
  deps.onSynced?.(group, {
    at: deps.clock.now().getTime(),
    revision: ctx.revision,
    durationMs: deps.clock.now().getTime() - started.getTime(),
    succeeded,
    objects: [
      ...ctx.applied.map((a) => ({ ref: a.ref, action: a.action, ...(a.diff ? { diff: a.diff } : {}) })),
      ...(ctx.pruned?.deleted ?? []).map((ref) => ({ ref, action: 'pruned' as const })),
    ],
    more: 0,
  });
  if (succeeded && ctx.revision && previous.lastAppliedRevision !== ctx.revision) {
    deps.onApplied?.(group, ctx.revision);
  }
  for (const e of events) await deps.events.emit(group, e.type, e.reason, e.message);
}
