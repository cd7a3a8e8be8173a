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

/**
 * Writes a source's status once at the end of its reconcile (observedGeneration, the handled
 * requested-at, Ready from the outcome) unless it is unchanged, then the event: a Warning with the
 * failure's reason, or NewArtifact when the revision changed.
 */
export async function writeSourceStatus(
  deps: { kube: Kube; clock: Clock; events: EventRecorder; reads?: Pick<CachedReads, 'wrote'> },
  source: SourceObject,
  plural: string,
  outcome: {
    status: object & { artifact?: { revision: string } };
    failure: unknown;
    revisionChanged: boolean;
  },
): Promise<void> {
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
