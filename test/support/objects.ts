import type { AppGroup } from '../../src/api/app-group.ts';
import type { GitSource } from '../../src/api/git-source.ts';
import type { Condition } from '../../src/api/meta.ts';
import type { Kube } from '../../src/kube/client.ts';
import { waitFor } from './wait.ts';

const GV = 'shoal.dev/v1alpha1';

/** Test helpers for Shoal's objects in one namespace of the real API server. */
export function shoalObjects(kube: Kube, ns: string) {
  const getSource = (name: string) =>
    kube.get<GitSource>({ apiVersion: GV, kind: 'GitSource', namespace: ns, name });
  const getGroup = (name: string) =>
    kube.get<AppGroup>({ apiVersion: GV, kind: 'AppGroup', namespace: ns, name });
  const ready = (o: { status?: { conditions?: Condition[] } } | undefined) =>
    o?.status?.conditions?.find((c) => c.type === 'Ready');
  return {
    getSource,
    getGroup,
    ready,
    secret: (name: string, stringData: Record<string, string>) =>
      kube.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, stringData }),
    source: (name: string, spec: GitSource['spec']) =>
      kube.apply({ apiVersion: GV, kind: 'GitSource', metadata: { name, namespace: ns }, spec }),
    group: (name: string, spec: AppGroup['spec']) =>
      kube.apply({ apiVersion: GV, kind: 'AppGroup', metadata: { name, namespace: ns }, spec }),
    /** Waits until the GitSource's Ready condition has `reason` (and, for success, a revision). */
    sourceReason: (name: string, reason: string, timeoutMs = 30_000) =>
      waitFor(
        `GitSource ${name} ${reason}`,
        async () => {
          const s = await getSource(name);
          return ready(s)?.reason === reason ? (s as GitSource) : undefined;
        },
        { timeoutMs },
      ),
    groupReason: (name: string, reason: string, timeoutMs = 30_000) =>
      waitFor(
        `AppGroup ${name} ${reason}`,
        async () => {
          const g = await getGroup(name);
          return ready(g)?.reason === reason ? (g as AppGroup) : undefined;
        },
        { timeoutMs },
      ),
    /** Waits until the source's artifact names `commit`. */
    sourceAt: (name: string, commit: string, timeoutMs = 30_000) =>
      waitFor(
        `GitSource ${name} at ${commit.slice(0, 8)}`,
        async () => {
          const s = await getSource(name);
          return s?.status?.artifact?.revision?.endsWith(`@sha1:${commit}`) ? (s as GitSource) : undefined;
        },
        { timeoutMs },
      ),
    groupAt: (name: string, commit: string, timeoutMs = 30_000) =>
      waitFor(
        `AppGroup ${name} applied ${commit.slice(0, 8)}`,
        async () => {
          const g = await getGroup(name);
          return g?.status?.lastAppliedRevision?.endsWith(`@sha1:${commit}`) ? (g as AppGroup) : undefined;
        },
        { timeoutMs },
      ),
    /** Every status, event and message in the namespace as one string, to search for leaks. */
    async everything(): Promise<string> {
      const lists = await Promise.all([
        kube.list('shoal.dev/v1alpha1', 'GitSource', { namespace: ns }),
        kube.list('shoal.dev/v1alpha1', 'AppGroup', { namespace: ns }),
        kube.list('shoal.dev/v1alpha1', 'ChartSource', { namespace: ns }),
        kube.list('events.k8s.io/v1', 'Event', { namespace: ns }),
        kube.list('v1', 'ConfigMap', { namespace: ns }),
      ]);
      return JSON.stringify(lists.map((l) => l.items));
    },
  };
}

/**
 * Calls `onGroup` with every AppGroup listed and then watched (in `namespace`, or all). Right after
 * the control plane starts, a new CRD's list may answer 429 (its cache initializing): retried.
 */
export async function watchAppGroups(kube: Kube, onGroup: (g: AppGroup) => void, namespace?: string) {
  const path = namespace ? `/apis/${GV}/namespaces/${namespace}/appgroups` : `/apis/${GV}/appgroups`;
  // The Informer is typed with client-node's objects (Date timestamps); AppGroup is the JSON shape.
  const look = (o: unknown) => onGroup(o as AppGroup);
  const informer = await waitFor('a watch on the AppGroups', async () => {
    const i = kube.informer(path, GV, 'AppGroup');
    i.on('add', look);
    i.on('update', look);
    try {
      await i.start();
      return i;
    } catch {
      await i.stop();
      return undefined;
    }
  });
  return { stop: () => informer.stop() };
}
