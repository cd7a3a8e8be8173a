import { REASON } from '../api/conditions.ts';
import { ANNOTATIONS, FIELD_MANAGERS } from '../api/group.ts';
import { describeRef, groupOf, type ObjectRef, refOf, versionOf } from '../api/object-key.ts';
import { diffObject, type ObjectDiff } from '../diff/object-diff.ts';
import type { Kube, KubernetesObject } from '../kube/client.ts';
import { KubeApiError } from '../kube/kube-api-error.ts';
import type { KubeObject, RenderedObject } from '../render/parse-manifests.ts';
import type { Clock } from '../runtime/clock.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import { mapLimit } from '../runtime/map-limit.ts';
import { poll } from '../runtime/poll.ts';
import { byRank, isFirstStage, sortForApply } from './apply-order.ts';
import { waitForCrds } from './wait-crds.ts';

export type ApplyAction = 'created' | 'configured' | 'unchanged';

export interface AppliedObject {
  ref: ObjectRef;
  version: string;
  action: ApplyAction;
  /** The object as the API server returned it after the apply (spec and status), for health. */
  live: KubernetesObject;
  /** It existed, Shoal had not created it, and this apply adopted it. */
  adopted?: boolean;
  /** For a configured object whose version before the apply was known (`liveBefore`): what changed. */
  diff?: ObjectDiff;
}

export interface ApplyStagedOptions {
  fieldManager: string;
  /** Time for the waits (CRDs Established, a forced delete finished). */
  clock: Clock;
  /** How long to wait for CRDs of the first stage to become Established. */
  crdTimeoutMs: number;
  /** Called after each confirmed write, so a caller can record progress (inventory). */
  onApplied?: (applied: AppliedObject) => void;
  /**
   * Called once every dry-run succeeded and before the first write, with the objects that already
   * exist: it throws to refuse them all (ownership), or returns the ones the apply adopts.
   */
  beforeWrite?: (existing: readonly RenderedObject[]) => Promise<ReadonlySet<RenderedObject>>;
  /**
   * The object as a cache last saw it, before this apply: a configured object's diff (live against
   * the dry-run result, with the field managers of what changed) is kept when it is known.
   */
  liveBefore?: (ref: ObjectRef) => KubernetesObject | undefined;
}

export const DEFAULT_APPLY_STAGED_OPTIONS: Omit<ApplyStagedOptions, 'clock'> = {
  fieldManager: FIELD_MANAGERS.sync,
  crdTimeoutMs: 60_000,
};

/** Dry-runs in flight at once: enough to hide latency, few enough not to trip API priority and fairness. */
const DRY_RUN_CONCURRENCY = 8;
/** Applies in flight at once, within one kind rank (kinds still go in order). */
const APPLY_CONCURRENCY = 8;

interface DryRun {
  item: RenderedObject;
  result?: KubernetesObject;
  error?: KubeApiError;
  /** An immutable-field change on an object marked shoal.dev/force: enabled: delete, then create. */
  recreate?: boolean;
}

const isImmutable = (e: KubeApiError) => e.code === 422 && /immutable/i.test(e.message);
const forced = (o: KubeObject) => o.metadata.annotations?.[ANNOTATIONS.force] === 'enabled';

async function dryRunAll(
  kube: Kube,
  items: readonly RenderedObject[],
  fieldManager: string,
): Promise<DryRun[]> {
  return mapLimit(items, DRY_RUN_CONCURRENCY, async (item) => {
    try {
      const result = await kube.apply(item.object, { fieldManager, force: true, dryRun: true });
      return { item, result };
    } catch (err) {
      const error = KubeApiError.from(err);
      if (isImmutable(error) && forced(item.object)) return { item, recreate: true };
      return { item, error };
    }
  });
}

/** Would this failure go away once the first stage exists (its namespace or its CRD is in it)? */
function waitsForFirstStage(obj: KubeObject, err: KubeApiError, firstStage: readonly KubeObject[]): boolean {
  const ns = obj.metadata.namespace;
  if (ns && err.code === 404 && firstStage.some((o) => o.kind === 'Namespace' && o.metadata.name === ns))
    return true;
  const group = groupOf(obj.apiVersion);
  return (
    (err.code === 404 || /no matches for kind|could not find the requested resource/i.test(err.message)) &&
    firstStage.some(
      (o) =>
        o.kind === 'CustomResourceDefinition' && (o.spec as { group?: string } | undefined)?.group === group,
    )
  );
}

