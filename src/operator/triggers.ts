import type { AppGroup } from '../api/app-group.ts';
import type { ChartSource } from '../api/chart-source.ts';
import type { GitSource } from '../api/git-source.ts';
import { ANNOTATIONS, API_GROUP, API_VERSION, KINDS } from '../api/group.ts';
import { keyOf } from '../api/object-key.ts';
import type { Kube } from '../kube/client.ts';
import type { Clock } from '../runtime/clock.ts';
import { type GuardReport, guard } from '../runtime/guard.ts';
import type { InformerLike } from '../runtime/informer.ts';
import {
  annotationChanged,
  anyOf,
  created,
  deletionStarted,
  generationChanged,
  type Predicate,
} from '../runtime/predicates.ts';
import type { WorkQueue } from '../runtime/work-queue.ts';

type Watched = GitSource | AppGroup | ChartSource;

/** Reconcile on create, on a spec change, a new requested-at or a deletion; never on status-only writes. */
export const needsReconcile: Predicate<Watched> = anyOf<Watched>(
  created,
  generationChanged,
  annotationChanged(ANNOTATIONS.requestedAt),
  deletionStarted,
);

/**
 * Adds the key of every object of `informer` that `predicate` picks to `queue`. Keeps each object's
 * last version to compare with (the informer's update event carries only the new one). Guarded: a
 * malformed object is reported, never thrown into the informer.
 */
export function enqueueWhen<T extends Watched>(
  informer: InformerLike<T>,
  queue: WorkQueue,
  predicate: Predicate<T>,
  report: GuardReport,
): void {
  const seen = new Map<string, T>();
  const on = (verb: 'add' | 'update', fn: (obj: T) => void) =>
    informer.on(verb, guard(`enqueue ${verb}`, fn, report));
  const consider = (obj: T) => {
    const key = keyOf(obj);
    if (predicate(seen.get(key), obj)) queue.add(key);
    seen.set(key, obj);
  };
  on('add', consider);
  on('update', consider);
  informer.on(
    'delete',
    guard('enqueue delete', (obj: T) => seen.delete(keyOf(obj)), report),
  );
}

/**
 * Marks sources with shoal.dev/requested-at, which every replica's cache sees and reconciles at
 * once (with fresh refs). One source is marked at most once per `everyMs`: a burst is one mark.
 */
export function requestedAtMarker(kube: Kube, clock: Clock, everyMs: number) {
  const marked = new Map<string, number>();
  return async (kind: 'GitSource' | 'ChartSource', namespace: string, name: string): Promise<void> => {
    const id = `${kind}|${namespace}/${name}`;
    const now = clock.now();
    const last = marked.get(id);
    if (last !== undefined && now.getTime() - last < everyMs) return;
    marked.set(id, now.getTime());
    if (marked.size > 10_000) marked.clear();
    await kube.mergePatch(
      { group: API_GROUP, version: API_VERSION, plural: KINDS[kind].plural, namespace, name },
      { metadata: { annotations: { [ANNOTATIONS.requestedAt]: now.toISOString() } } },
    );
  };
}
