import type { AppGroupStatus, HistoryEntry, HooksStatus, InventoryEntry } from '../api/app-group.ts';
import { CONDITION, REASON, type Reason } from '../api/conditions.ts';
import { describeRef, type ObjectRef } from '../api/object-key.ts';
import { parseInventory } from '../diff/inventory.ts';
import type { GroupHealth } from '../health/summarize.ts';
import { WaitingError } from '../runtime/errors/waiting-error.ts';
import { setCondition } from './conditions.ts';
import { describeFailure, summarizeFailure, summarizeSuccess } from './summarize.ts';

/** The sync runs kept in status.history. */
export const HISTORY_LIMIT = 5;

/** An event a status change asks for (the reconciler emits it after the write). */
export interface StatusEvent {
  type: 'Normal' | 'Warning';
  reason: Reason;
  message: string;
}

/** What one sync run found and did: everything the next status is computed from. */
export interface SyncOutcome {
  previous: AppGroupStatus;
  generation: number;
  /** The shoal.dev/requested-at this run answers. */
  requested?: string;
  startedAt: Date;
  now: Date;
  revision?: string;
  /** The error that ended the run; undefined when it succeeded. */
  failure?: unknown;
  counts: { created: number; configured: number; deleted: number };
  /** The inventory to record (see nextInventory). */
  inventory: readonly InventoryEntry[];
  health?: GroupHealth;
  /** Objects this run adopted. */
  adopted: readonly ObjectRef[];
  /** Objects the prune left in place, and why. */
  pruneSkipped: readonly { ref: ObjectRef; why: string }[];
  /** Malformed entries of the previous inventory (dropped, never acted on). */
  invalidInventory: readonly string[];
  /** The Helm hooks of the release, when this run ran any. */
  hooks?: HooksStatus;
  /** What the apply step left (memoDigest), when it finished. */
  appliedDigest?: string;
}

const HEALTH_REASON: Record<GroupHealth['status'], Reason> = {
  Healthy: REASON.Succeeded,
  Progressing: REASON.Progressing,
  Degraded: REASON.HealthCheckFailed,
  Missing: REASON.HealthCheckFailed,
  Unknown: REASON.Progressing,
};

const HEALTH_STATUS: Record<GroupHealth['status'], 'True' | 'False' | 'Unknown'> = {
  Healthy: 'True',
  Progressing: 'Unknown',
  Degraded: 'False',
  Missing: 'False',
  Unknown: 'Unknown',
};

/** At most this many objects are named in a message; the rest are counted. */
const NAMED = 10;

function list(names: readonly string[]): string {
  const shown = names.slice(0, NAMED).join(', ');
  return names.length > NAMED ? `${shown} and ${names.length - NAMED} more` : shown;
}

/** A retry that failed like the last run adds no history entry (and so, usually, no status write). */
function sameFailure(last: HistoryEntry | undefined, revision: string, message: string): boolean {
  return last?.result === 'Failed' && last.revision === revision && last.message === message;
}

/** The stale entries of an inventory (as read from the API: anything), as readable names. */
function staleNames(inventory: unknown): string[] {
  return parseInventory(inventory)
    .entries.filter((e) => e.entry.stale)
    .map((e) => describeRef(e.ref));
}

/**
 * The next AppGroup status after a sync run, and the events to emit with it: on success Ready=True,
 * the inventory, lastAppliedRevision and Healthy from the health; on failure Ready=False with the
 * error's reason, the previous lastAppliedRevision and the given inventory. A history entry is added
 * for a run that changed something, applied a new revision or failed anew. status.apps and
 * status.budget are the autoscaler's and are left out. Pure: does not read or write the cluster.
 */
/** Why prune left an object in place, in words for the event. */
function whyKept(s: { ref: ObjectRef; why: string }): string {
  switch (s.why) {
    case 'prune-disabled':
      return s.ref.kind === 'CustomResourceDefinition'
        ? "a CRD marked shoal.dev/prune: disabled, as every chart's CRD is: deleting it would delete every object of it"
        : 'marked shoal.dev/prune: disabled';
    case 'kept':
      return 'marked helm.sh/resource-policy: keep';
    case 'not-owned':
      return "no longer labelled as this group's";
    case 'claimed':
      return "in another group's inventory";
    case 'not-permitted':
      return "outside what the group's tenancy allows";
    default:
      return s.why;
  }
}