function failure(failed: DryRun[]): ReconcileError {
  const hint = (f: DryRun) =>
    f.error && isImmutable(f.error)
      ? ` (annotate it ${ANNOTATIONS.force}: enabled to delete and recreate it)`
      : '';
  const lines = failed.map(
    (f) => `${describeRef(refOf(f.item.object))}: ${f.error?.message ?? 'failed'}${hint(f)}`,
  );
  return new ReconcileError(
    REASON.DryRunFailed,
    `dry-run failed for ${failed.length} object(s), nothing was applied: ${lines.join('; ')}`,
  );
}

async function applyOne(
  kube: Kube,
  dry: DryRun,
  opts: ApplyStagedOptions,
  adopted: ReadonlySet<RenderedObject>,
): Promise<AppliedObject> {
  const obj = dry.item.object;
  const creating = !dry.recreate && !dry.result?.metadata?.resourceVersion;
  // Read before the write: once it is done, a cache may already hold the new version.
  const before = creating ? undefined : opts.liveBefore?.(refOf(obj));
  let applied: KubernetesObject;
  try {
    if (dry.recreate) await deleteAndWait(kube, obj, opts.clock);
    if (dry.item.replicas && !creating) await handOverReplicas(kube, obj, dry.item.replicas.initial);
    const body = dry.item.replicas && creating ? withReplicas(obj, dry.item.replicas.initial) : obj;
    applied = await kube.apply(body, { fieldManager: opts.fieldManager, force: true, dryRun: false });
    if (dry.item.replicas && creating) {
      // Created at the initial count; now the autoscaler's manager takes the field, and the sync's
      // stripped apply gives up its share of it (same value, so no conflict and no change).
      await takeReplicas(kube, obj, dry.item.replicas.initial);
      applied = await kube.apply(obj, { fieldManager: opts.fieldManager, force: true, dryRun: false });
    }
  } catch (err) {
    const e = KubeApiError.from(err);
    throw new ReconcileError(REASON.ApplyFailed, `applying ${describeRef(refOf(obj))} failed: ${e.message}`, {
      cause: e,
    });
  }
  const versionBefore = dry.result?.metadata?.resourceVersion;
  const versionAfter = applied.metadata?.resourceVersion;
  const action: ApplyAction = creating
    ? 'created'
    : dry.recreate || versionBefore !== versionAfter
      ? 'configured'
      : 'unchanged';
  const ref = refOf(obj);
  const diff =
    action === 'configured' && before && dry.result
      ? diffObject(before as Record<string, unknown>, dry.result as Record<string, unknown>)
      : undefined;
  const result: AppliedObject = {
    ref,
    version: versionOf(obj.apiVersion),
    action,
    live: applied,
    ...(adopted.has(dry.item) ? { adopted: true } : {}),
    ...(diff && diff.action === 'configured' ? { diff } : {}),
  };
  opts.onApplied?.(result);
  return result;
}

/** Deletes `obj` and waits until the API server no longer has it (its finalizers are done). */
async function deleteAndWait(kube: Kube, obj: KubeObject, clock: Clock, timeoutMs = 60_000): Promise<void> {
  const ref = refOf(obj);
  await kube.delete(obj).catch((err: unknown) => {
    if (KubeApiError.from(err).code !== 404) throw err;
  });
  await poll(
    { clock, intervalMs: 100, timeoutMs },
    async () => ((await kube.get(ref)) === undefined ? true : undefined),
    () =>
      new ReconcileError(
        REASON.ApplyFailed,
        `${describeRef(ref)} was not deleted within ${timeoutMs / 1000}s`,
      ),
  );
}

function withReplicas(obj: KubeObject, replicas: number): KubeObject {
  return { ...obj, spec: { ...(obj.spec as object), replicas } };
}

