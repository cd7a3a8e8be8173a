import type { AppGroup } from '../api/app-group.ts';
import type { ChartSource } from '../api/chart-source.ts';
import type { GitSource } from '../api/git-source.ts';
import type { Condition } from '../api/meta.ts';
import { describeRef, type ObjectRef } from '../api/object-key.ts';
import { parseInventory } from '../diff/inventory.ts';
import { objectHealth } from '../health/rules.ts';
import type { SyncReport } from '../reconcile/sync-report.ts';

/** The state a row shows, for filters and totals: one word. */
export type RowState = 'Ready' | 'Failing' | 'Progressing' | 'Suspended' | 'Unknown';

export interface OverviewRow {
  kind: 'AppGroup' | 'GitSource' | 'ChartSource';
  namespace: string;
  name: string;
  state: RowState;
  ready: { status: string; reason?: string; message?: string } | undefined;
  sync?: string;
  health?: string;
  healthMessage?: string;
  /** The revision: a short SHA for Git (`main@a1b2c3d4e5f6`), `<chart>@<version>` for charts. */
  revision?: string;
  commitTime?: string;
  lastSync?: { at: string; durationMs: number; result: string };
  source?: string;
}

const ready = (c: Condition[] | undefined) => c?.find((x) => x.type === 'Ready');
const reconciling = (c: Condition[] | undefined) =>
  c?.find((x) => x.type === 'Reconciling')?.status === 'True';

/** `main@sha1:<40 hex>` as `main@<12 hex>`; other revisions as they are. Pure. */
export function shortRevision(revision: string | undefined): string | undefined {
  if (!revision) return undefined;
  return revision.replace(/@sha1:([0-9a-f]{12})[0-9a-f]{28}$/, '@$1');
}

/** Ready=False reasons that mean waiting (for a source, a dependency, a rollout), not failing. */
const WAITING = new Set(['Progressing', 'SourceNotReady', 'DependencyNotReady']);

function stateOf(conditions: Condition[] | undefined, suspended: boolean | undefined): RowState {
  if (suspended) return 'Suspended';
  const r = ready(conditions);
  if (r?.status === 'True') return 'Ready';
  if (r?.status === 'False') return WAITING.has(r.reason ?? '') ? 'Progressing' : 'Failing';
  if (r) return 'Progressing';
  return reconciling(conditions) ? 'Progressing' : 'Unknown';
}

const readyOf = (c: Condition[] | undefined) => {
  const r = ready(c);
  return r
    ? {
        status: r.status,
        ...(r.reason ? { reason: r.reason } : {}),
        ...(r.message ? { message: r.message } : {}),
      }
    : undefined;
};

export function groupRow(g: AppGroup): OverviewRow {
  const last = g.status?.history?.[0];
  const state = stateOf(g.status?.conditions, g.spec.suspend);
  const degraded = g.status?.health?.status === 'Degraded';
  return {
    kind: 'AppGroup',
    namespace: g.metadata.namespace ?? '',
    name: g.metadata.name ?? '',
    state: state === 'Ready' && degraded ? 'Failing' : state,
    ready: readyOf(g.status?.conditions),
    ...(g.status?.sync?.status ? { sync: g.status.sync.status } : {}),
    ...(g.status?.health?.status ? { health: g.status.health.status } : {}),
    ...(g.status?.health?.message ? { healthMessage: g.status.health.message } : {}),
    ...(g.status?.lastAppliedRevision ? { revision: shortRevision(g.status.lastAppliedRevision) } : {}),
    ...(last
      ? {
          lastSync: {
            at: last.finishedAt,
            durationMs: Math.max(0, Date.parse(last.finishedAt) - Date.parse(last.startedAt)),
            result: last.result,
          },
        }
      : {}),
    source: `${g.spec.sourceRef.kind ?? 'GitSource'}/${g.spec.sourceRef.name}`,
  };
}

export function sourceRow(s: GitSource | ChartSource): OverviewRow {
  const artifact = s.status?.artifact as { revision?: string; commitTime?: string } | undefined;
  return {
    kind: s.kind,
    namespace: s.metadata.namespace ?? '',
    name: s.metadata.name ?? '',
    state: stateOf(s.status?.conditions, s.spec.suspend),
    ready: readyOf(s.status?.conditions),
    ...(artifact?.revision ? { revision: shortRevision(artifact.revision) } : {}),
    ...(artifact?.commitTime ? { commitTime: artifact.commitTime } : {}),
  };
}

