import type { AppGroup } from '../api/app-group.ts';
import { REASON } from '../api/conditions.ts';
import { parseKey } from '../api/object-key.ts';
import { inventoryRefs } from '../diff/inventory.ts';
import type { Kube } from '../kube/client.ts';
import type { EventRecorder } from '../kube/events.ts';
import { DriftWatcher } from '../reconcile/drift-watcher.ts';
import type { Clock } from '../runtime/clock.ts';
import { type GuardReport, guard } from '../runtime/guard.ts';
import type { InformerLike } from '../runtime/informer.ts';
import type { Log } from '../runtime/logger.ts';
import type { Runnable } from '../runtime/manager.ts';

/** How often the set of watched kinds follows the groups' inventories. */
const DRIFT_WATCH_SYNC_MS = 5_000;

/** The kinds in every group's inventory (malformed entries skipped). Pure. */
export function inventoryKinds(groups: readonly AppGroup[]): { apiVersion: string; kind: string }[] {
  const kinds = new Map<string, { apiVersion: string; kind: string }>();
  for (const g of groups) {
    for (const ref of inventoryRefs(g.status?.inventory)) {
      kinds.set(`${ref.apiVersion}|${ref.kind}`, { apiVersion: ref.apiVersion, kind: ref.kind });
    }
  }
  return [...kinds.values()];
}

/**
 * Drift: watches what the groups applied (by owner label) and re-syncs a group whose objects
 * someone else changed or deleted (`onDrift`); the leader says who, in a Warning event. The watched
 * kinds follow the inventories: at once when a group's inventory gains a kind, every 5 s otherwise.
 */
export function driftWatch(
  kube: Kube,
  opts: {
    groups: InformerLike<AppGroup>;
    namespace: string | undefined;
    clock: Clock;
    log: Log;
    report: GuardReport;
    events: EventRecorder;
    /** Whether this replica writes the group (and so says who drifted it). */
    writes: (groupKey: string) => boolean;
    onDrift: (groupKey: string, group: AppGroup | undefined) => void;
  },
): { watcher: DriftWatcher; runnable: Runnable } {
  const watcher = new DriftWatcher(kube, {
    clock: opts.clock,
    log: opts.log,
    ...(opts.namespace ? { groupNamespace: opts.namespace } : {}),
    onDrift: guard(
      'drift',
      (key: string, description: string, author: string | undefined) => {
        const { namespace, name } = parseKey(key);
        const group = opts.groups.list(namespace).find((g) => g.metadata.name === name);
        opts.onDrift(key, group);
        if (!opts.writes(key) || !author || !group) return;
        void opts.events.emit(group, 'Warning', REASON.DriftDetected, `${description}; re-syncing`);
      },
      opts.report,
    ),
  });
  const sync = guard('drift watch sync', () => watcher.sync(inventoryKinds(opts.groups.list())), opts.report);
  // A group whose inventory gains a kind nobody watches yet starts that watch at once; everything
  // else (kinds no inventory has any more) waits for the periodic sync, so a status write costs no
  // walk over every group's inventory.
  opts.groups.on(
    'update',
    guard(
      'drift watch kinds',
      (g: AppGroup) => {
        const watched = new Set(watcher.kinds);
        if (inventoryRefs(g.status?.inventory).some((r) => !watched.has(`${r.apiVersion}|${r.kind}`))) sync();
      },
      opts.report,
    ),
  );
  let cancel: (() => void) | undefined;
  const tick = () => {
    sync();
    cancel = opts.clock.after(DRIFT_WATCH_SYNC_MS, tick);
  };
  return {
    watcher,
    runnable: {
      name: 'drift watch',
      group: 'always',
      async start() {
        tick();
      },
      async stop() {
        cancel?.();
        await watcher.stop();
      },
    },
  };
}
