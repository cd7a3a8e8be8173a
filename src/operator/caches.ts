import type { AppGroup } from '../api/app-group.ts';
import { withoutManagedFields } from '../api/cache-shapes.ts';
import type { ChartSource } from '../api/chart-source.ts';
import type { GitSource } from '../api/git-source.ts';
import { API_GROUP, API_VERSION, KINDS } from '../api/group.ts';
import { keyOf } from '../api/object-key.ts';
import { InventoryIndex } from '../diff/inventory-index.ts';
import type { Kube } from '../kube/client.ts';
import { type CachedReads, cachedReads } from '../reconcile/cached-reads.ts';
import type { Clock } from '../runtime/clock.ts';
import { type GuardReport, guard } from '../runtime/guard.ts';
import { type InformerLike, startResilient } from '../runtime/informer.ts';
import type { Log } from '../runtime/logger.ts';
import type { Runnable } from '../runtime/manager.ts';

/** The safety re-list of the GitSource and AppGroup caches. */
const RELIST_EVERY_MS = 10 * 60_000;

/** The caches of Shoal's own objects, the reads built on them, and the index of every inventory. */
export interface OwnCaches {
  groups: InformerLike<AppGroup>;
  sources: InformerLike<GitSource>;
  chartSources: InformerLike<ChartSource>;
  reads: CachedReads;
  /** Which groups' inventories list an object. */
  inventories: InventoryIndex;
  runnable: Runnable;
}

/**
 * List+watch caches of AppGroups and GitSources (in one namespace or all), restarted on watch
 * errors and re-listed every 10 minutes. The reconcilers read from them (`reads`).
 */
export function ownCaches(
  kube: Kube,
  opts: { namespace: string | undefined; clock: Clock; log: Log; report: GuardReport },
): OwnCaches {
  const gv = `${API_GROUP}/${API_VERSION}`;
  const base = opts.namespace ? `/apis/${gv}/namespaces/${opts.namespace}` : `/apis/${gv}`;
  // Nothing reads their managedFields; 1,000 AppGroups' are about a megabyte.
  const scope = { transform: withoutManagedFields };
  const groups = kube.informer(
    `${base}/${KINDS.AppGroup.plural}`,
    gv,
    KINDS.AppGroup.kind,
    scope,
  ) as unknown as InformerLike<AppGroup>;
  const sources = kube.informer(
    `${base}/${KINDS.GitSource.plural}`,
    gv,
    KINDS.GitSource.kind,
    scope,
  ) as unknown as InformerLike<GitSource>;
  const chartSources = kube.informer(
    `${base}/${KINDS.ChartSource.plural}`,
    gv,
    KINDS.ChartSource.kind,
    scope,
  ) as unknown as InformerLike<ChartSource>;
  const inventories = new InventoryIndex();
  const index = guard(
    'inventory index',
    (g: AppGroup) => inventories.set(keyOf(g), g.status?.inventory),
    opts.report,
  );
  groups.on('add', index);
  groups.on('update', index);
  groups.on(
    'delete',
    guard('inventory index', (g: AppGroup) => inventories.delete(keyOf(g)), opts.report),
  );
  const stops: (() => Promise<void>)[] = [];
  const informerOptions = {
    clock: opts.clock,
    baseDelayMs: 500,
    maxDelayMs: 30_000,
    log: opts.log,
    relistEveryMs: RELIST_EVERY_MS,
  };
  return {
    groups,
    sources,
    chartSources,
    reads: cachedReads(kube, { group: groups, source: sources, chartSource: chartSources }),
    inventories,
    runnable: {
      name: 'caches',
      group: 'caches',
      async start() {
        stops.push(
          ...(await Promise.all([
            startResilient(sources, { ...informerOptions, name: 'gitsources' }),
            startResilient(groups, { ...informerOptions, name: 'appgroups' }),
            startResilient(chartSources, { ...informerOptions, name: 'chartsources' }),
          ])),
        );
      },
      async stop() {
        await Promise.all(stops.splice(0).map((s) => s()));
      },
    },
  };
}