/** Makes the autoscaler's field manager the owner of spec.replicas (forced), at `replicas`. */
function takeReplicas(kube: Kube, obj: KubeObject, replicas: number): Promise<KubernetesObject> {
  const { name, namespace } = obj.metadata;
  return kube.apply(
    {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      metadata: { name, ...(namespace ? { namespace } : {}) },
      spec: { replicas },
    },
    { fieldManager: FIELD_MANAGERS.autoscaler, force: true, dryRun: false },
  );
}

/**
 * Before the sync stops sending spec.replicas for an existing workload, hands the field to the
 * autoscaler's manager at its live value if the sync owns it: otherwise server-side apply would
 * drop the field and the API server would reset the workload to one replica.
 */
async function handOverReplicas(kube: Kube, obj: KubeObject, initial: number): Promise<void> {
  const live = await kube.get<KubernetesObject & { spec?: { replicas?: number } }>(refOf(obj));
  const ownsReplicasField = (fields: unknown) =>
    (fields as { 'f:spec'?: { 'f:replicas'?: unknown } } | undefined)?.['f:spec']?.['f:replicas'] !==
    undefined;
  const ownedBySync = live?.metadata?.managedFields?.some(
    (m) => m.manager === FIELD_MANAGERS.sync && m.operation === 'Apply' && ownsReplicasField(m.fieldsV1),
  );
  if (live && ownedBySync) await takeReplicas(kube, obj, live.spec?.replicas ?? initial);
}

/**
 * Applies `objects` with server-side apply in two stages: CRDs, Namespaces and cluster roles first
 * (then waits until the CRDs are Established), then the rest in a stable kind order. Every object is
 * dry-run before the first write; an object that can only be dry-run once the first stage exists is
 * dry-run between the stages. Any dry-run failure throws DryRunFailed listing every failing object.
 */
export async function applyStaged(
  kube: Kube,
  objects: readonly RenderedObject[],
  options: Partial<ApplyStagedOptions> & Pick<ApplyStagedOptions, 'clock'>,
): Promise<AppliedObject[]> {
  const opts: ApplyStagedOptions = { ...DEFAULT_APPLY_STAGED_OPTIONS, ...options };
  const sorted = sortForApply(objects);
  const first = sorted.filter((i) => isFirstStage(i.object));
  const rest = sorted.filter((i) => !isFirstStage(i.object));
  const firstObjects = first.map((i) => i.object);

  const dryFirst = await dryRunAll(kube, first, opts.fieldManager);
  const dryRest = await dryRunAll(kube, rest, opts.fieldManager);
  const deferred = dryRest.filter((d) => d.error && waitsForFirstStage(d.item.object, d.error, firstObjects));
  const failed = [...dryFirst, ...dryRest].filter((d) => d.error && !deferred.includes(d));
  if (failed.length > 0) throw failure(failed);
  // Objects waiting for the first stage cannot exist yet (their namespace or kind does not).
  const existing = [...dryFirst, ...dryRest]
    .filter((d) => d.recreate || d.result?.metadata?.resourceVersion)
    .map((d) => d.item);
  const adopted = (await opts.beforeWrite?.(existing)) ?? new Set<RenderedObject>();

  const results: AppliedObject[] = [];
  for (const run of byRank(dryFirst.map((d) => ({ ...d, object: d.item.object })))) {
    results.push(...(await mapLimit(run, APPLY_CONCURRENCY, (d) => applyOne(kube, d, opts, adopted))));
  }
  const crds = firstObjects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name);
  if (crds.length > 0) await waitForCrds(kube, crds, { clock: opts.clock, timeoutMs: opts.crdTimeoutMs });

  const redo = await dryRunAll(
    kube,
    deferred.map((d) => d.item),
    opts.fieldManager,
  );
  const failedLater = redo.filter((d) => d.error);
  if (failedLater.length > 0) throw failure(failedLater);
  const byItem = new Map(redo.map((d) => [d.item, d]));
  const ready = dryRest.map((d) => byItem.get(d.item) ?? d);
  for (const run of byRank(ready.map((d) => ({ ...d, object: d.item.object })))) {
    results.push(...(await mapLimit(run, APPLY_CONCURRENCY, (d) => applyOne(kube, d, opts, adopted))));
  }
  return results;
}
