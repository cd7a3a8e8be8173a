import type { AppGroup } from '../api/app-group.ts';
import { CONDITION, REASON } from '../api/conditions.ts';
import { parseDuration } from '../api/duration.ts';
import { ANNOTATIONS } from '../api/group.ts';
import { describeRef, inventoryId, keyOf, refOf, versionOf } from '../api/object-key.ts';
import { applyStaged } from '../apply/apply-staged.ts';
import { checkOwnership } from '../apply/ownership.ts';
import { orphansOf, prune } from '../apply/prune.ts';
import { memoDigest, memoOf, SyncMemo, unchangedSince, unchangedSinceDigest } from '../apply/sync-memo.ts';
import { policyRule, policyViolation, policyViolations } from '../apply/tenancy.ts';
import { entryOf, inventoryOverLimit, staleEntries } from '../diff/inventory.ts';
import { objectHealth } from '../health/rules.ts';
import { groupHealth } from '../health/summarize.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import { StalledError } from '../runtime/errors/stalled-error.ts';
import { WaitingError } from '../runtime/errors/waiting-error.ts';
import { type AppGroupContext as Context, ownerOf, reads } from './app-group-context.ts';
import { postHooks, preHooks } from './app-group-hooks.ts';
import { render, resolveSource } from './app-group-render.ts';
import type { Step } from './run-steps.ts';

