import { REASON } from '../api/conditions.ts';
import { FIELD_MANAGERS, LABELS } from '../api/group.ts';
import type { KubernetesObject } from '../api/object.ts';
import { describeRef, refOf } from '../api/object-key.ts';
import { objectHealth } from '../health/rules.ts';
import type { Kube } from '../kube/client.ts';
import { KubeApiError } from '../kube/kube-api-error.ts';
import { type HookPhase, hookBatches } from '../render/hooks.ts';
import type { RenderedObject } from '../render/parse-manifests.ts';
import type { Clock } from '../runtime/clock.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import { mapLimit } from '../runtime/map-limit.ts';
import { poll } from '../runtime/poll.ts';
import type { Owner } from './prune.ts';

export interface HookRunOptions {
  clock: Clock;
  /** How long one batch may take to finish (Jobs complete, the rest Ready): spec.timeout. */
  timeoutMs: number;
  owner: Owner;
}

type Job = KubernetesObject & {
  status?: { conditions?: { type: string; status: string; message?: string }[] };
};

/** Whether a hook object is done: a Job when Complete (or Failed), anything else once Current. Pure. */
export function hookState(live: KubernetesObject): { done: boolean; failed?: string } {
  if (live.kind === 'Job') {
    const c = (live as Job).status?.conditions ?? [];
    const failed = c.find((x) => (x.type === 'Failed' || x.type === 'FailureTarget') && x.status === 'True');
    if (failed) return { done: true, failed: failed.message ?? 'the Job failed' };
    return { done: c.some((x) => x.type === 'Complete' && x.status === 'True') };
  }
  const h = objectHealth(live);
  if (h.status === 'Failed') return { done: true, failed: h.message };
  return { done: h.status === 'Current' };
}

const ours = (live: KubernetesObject, owner: Owner) =>
  live.metadata?.labels?.[LABELS.hookGroupName] === owner.groupName &&
  live.metadata?.labels?.[LABELS.hookGroupNamespace] === owner.groupNamespace;

async function deleteAndWait(kube: Kube, item: RenderedObject, opts: HookRunOptions): Promise<void> {
  const ref = refOf(item.object);
  const live = await kube.get<KubernetesObject>(ref);
  if (!live) return;
  if (!ours(live, opts.owner))
    throw new ReconcileError(
      REASON.OwnershipConflict,
      `the hook ${describeRef(ref)} exists and is not this group's; refused`,
    );
  await kube
    .delete(item.object, {
      propagationPolicy: 'Background',
      preconditions: { uid: live.metadata?.uid, resourceVersion: live.metadata?.resourceVersion },
    })
    .catch((err: unknown) => {
      if (KubeApiError.from(err).code !== 404) throw err;
    });
  await poll(
    { clock: opts.clock, intervalMs: 200, timeoutMs: opts.timeoutMs },
    async () => ((await kube.get(ref)) === undefined ? true : undefined),
    () => new ReconcileError(REASON.HookFailed, `the old hook ${describeRef(ref)} was not deleted in time`),
  );
}

/**
 * Runs one phase of Helm hooks, batch by batch in weight order: each batch is dry-run whole first
 * (one invalid hook, nothing applied), then an object left by an earlier run is deleted when its
 * delete policy is before-hook-creation (only if it is this group's hook), the batch is applied
 * (server-side, as shoal), and waited for: Jobs until they complete, the rest until Ready, within
 * the timeout. Afterwards hook-succeeded or hook-failed deletes them. A failure throws HookFailed
 * naming the hook, and no later batch runs.
 */
export async function runHookPhase(
  kube: Kube,
  hooks: readonly RenderedObject[],
  phase: HookPhase,
  opts: HookRunOptions,
): Promise<number> {
  let ran = 0;
  for (const batch of hookBatches(hooks, phase)) {
    const apply = (item: RenderedObject, dryRun: boolean) =>
      kube.apply(item.object, { fieldManager: FIELD_MANAGERS.sync, force: true, dryRun });
    const dry = await mapLimit(batch, 8, async (item) =>
      apply(item, true).then(
        () => undefined,
        (err: unknown) => `${describeRef(refOf(item.object))}: ${KubeApiError.from(err).message}`,
      ),
    );
    const invalid = dry.filter((d): d is string => d !== undefined);
    if (invalid.length > 0)
      throw new ReconcileError(
        REASON.HookFailed,
        `${phase} hooks failed their dry-run, none was applied: ${invalid.join('; ')}`,
      );
    for (const item of batch) {
      if (item.hook?.deletePolicies.includes('before-hook-creation')) await deleteAndWait(kube, item, opts);
      else {
        const live = await kube.get<KubernetesObject>(refOf(item.object));
        if (live && !ours(live, opts.owner))
          throw new ReconcileError(
            REASON.OwnershipConflict,
            `the hook ${describeRef(refOf(item.object))} exists and is not this group's`,
          );
      }
      await apply(item, false);
    }
    ran += batch.length;
    let failure: string | undefined;
    try {
      await poll(
        { clock: opts.clock, intervalMs: 500, timeoutMs: opts.timeoutMs },
        async () => {
          const states = await Promise.all(
            batch.map(async (item) => {
              const live = await kube.get<KubernetesObject>(refOf(item.object));
              return { item, state: live ? hookState(live) : { done: false } };
            }),
          );
          const bad = states.find((s) => s.state.failed);
          if (bad) {
            failure = `${describeRef(refOf(bad.item.object))}: ${bad.state.failed}`;
            return true;
          }
          return states.every((s) => s.state.done) ? true : undefined;
        },
        () =>
          new ReconcileError(
            REASON.HookFailed,
            `${phase} hooks were not done within ${opts.timeoutMs / 1000}s`,
          ),
      );
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
    }
    const policy = failure === undefined ? 'hook-succeeded' : 'hook-failed';
    for (const item of batch) {
      if (item.hook?.deletePolicies.includes(policy))
        await kube.delete(item.object).catch((err: unknown) => {
          if (KubeApiError.from(err).code !== 404) throw err;
        });
    }
    if (failure !== undefined)
      throw new ReconcileError(REASON.HookFailed, `${phase} hook failed: ${failure}`);
  }
  return ran;
}