/** Totals by state over rows. Pure. */
export function totals(rows: readonly OverviewRow[]): Record<RowState, number> {
  const t: Record<RowState, number> = { Ready: 0, Failing: 0, Progressing: 0, Suspended: 0, Unknown: 0 };
  for (const r of rows) t[r.state]++;
  return t;
}

export interface TreeNode {
  ref: ObjectRef;
  id: string;
  health: string;
  message: string;
  /** in-sync: live and listed; missing: listed but absent from the cache; stale: left Git, kept. */
  sync: 'in-sync' | 'missing' | 'stale' | 'unknown';
  adopted?: boolean;
  /** Workloads whose ReplicaSets and Pods can be read live. */
  expandable: boolean;
}

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

/**
 * The group's objects from its inventory, each with its health from the live object a cache holds
 * (`liveOf`; undefined: not cached, health unknown). Pure.
 */
export function objectTree(
  group: AppGroup,
  liveOf: (ref: ObjectRef) => object | undefined | 'not-watched',
): TreeNode[] {
  return parseInventory(group.status?.inventory).entries.map(({ entry, ref }) => {
    const live = liveOf(ref);
    const health =
      live === 'not-watched'
        ? { status: 'Unknown', message: 'not watched here' }
        : live
          ? objectHealth(live)
          : { status: 'NotFound', message: 'not in the cluster' };
    return {
      ref,
      id: entry.id,
      health: health.status,
      message: health.message,
      sync: entry.stale ? 'stale' : live === 'not-watched' ? 'unknown' : live ? 'in-sync' : 'missing',
      ...(entry.adopted ? { adopted: true } : {}),
      expandable: WORKLOADS.has(ref.kind),
    };
  });
}

type NamedReport = Omit<SyncReport, 'objects'> & {
  objects: (SyncReport['objects'][number] & { name: string })[];
};

const named = (r: SyncReport | undefined): NamedReport | undefined =>
  r ? { ...r, objects: r.objects.map((o) => ({ ...o, name: describeRef(o.ref) })) } : undefined;

export interface GroupDetail {
  row: OverviewRow;
  spec: { path?: string; interval?: string; prune?: boolean; suspend?: boolean; targetNamespace?: string };
  conditions: Condition[];
  history: NonNullable<NonNullable<AppGroup['status']>['history']>;
  tree: TreeNode[];
  lastSync: NamedReport | undefined;
  /** The last sync that changed anything (the same as lastSync when that one did). */
  lastChange: NamedReport | undefined;
  events: { at: string; type: string; reason: string; note: string }[];
  apps: string[];
}

export function groupDetail(
  group: AppGroup,
  opts: {
    liveOf: (ref: ObjectRef) => object | undefined | 'not-watched';
    report: SyncReport | undefined;
    lastChange: SyncReport | undefined;
    events: { at: string; type: string; reason: string; note: string }[];
  },
): GroupDetail {
  const { spec } = group;
  return {
    row: groupRow(group),
    spec: {
      ...(spec.path ? { path: spec.path } : {}),
      ...(spec.interval ? { interval: spec.interval } : {}),
      ...(spec.prune !== undefined ? { prune: spec.prune } : {}),
      ...(spec.suspend !== undefined ? { suspend: spec.suspend } : {}),
      ...(spec.targetNamespace ? { targetNamespace: spec.targetNamespace } : {}),
    },
    conditions: group.status?.conditions ?? [],
    history: group.status?.history ?? [],
    tree: objectTree(group, opts.liveOf),
    lastSync: named(opts.report),
    lastChange: named(opts.lastChange),
    events: opts.events,
    apps: (group.status?.apps ?? []).map((a) => a.name),
  };
}

/** p50, p90, p99 and max of samples (seconds), and a histogram over fixed buckets. Pure. */
export function distribution(samples: readonly number[]): {
  count: number;
  p50?: number;
  p90?: number;
  p99?: number;
  max?: number;
  buckets: { le: number; count: number }[];
} {
  const edges = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, Number.POSITIVE_INFINITY];
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  const buckets = edges.map((le, i) => ({
    le,
    count: sorted.filter((s) => s <= le && (i === 0 || s > (edges[i - 1] as number))).length,
  }));
  if (sorted.length === 0) return { count: 0, buckets };
  return {
    count: sorted.length,
    p50: at(50) as number,
    p90: at(90) as number,
    p99: at(99) as number,
    max: sorted.at(-1) as number,
    buckets,
  };
}