export function nextAppGroupStatus(o: SyncOutcome): { status: AppGroupStatus; events: StatusEvent[] } {
  const { apps: _apps, budget: _budget, ...old } = o.previous;
  const revision = o.revision;
  const events: StatusEvent[] = [];
  const changed = o.counts.created + o.counts.configured + o.counts.deleted;
  const base: AppGroupStatus = {
    ...old,
    observedGeneration: o.generation,
    ...(o.requested ? { lastHandledReconcileAt: o.requested } : {}),
    ...(revision ? { lastAttemptedRevision: revision } : {}),
    inventory: [...o.inventory],
    ...(o.hooks ? { hooks: o.hooks } : {}),
    ...(o.appliedDigest ? { appliedDigest: o.appliedDigest } : {}),
  };
  const run = (result: HistoryEntry['result'], message?: string): HistoryEntry[] =>
    [
      {
        revision: revision ?? '',
        startedAt: o.startedAt.toISOString(),
        finishedAt: o.now.toISOString(),
        result,
        ...o.counts,
        ...(message ? { message } : {}),
      },
      ...(old.history ?? []),
    ].slice(0, HISTORY_LIMIT);
  if (o.invalidInventory.length > 0) {
    events.push({
      type: 'Warning',
      reason: REASON.InvalidInventory,
      message:
        `ignored ${o.invalidInventory.length} malformed inventory entr${o.invalidInventory.length === 1 ? 'y' : 'ies'} ` +
        `(dropped, never used for a delete): ${list(o.invalidInventory)}`,
    });
  }
  if (o.failure !== undefined) {
    const { reason, message } = describeFailure(o.failure, REASON.ApplyFailed);
    const waiting = o.failure instanceof WaitingError;
    events.push({ type: 'Warning', reason: reason as Reason, message });
    return {
      status: {
        ...base,
        sync: { status: waiting ? 'Unknown' : 'OutOfSync', ...(revision ? { revision } : {}) },
        conditions: summarizeFailure(
          old.conditions ?? [],
          o.failure,
          o.generation,
          o.now,
          REASON.ApplyFailed,
        ),
        history:
          revision && !waiting && !sameFailure(old.history?.[0], revision, message)
            ? run('Failed', message)
            : (old.history ?? []),
      },
      events,
    };
  }
  const health = o.health ?? { status: 'Unknown' as const, message: 'not assessed' };
  const stale = staleNames(o.inventory);
  const notes = [
    `applied revision ${revision}`,
    ...(stale.length > 0
      ? [`${stale.length} object(s) that left Git are kept because prune is off: ${list(stale)}`]
      : []),
    ...(o.invalidInventory.length > 0
      ? [`dropped ${o.invalidInventory.length} malformed inventory entries`]
      : []),
  ];
  const status: AppGroupStatus = {
    ...base,
    health,
    lastAppliedRevision: revision,
    sync: { status: 'Synced', ...(revision ? { revision } : {}) },
    conditions: setCondition(
      summarizeSuccess(
        old.conditions ?? [],
        REASON.ReconciliationSucceeded,
        notes.join('; '),
        o.generation,
        o.now,
      ),
      {
        type: CONDITION.Healthy,
        status: HEALTH_STATUS[health.status],
        reason: HEALTH_REASON[health.status],
        message: health.message ?? '',
      },
      o.generation,
      o.now,
    ),
    history: changed > 0 || old.lastAppliedRevision !== revision ? run('Succeeded') : (old.history ?? []),
  };
  if (changed > 0) {
    events.push({
      type: 'Normal',
      reason: REASON.ReconciliationSucceeded,
      message: `revision ${revision}: ${o.counts.created} created, ${o.counts.configured} configured, ${o.counts.deleted} deleted`,
    });
  }
  if (o.adopted.length > 0) {
    events.push({
      type: 'Normal',
      reason: REASON.Adopted,
      message: `adopted ${o.adopted.length} existing object(s): ${list(o.adopted.map(describeRef))}`,
    });
  }
  if (health.status === 'Degraded' && old.health?.status !== 'Degraded') {
    events.push({ type: 'Warning', reason: REASON.HealthCheckFailed, message: health.message ?? 'degraded' });
  }
  if (o.pruneSkipped.length > 0) {
    events.push({
      type: 'Normal',
      reason: REASON.PruneSkipped,
      message: `left in place: ${o.pruneSkipped.map((s) => `${describeRef(s.ref)} (${whyKept(s)})`).join(', ')}`,
    });
  }
  const staleBefore = staleNames(old.inventory);
  if (stale.length > 0 && stale.join() !== staleBefore.join()) {
    events.push({
      type: 'Normal',
      reason: REASON.StaleObjects,
      message: `${stale.length} object(s) left Git and are kept because prune is off: ${list(stale)}`,
    });
  }
  return { status, events };
}
