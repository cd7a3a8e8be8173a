import type { AppGroup, AppGroupStatus } from '../api/app-group.ts';
import { REASON } from '../api/conditions.ts';
import { API_GROUP, API_VERSION, FINALIZER, KINDS } from '../api/group.ts';
import { describeRef } from '../api/object-key.ts';
import { orphansOf, prune } from '../apply/prune.ts';
import { policyViolation } from '../apply/tenancy.ts';
import { parseInventory } from '../diff/inventory.ts';
import type { Kube } from '../kube/client.ts';
import type { ReconcileResult } from '../runtime/controller.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import { describeFailure, summarizeFailure } from '../status/summarize.ts';
import { type AppGroupReconcilerDeps as Deps, ownerOf, reads, tenantOf } from './app-group-context.ts';
import { writeGroupStatus } from './app-group-status-writer.ts';

/** At most this many objects are named in a message about a blocked deletion. */
const NAMED = 20;

/** Adds the finalizer when missing (guarded by resourceVersion: a concurrent change answers 409). */
export async function ensureFinalizer(deps: Deps, group: AppGroup): Promise<void> {
  if (group.metadata.finalizers?.includes(FINALIZER)) return;
  await setFinalizers(deps, group, [...(group.metadata.finalizers ?? []), FINALIZER]);
}

/** Sets metadata.finalizers, guarded by resourceVersion (a concurrent change answers 409 and retries). */
async function setFinalizers(deps: Deps, group: AppGroup, finalizers: string[]): Promise<void> {
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
 * A deleted AppGroup: with `prune`, deletes what it applied (ownership and the tenancy policy
 * checked, as in any prune) and keeps the finalizer until every delete succeeded; without it,
 * orphans the objects. Then removes the finalizer. A deletion that cannot finish says so in status
 * (Ready=False, DeletionBlocked, the objects left behind) and in a Warning event, and is retried.
 */
export async function finalize(deps: Deps, group: AppGroup, applier: Kube): Promise<ReconcileResult> {
  if (!group.metadata.finalizers?.includes(FINALIZER)) return {};
  const inventory = parseInventory(group.status?.inventory);
  const entries = inventory.entries;
  if (group.spec.prune && !group.spec.suspend && entries.length > 0) {
    const tenant = tenantOf(deps, group);
    const orphans = orphansOf(
      deps.cachedObjects,
      ownerOf(group),
      entries.map((e) => e.ref),
      new Set(entries.map((e) => e.entry.id)),
    );
    let left: { ids: string[]; lines: string[] };
    try {
      const result = await prune(applier, [...entries, ...orphans], ownerOf(group), {
        claims: deps.claims ?? (() => []),
        forbidden: (ref) => policyViolation(ref, tenant, deps.tenancy),
      });
      left = {
        ids: result.failed.map((f) => f.entry.id),
        lines: result.failed.map((f) => `${describeRef(f.ref)} (${f.message})`),
      };
      if (left.ids.length === 0) {
        await deps.events.emit(
          group,
          'Normal',
          REASON.Pruned,
          `deleted ${result.deleted.length} object(s) of the deleted AppGroup`,
        );
        if (result.skipped.length > 0) {
          await deps.events.emit(
            group,
            'Normal',
            REASON.PruneSkipped,
            `left in place: ${result.skipped.map((s) => `${describeRef(s.ref)} (${s.why})`).join(', ')}`,
          );
        }
      }
    } catch (err) {
      // Nothing was deleted: a read failed (the ServiceAccount is gone, the API server refused).
      left = {
        ids: entries.map((e) => e.entry.id),
        lines: [describeFailure(err, REASON.PruneFailed).message],
      };
    }
    if (left.ids.length > 0) await blocked(deps, group, left, entries.length + orphans.length);
  } else if (entries.length > 0) {
    await deps.events.emit(
      group,
      'Normal',
      REASON.Orphaned,
      `left ${entries.length} object(s) in place (prune is off)`,
    );
  }
  await setFinalizers(
    deps,
    group,
    (group.metadata.finalizers ?? []).filter((f) => f !== FINALIZER),
  );
  return {};
}

/** Says why a deletion cannot finish, in status and an event, then fails the reconcile (retried). */
async function blocked(
  deps: Deps,
  group: AppGroup,
  left: { ids: string[]; lines: string[] },
  total: number,
): Promise<never> {
  const keep = new Set(left.ids);
  const names = parseInventory(group.status?.inventory)
    .entries.filter((e) => keep.has(e.entry.id))
    .map((e) => describeRef(e.ref));
  const shown =
    names.slice(0, NAMED).join(', ') + (names.length > NAMED ? ` and ${names.length - NAMED} more` : '');
  const message =
    `the AppGroup is being deleted but ${left.ids.length} of its ${total} object(s) could not be deleted, and ` +
    `it waits for them: ${shown}; because: ${left.lines.join('; ')}. Fix the cause (for example restore the ` +
    `ServiceAccount), or remove the finalizer ${FINALIZER} to leave them in place`;
  const error = new ReconcileError(REASON.DeletionBlocked, message);
  const now = deps.clock.now();
  const generation = group.metadata.generation ?? 0;
  const status: AppGroupStatus = {
    ...group.status,
    inventory: (group.status?.inventory ?? []).filter((e) => keep.has(e?.id)),
    conditions: summarizeFailure(
      group.status?.conditions ?? [],
      error,
      generation,
      now,
      REASON.DeletionBlocked,
    ),
  };
  await writeGroupStatus(deps, group, status);
  await deps.events.emit(group, 'Warning', REASON.DeletionBlocked, message, 'Delete');
  throw error;
}
