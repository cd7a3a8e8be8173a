import type { ChartSource } from '../api/chart-source.ts';
import type { GitSource } from '../api/git-source.ts';
import type { Clock } from '../runtime/clock.ts';
import { type GuardReport, guard } from '../runtime/guard.ts';
import type { InformerLike } from '../runtime/informer.ts';
import type { Log } from '../runtime/logger.ts';
import type { Runnable } from '../runtime/manager.ts';
import type { ChartCache } from '../source/chart-cache.ts';
import type { GitCache } from '../source/git-cache.ts';

/** Garbage collection of artifacts and mirrors: how often, and how long unused ones are kept. */
const GC_PERIOD_MS = 10 * 60_000;
const GC_GRACE_MS = 60 * 60_000;

/**
 * Removes checked-out trees and unpacked charts no source references, and mirrors, once nobody used
 * them for an hour. (Chart dependencies are kept alive by the renders that use them.)
 */
export function gitGarbageCollection(
  git: GitCache,
  charts: ChartCache,
  o: {
    sources: InformerLike<GitSource>;
    chartSources: InformerLike<ChartSource>;
    clock: Clock;
    log: Log;
    report: GuardReport;
  },
): Runnable {
  const collect = guard(
    'git garbage collection',
    async () => {
      const keep = new Set(
        o.sources.list().flatMap((s) => (s.status?.artifact?.digest ? [s.status.artifact.digest] : [])),
      );
      const removed = await git.collectGarbage(keep, GC_GRACE_MS);
      const kept = new Set(
        o.chartSources.list().flatMap((s) => (s.status?.artifact?.digest ? [s.status.artifact.digest] : [])),
      );
      const chartsRemoved = await charts.collectGarbage(kept, GC_GRACE_MS, o.clock.now().getTime());
      if (removed.artifacts + removed.mirrors + chartsRemoved > 0)
        o.log({ msg: 'removed unused source data', ...removed, charts: chartsRemoved });
    },
    o.report,
  );
  let cancel: (() => void) | undefined;
  const tick = () => {
    cancel = o.clock.after(GC_PERIOD_MS, () => {
      collect();
      tick();
    });
  };
  return {
    name: 'git garbage collection',
    group: 'always',
    async start() {
      tick();
    },
    async stop() {
      cancel?.();
    },
  };
}
