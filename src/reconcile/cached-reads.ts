import type { AppGroup } from '../api/app-group.ts';
import type { ChartSource } from '../api/chart-source.ts';
import type { GitSource } from '../api/git-source.ts';
import { API_GROUP, API_VERSION, KINDS } from '../api/group.ts';
import type { Kube } from '../kube/client.ts';
import type { InformerLike } from '../runtime/informer.ts';

type Own = AppGroup | GitSource | ChartSource;

/** How the reconcilers read Shoal's own objects. */
export interface CachedReads {
  group(namespace: string, name: string): Promise<AppGroup | undefined>;
  source(namespace: string, name: string): Promise<GitSource | undefined>;
  chartSource(namespace: string, name: string): Promise<ChartSource | undefined>;
  /** A reconcile wrote `obj`, which is now at `resourceVersion`: read it live until the cache has that. */
  wrote(obj: Own, resourceVersion: string | undefined): void;
}

const ref = (kind: string, namespace: string, name: string) => ({
  apiVersion: `${API_GROUP}/${API_VERSION}`,
  kind,
  namespace,
  name,
});

/** Reads every object with a GET (for callers without informers). */
export function liveReads(kube: Kube): CachedReads {
  return {
    group: (namespace, name) => kube.get<AppGroup>(ref(KINDS.AppGroup.kind, namespace, name)),
    source: (namespace, name) => kube.get<GitSource>(ref(KINDS.GitSource.kind, namespace, name)),
    chartSource: (namespace, name) => kube.get<ChartSource>(ref(KINDS.ChartSource.kind, namespace, name)),
    wrote: () => {},
  };
}

/** How long a write may take to show in the cache before reads stop waiting for it (a re-list may skip it). */
const PENDING_MS = 60_000;

/**
 * Reads from the informer caches (a copy, so a reconcile cannot change the cache), as controllers
 * do: at steady state a re-sync costs no GET. After a reconcile wrote an object, reads go to the API
 * server until the cache has delivered that write's resourceVersion, so a reconcile never works from
 * a status older than its own last write.
 */
export function cachedReads(
  kube: Kube,
  informers: {
    group: InformerLike<AppGroup>;
    source: InformerLike<GitSource>;
    chartSource: InformerLike<ChartSource>;
  },
  now: () => number = Date.now,
): CachedReads {
  const pending = new Map<string, { resourceVersion: string; at: number }>();
  const idOf = (kind: string, o: { metadata: { namespace?: string; name?: string } }) =>
    `${kind}/${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
  const track = <T extends Own>(kind: string, informer: InformerLike<T>) => {
    const seen = (o: T) => {
      const id = idOf(kind, o);
      if (pending.get(id)?.resourceVersion === o.metadata.resourceVersion) pending.delete(id);
    };
    informer.on('add', seen);
    informer.on('update', seen);
  };
  track(KINDS.AppGroup.kind, informers.group);
  track(KINDS.GitSource.kind, informers.source);
  track(KINDS.ChartSource.kind, informers.chartSource);
  const read = async <T extends Own>(
    kind: string,
    informer: InformerLike<T>,
    namespace: string,
    name: string,
  ): Promise<T | undefined> => {
    const id = `${kind}/${namespace}/${name}`;
    const cached = informer.get?.(name, namespace);
    const waiting = pending.get(id);
    if (
      waiting &&
      (now() - waiting.at > PENDING_MS || waiting.resourceVersion === cached?.metadata.resourceVersion)
    )
      pending.delete(id);
    if (cached && !pending.has(id)) {
      // A JSON copy: listed items come without apiVersion and kind, and with Date timestamps.
      return { ...JSON.parse(JSON.stringify(cached)), apiVersion: `${API_GROUP}/${API_VERSION}`, kind } as T;
    }
    return kube.get<T>(ref(kind, namespace, name));
  };
  return {
    group: (namespace, name) => read(KINDS.AppGroup.kind, informers.group, namespace, name),
    source: (namespace, name) => read(KINDS.GitSource.kind, informers.source, namespace, name),
    chartSource: (namespace, name) => read(KINDS.ChartSource.kind, informers.chartSource, namespace, name),
    wrote(obj, resourceVersion) {
      if (resourceVersion === undefined) return;
      pending.set(idOf(obj.kind, obj), { resourceVersion, at: now() });
    },
  };
}
