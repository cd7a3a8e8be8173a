import type { GitSource } from '../api/git-source.ts';
import type { Clock } from '../runtime/clock.ts';
import { type GuardReport, guard } from '../runtime/guard.ts';
import type { InformerLike } from '../runtime/informer.ts';
import type { Log } from '../runtime/logger.ts';
import type { Runnable } from '../runtime/manager.ts';
import type { GitCache } from '../source/git-cache.ts';

/** Garbage collection of artifacts and mirrors: how often, and how long unused ones are kept. */
const GC_PERIOD_MS = 10 * 60_000;
const GC_GRACE_MS = 60 * 60_000;

/** Removes checked-out trees no GitSource references and mirrors nobody used for an hour. */
export function gitGarbageCollection(
  git: GitCache,
  o: { sources: InformerLike<GitSource>; clock: Clock; log: Log; report: GuardReport },
): Runnable {
  const collect = guard(
    'git garbage collection',
    async () => {
      const keep = new Set(
        o.sources.list().flatMap((s) => (s.status?.artifact?.digest ? [s.status.artifact.digest] : [])),
      );
      const removed = await git.collectGarbage(keep, GC_GRACE_MS);
      if (removed.artifacts + removed.mirrors > 0) o.log({ msg: 'removed unused git data', ...removed });
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
