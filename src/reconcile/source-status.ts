import type { ChartSource } from '../api/chart-source.ts';
import { REASON } from '../api/conditions.ts';
import type { GitSource } from '../api/git-source.ts';
import { ANNOTATIONS } from '../api/group.ts';
import type { Condition } from '../api/meta.ts';
import type { Kube } from '../kube/client.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Clock } from '../runtime/clock.ts';
import { describeFailure, summarizeFailure, summarizeSuccess } from '../status/summarize.ts';
import { statusRefOf, writeStatusIfChanged } from '../status/write-status.ts';
import type { CachedReads } from './cached-reads.ts';

/** A source (GitSource or ChartSource) as its status writer sees it. */
export type SourceObject = GitSource | ChartSource;

/** What a source reconciler's deps say about who writes the status (sharded: one member). */
export interface SourceSharingDeps {
  /** A new revision was stored; `detectedAt` is when the reconcile that found it began. */
  onRevision: (namespace: string, name: string, revision: string, detectedAt: Date) => void;
  /**
   * The revision the status already names was fetched into this process's cache (after a restart,
   * or the cache lost it): groups waiting for it here can sync now.
   */
  onCheckedOut?: (namespace: string, name: string) => void;
  /** Whether this process writes the source's status and events (default: yes). */
  writesStatus?: (key: string) => boolean;
  /**
   * A process that does not write the status fetched a revision the status does not name yet: the
   * writer is to look now (the operator marks the source requested-at).
   */
  onFollowerFetched?: (namespace: string, name: string) => void;
  /**
   * What a process that does not write the status last fetched of each source (by key): it compares
   * the remote with that, not with a status another member may not have updated yet.
   */
  localArtifacts?: Map<string, object>;
}

/** The status a reconcile starts from: the source's, with this process's own artifact when it follows. */
export function startingStatus<S extends { artifact?: object }>(
  deps: SourceSharingDeps,
  source: SourceObject & { status?: S },
): S {
  const status = structuredClone(source.status ?? ({} as S));
  const key = sourceKey(source);
  const local = deps.writesStatus?.(key) === false ? deps.localArtifacts?.get(key) : undefined;
  if (local) status.artifact = structuredClone(local);
  return status;
}

const sourceKey = (source: SourceObject) =>
  `${source.metadata.namespace ?? ''}/${source.metadata.name ?? ''}`;

/**
 * After a source reconcile: the writer announces a revision that changed (or, unchanged, that it
 * checked it out here again); another member (sharded)
 * announces any fetch into its own cache (its groups waiting for the artifact retry now) and, when
 * it saw a revision the status does not name yet, tells the writer.
 */
export function announceRevision(
  deps: SourceSharingDeps,
  source: SourceObject,
  outcome: { status: { artifact?: { revision: string } }; revisionChanged: boolean; fetched: boolean },
  detectedAt: Date,
): void {
  const namespace = source.metadata.namespace ?? '';
  const name = source.metadata.name ?? '';
  const { artifact } = outcome.status;
  const revision = artifact?.revision ?? '';
  if (deps.writesStatus?.(sourceKey(source)) ?? true) {
    if (outcome.revisionChanged) deps.onRevision(namespace, name, revision, detectedAt);
    else if (outcome.fetched) deps.onCheckedOut?.(namespace, name);
    return;
  }
  if (!outcome.fetched) return;
  if (artifact) {
    deps.localArtifacts?.set(sourceKey(source), artifact);
    if ((deps.localArtifacts?.size ?? 0) > 10_000) deps.localArtifacts?.clear();
  }
  deps.onRevision(namespace, name, revision, detectedAt);
  if (revision !== source.status?.artifact?.revision) deps.onFollowerFetched?.(namespace, name);
}

/**
 * Writes a source's status once at the end of its reconcile (observedGeneration, the handled
 * requested-at, Ready from the outcome) unless it is unchanged, then the event: a Warning with the
 * failure's reason, or NewArtifact when the revision changed.
 */
export async function writeSourceStatus(
  deps: {
    kube: Kube;
    clock: Clock;
    events: EventRecorder;
    reads?: Pick<CachedReads, 'wrote'>;
    writesStatus?: (key: string) => boolean;
  },
  source: SourceObject,
  plural: string,
  outcome: {
    status: object & { artifact?: { revision: string } };
    failure: unknown;
    revisionChanged: boolean;
  },
): Promise<void> {
  // Sharded: another member holds this source's shard and writes its status.
  if (!(deps.writesStatus?.(sourceKey(source)) ?? true)) return;
  const now = deps.clock.now();
  const generation = source.metadata.generation ?? 0;
  const requested = source.metadata.annotations?.[ANNOTATIONS.requestedAt];
  const previous = (outcome.status as { conditions?: Condition[] }).conditions ?? [];
  const revision = outcome.status.artifact?.revision ?? '';
  const conditions =
    outcome.failure === undefined
      ? summarizeSuccess(
          previous,
          REASON.Succeeded,
          `stored artifact for revision ${revision}`,
          generation,
          now,
        )
      : summarizeFailure(previous, outcome.failure, generation, now, REASON.FetchFailed);
  const written = await writeStatusIfChanged(
    deps.kube,
    statusRefOf(plural, source),
    source.status,
    {
      ...outcome.status,
      observedGeneration: generation,
      ...(requested ? { lastHandledReconcileAt: requested } : {}),
      conditions,
    },
    deps.clock,
  );
  if (written.wrote) deps.reads?.wrote(source, written.resourceVersion);
  if (outcome.failure !== undefined) {
    const { reason, message } = describeFailure(outcome.failure, REASON.FetchFailed);
    await deps.events.emit(source, 'Warning', reason, message);
  } else if (outcome.revisionChanged) {
    await deps.events.emit(source, 'Normal', REASON.NewArtifact, `stored artifact for revision ${revision}`);
  }
}