/** A spec stored past the CRD's validation (an older CRD, a direct etcd write) stalls only this group. */
export const validateSpec: Step<Context> = {
  name: 'validateSpec',
  async run(ctx) {
    for (const [field, text, fallback] of [
      ['interval', ctx.group.spec.interval, '5m'],
      ['timeout', ctx.group.spec.timeout, '5m'],
    ] as const) {
      try {
        const ms = parseDuration(text ?? fallback);
        if (!(ms > 0)) throw new Error('must be greater than zero');
        if (field === 'interval') ctx.intervalMs = ms;
        else ctx.timeoutMs = ms;
      } catch (err) {
        throw new StalledError(
          REASON.InvalidSpec,
          `spec.${field} "${String(text).slice(0, 40)}": ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    return ctx.group.spec.suspend ? { stop: true } : undefined;
  },
};

/** Waits until every AppGroup named in spec.dependsOn (same namespace) is Ready for its generation. */
export const checkDependencies: Step<Context> = {
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

/**
 * The tenancy policy, after rendering and patches and before anything is sent: a group that applies
 * with the operator's identity writes only namespaced objects in its own namespace. Then the
 * inventory the sync would record must fit in the status. Either failure writes nothing.
 */
export const checkPolicy: Step<Context> = {
  name: 'checkPolicy',
  async run(ctx) {
    const violations = policyViolations(
      [...ctx.objects, ...ctx.hooks].map((o) => refOf(o.object)),
      ctx.tenant,
      ctx.deps.tenancy,
    );
    if (violations.length > 0) {
      throw new ReconcileError(
        REASON.PolicyViolation,
        `${violations.length} object(s) break the tenancy policy, nothing was applied (${policyRule(ctx.tenant)}): ` +
          violations.join('; '),
      );
    }
    const desired = ctx.objects.map((o) => entryOf(refOf(o.object), versionOf(o.object.apiVersion)));
    const kept = ctx.group.spec.prune
      ? []
      : staleEntries(
          ctx.inventory.entries.map((e) => e.entry),
          desired,
        );
    const over = inventoryOverLimit([...desired, ...kept], ctx.deps.inventoryLimits);
    if (over) {
      throw new ReconcileError(REASON.LimitExceeded, `the group would track ${over}; nothing was applied`);
    }
    return undefined;
  },
};

/** Whether this reconcile answers a new shoal.dev/requested-at (a user asked to reconcile now). */
function requestedNow(group: AppGroup): boolean {
  const requested = group.metadata.annotations?.[ANNOTATIONS.requestedAt];
  return requested !== undefined && requested !== group.status?.lastHandledReconcileAt;
}

/**
 * Applies the rendered objects. When Git renders exactly what the last successful apply sent and
 * every live object is still at the resourceVersion that apply left (from the watch caches, else one
 * labelled LIST per kind), nothing is dry-run or written: a re-sync of an unchanged group costs a
 * few reads. This process's memo says what the last apply left; without it (after a restart, or for
 * a group this shard owner takes over), status.appliedDigest does. Before the first write, every
 * object that already exists is checked: it must be this group's, or adoptable.
 */
export const apply: Step<Context> = {
  name: 'apply',
  async run(ctx) {
    const serviceAccount = ctx.group.spec.serviceAccountName ?? ctx.deps.defaultServiceAccount ?? '';
    const memoKey = `${keyOf(ctx.group)}|${serviceAccount}`;
    const memo = ctx.deps.memo.get(memoKey);
    // A reconcile someone asked for (shoal reconcile, requested-at) looks at the cluster itself.
    const requested = requestedNow(ctx.group);
    const cached = requested ? undefined : ctx.deps.cachedObjects;
    const owner = ownerOf(ctx.group);
    const digest = ctx.group.status?.appliedDigest;
    if (memo && SyncMemo.matches(memo, ctx.objects)) {
      const unchanged = await unchangedSince(ctx.applier, ctx.objects, memo, owner, cached);
      if (unchanged) {
        ctx.applied = unchanged;
        ctx.appliedDigest = memoDigest(memo, serviceAccount);
        return undefined;
      }
    } else if (digest && !requested) {
      const found = await unchangedSinceDigest(
        ctx.applier,
        ctx.objects,
        digest,
        serviceAccount,
        owner,
        cached,
      );
      if (found) {
        ctx.applied = found.applied;
        ctx.appliedDigest = digest;
        ctx.deps.memo.set(memoKey, found.memo);
        return undefined;
      }
    }
    ctx.deps.memo.forget(memoKey);
    const ownInventory = new Set(ctx.inventory.entries.map((e) => e.entry.id));
    const caches = ctx.deps.cachedObjects;
    ctx.applied = await applyStaged(ctx.applier, ctx.objects, {
      clock: ctx.deps.clock,
      onApplied: (a) => ctx.applied.push(a),
      ...(caches ? { liveBefore: (ref) => caches.get(ref) } : {}),
      beforeWrite: (existing) =>
        checkOwnership(ctx.applier, existing, {
          owner: ownerOf(ctx.group),
          ownInventory,
          claims: ctx.deps.claims ?? (() => []),
          groupExists: async (namespace, name) =>
            (await reads(ctx.deps).group(namespace, name)) !== undefined,
          adopt: ctx.group.spec.adopt === true,
          ...(ctx.deps.cachedObjects ? { cached: ctx.deps.cachedObjects } : {}),
        }),
    });
    const left = memoOf(ctx.objects, ctx.applied);
    ctx.deps.memo.set(memoKey, left);
    ctx.appliedDigest = memoDigest(left, serviceAccount);
    return undefined;
  },
};

/**
 * Deletes what left Git, when spec.prune is on: what the inventory lists and the sync no longer
 * applies, and the group's orphans (`orphansOf`: created by an earlier sync that could not record
 * them). Failed deletes stay in (or join) the inventory and fail the run.
 */
export const pruneStale: Step<Context> = {
  name: 'prune',
  async run(ctx) {
    if (!ctx.group.spec.prune) return undefined;
    const applied = new Set(ctx.applied.map((a) => inventoryId(a.ref)));
    const stale = ctx.inventory.entries.filter((e) => !applied.has(e.entry.id));
    const orphans = orphansOf(
      ctx.deps.cachedObjects,
      ownerOf(ctx.group),
      [...ctx.applied.map((a) => a.ref), ...ctx.inventory.entries.map((e) => e.ref)],
      new Set([...applied, ...ctx.inventory.entries.map((e) => e.entry.id)]),
    );
    if (stale.length === 0 && orphans.length === 0) return undefined;
    ctx.pruned = await prune(ctx.applier, [...stale, ...orphans], ownerOf(ctx.group), {
      claims: ctx.deps.claims ?? (() => []),
      forbidden: (ref) => policyViolation(ref, ctx.tenant, ctx.deps.tenancy),
    });
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
export const assessHealth: Step<Context> = {
  name: 'assessHealth',
  async run(ctx) {
    const now = ctx.deps.clock.now().getTime();
    const changed = ctx.applied.some((a) => a.action !== 'unchanged');
    const lastChange = ctx.group.status?.history?.find((h) => h.result === 'Succeeded')?.finishedAt;
    const since = changed || !lastChange ? now : Date.parse(lastChange);
    ctx.health = groupHealth(
      ctx.applied.map((a) => ({ name: describeRef(a.ref), health: objectHealth(a.live) })),
      Number.isFinite(since) ? now - since : 0,
      ctx.timeoutMs,
    );
    return ctx.health.status === 'Progressing' ? { requeueAfterMs: recheckMs(ctx.timeoutMs) } : undefined;
  },
};

export const APP_GROUP_STEPS = [
  validateSpec,
  resolveSource,
  checkDependencies,
  render,
  checkPolicy,
  preHooks,
  apply,
  pruneStale,
  assessHealth,
  postHooks,
];
