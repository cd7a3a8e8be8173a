import type { AppGroup, AppGroupStatus } from '../api/app-group.ts';
import { REASON } from '../api/conditions.ts';
import { KINDS } from '../api/group.ts';
import { KubeApiError } from '../kube/kube-api-error.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import { sameJson, statusRefOf, writeStatusIfChanged } from '../status/write-status.ts';
import { type AppGroupReconcilerDeps, reads } from './app-group-context.ts';

/**
 * The status to write after `previous`: `computed`, except that the applied digest rides along with
 * a write made for anything else and alone never causes one (objects whose status churns, an HPA's,
 * move it on every re-sync). An older digest is still safe, since it matches only while nothing
 * changed since the apply that left it; it is just less often of use. Pure.
 */
export function statusToWrite(previous: AppGroupStatus, computed: AppGroupStatus): AppGroupStatus {
  // The common case (the digest did not move) needs no comparison here: the write compares anyway.
  if (computed.appliedDigest === previous.appliedDigest) return computed;
  const carried = { ...computed, appliedDigest: previous.appliedDigest };
  return sameJson(previous, carried) ? carried : computed;
}

/**
 * Writes the group's status unless unchanged, and tells the reads about the new version. status.apps
 * and status.budget belong to the autoscaler: a merge patch without them leaves them be. A write the
 * API server refuses (too large, forbidden, invalid) is itself reported, in a Warning event, and
 * fails the reconcile with StatusWriteFailed.
 */
export async function writeGroupStatus(
  deps: AppGroupReconcilerDeps,
  group: AppGroup,
  status: AppGroupStatus,
): Promise<void> {
  const { apps: _apps, budget: _budget, ...previous } = group.status ?? {};
  const { apps: _a, budget: _b, ...computed } = status;
  const next = statusToWrite(previous, computed);
  let result: Awaited<ReturnType<typeof writeStatusIfChanged>>;
  try {
    result = await writeStatusIfChanged(
      deps.kube,
      statusRefOf(KINDS.AppGroup.plural, group),
      previous,
      next,
      deps.clock,
    );
  } catch (err) {
    const e = KubeApiError.from(err);
    const message = `could not write the AppGroup's status (${e.code || 'no answer'} ${e.reason}): ${e.message}`;
    await deps.events.emit(group, 'Warning', REASON.StatusWriteFailed, message);
    throw new ReconcileError(REASON.StatusWriteFailed, message, { cause: e });
  }
  if (result.wrote) reads(deps).wrote(group, result.resourceVersion);
}
