import type { AppGroup, AppStatus } from '../api/app-group.ts';
import { parseMilli } from '../api/quantity.ts';
import type { SyncReport } from '../reconcile/sync-report.ts';

/** Points kept per app: at one per change (the autoscaler writes status only then), hours of history. */
export const AUTOSCALE_POINTS = 360;
/** Commit-to-applied latencies kept per group. */
export const LATENCY_SAMPLES = 200;
/** Objects of one sync report kept with their action (and at most this many diffs). */
const REPORT_OBJECTS = 500;
const REPORT_DIFFS = 50;
const DIFF_OPS = 50;

/** One point of an app's autoscaling history, from status.apps as the autoscaler wrote it. */
export interface AutoscalePoint {
  t: number;
  current: number | null;
  desired: number | null;
  /** Per metric (`type/name`): the current value and the target (a percentage for utilisation, else units). */
  metrics: Record<string, [number | null, number | null]>;
  /** A rescale happened at this point (lastScaleTime moved), with the autoscaler's reason. */
  rescale?: string;
}

export interface BudgetPoint {
  t: number;
  /** Per resource (cpu, memory): requested and allocated, in milli-units. */
  resources: Record<string, [number | null, number | null]>;
}

const milli = (q: string | undefined): number | null => {
  if (q === undefined) return null;
  try {
    return parseMilli(q);
  } catch {
    return null;
  }
};

/** A metric's value as status shows it: "90%" is 90; a quantity ("250m", "2") is in units. */
const metricValue = (v: string | undefined): number | null => {
  if (v === undefined) return null;
  const percent = /^(-?\d+(?:\.\d+)?)%$/.exec(v);
  if (percent) return Number(percent[1]);
  const m = milli(v);
  return m === null ? null : m / 1000;
};

const push = <T>(list: T[], item: T, max: number) => {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
};

function pointOf(app: AppStatus, lastScaleTime: string | undefined, t: number): AutoscalePoint {
  const metrics: AutoscalePoint['metrics'] = {};
  for (const m of app.metrics ?? [])
    metrics[`${m.type}/${m.name}`] = [metricValue(m.current), metricValue(m.target)];
  return {
    t,
    current: app.replicas.current ?? null,
    desired: app.replicas.desired ?? null,
    metrics,
    ...(app.lastScaleTime && lastScaleTime !== undefined && app.lastScaleTime !== lastScaleTime
      ? { rescale: app.reason ?? 'rescaled' }
      : {}),
  };
}

const samePoint = (a: AutoscalePoint | undefined, b: AutoscalePoint) =>
  a !== undefined &&
  !b.rescale &&
  a.current === b.current &&
  a.desired === b.desired &&
  JSON.stringify(a.metrics) === JSON.stringify(b.metrics);

/**
 * The dashboard's in-memory histories, bounded: per app the autoscaling points (current and
 * desired replicas, each metric against its target, rescales with their reason) and per group the
 * budget, commit-to-applied latencies, and the last sync's report. Fed from the AppGroup cache's
 * updates and the operator's hooks; forgotten when a group is deleted.
 */
export class DashboardMemory {
  readonly #apps = new Map<string, Map<string, { points: AutoscalePoint[]; lastScaleTime: string }>>();
  readonly #budgets = new Map<string, BudgetPoint[]>();
  readonly #latency = new Map<string, number[]>();
  readonly #reports = new Map<string, SyncReport>();
  /** The last sync that changed something: a drift's diff outlives the quiet re-syncs after it. */
  readonly #changes = new Map<string, SyncReport>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /**
   * A group as the cache saw it (added or updated): records autoscaling changes. A rescale is a
   * lastScaleTime that moved since the group was first seen here.
   */
  observe(group: AppGroup): void {
    const key = `${group.metadata.namespace}/${group.metadata.name}`;
    const t = this.#now();
    const apps = group.status?.apps ?? [];
    if (apps.length > 0) {
      let byApp = this.#apps.get(key);
      if (!byApp) {
        byApp = new Map();
        this.#apps.set(key, byApp);
      }
      for (const app of apps) {
        const seen = byApp.get(app.name);
        const points = seen?.points ?? [];
        const point = pointOf(app, seen ? seen.lastScaleTime : undefined, t);
        if (!samePoint(points.at(-1), point)) push(points, point, AUTOSCALE_POINTS);
        byApp.set(app.name, { points, lastScaleTime: app.lastScaleTime ?? '' });
      }
    }
    const budget = group.status?.budget;
    if (budget?.requested || budget?.allocated) {
      const resources: BudgetPoint['resources'] = {};
      for (const r of new Set([
        ...Object.keys(budget.requested ?? {}),
        ...Object.keys(budget.allocated ?? {}),
      ])) {
        const q = (b: Record<string, string> | undefined) => milli(b?.[r]);
        resources[r] = [
          q(budget.requested as Record<string, string> | undefined),
          q(budget.allocated as Record<string, string> | undefined),
        ];
      }
      const points = this.#budgets.get(key) ?? [];
      if (JSON.stringify(points.at(-1)?.resources) !== JSON.stringify(resources))
        push(points, { t, resources }, AUTOSCALE_POINTS);
      this.#budgets.set(key, points);
    }
  }

  forget(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    this.#apps.delete(key);
    this.#budgets.delete(key);
    this.#latency.delete(key);
    this.#reports.delete(key);
    this.#changes.delete(key);
  }

  latency(groupKey: string, seconds: number): void {
    const list = this.#latency.get(groupKey) ?? [];
    push(list, seconds, LATENCY_SAMPLES);
    this.#latency.set(groupKey, list);
  }

  /** Records the last sync of a group, capped: at most 500 objects, 50 diffs of at most 50 operations. */
  synced(groupKey: string, report: SyncReport): void {
    let diffs = 0;
    const objects = report.objects.slice(0, REPORT_OBJECTS).map((o) => {
      if (!o.diff) return o;
      if (diffs++ >= REPORT_DIFFS) return { ref: o.ref, action: o.action };
      return { ...o, diff: { ...o.diff, patch: o.diff.patch.slice(0, DIFF_OPS) } };
    });
    const kept = {
      ...report,
      objects,
      more: report.more + Math.max(0, report.objects.length - REPORT_OBJECTS),
    };
    this.#reports.set(groupKey, kept);
    if (report.objects.some((o) => o.action !== 'unchanged')) this.#changes.set(groupKey, kept);
  }

  autoscaling(groupKey: string): { apps: Record<string, AutoscalePoint[]>; budget: BudgetPoint[] } {
    return {
      apps: Object.fromEntries([...(this.#apps.get(groupKey) ?? [])].map(([app, v]) => [app, v.points])),
      budget: this.#budgets.get(groupKey) ?? [],
    };
  }

  latencies(groupKey: string): readonly number[] {
    return this.#latency.get(groupKey) ?? [];
  }

  allLatencies(): ReadonlyMap<string, readonly number[]> {
    return this.#latency;
  }

  report(groupKey: string): SyncReport | undefined {
    return this.#reports.get(groupKey);
  }

  lastChange(groupKey: string): SyncReport | undefined {
    return this.#changes.get(groupKey);
  }

  /** Rough bytes held (JSON length of everything): what the histories cost, for the benchmark. */
  approximateBytes(): number {
    let n = 0;
    for (const m of this.#apps.values()) for (const p of m.values()) n += JSON.stringify(p.points).length;
    for (const p of this.#budgets.values()) n += JSON.stringify(p).length;
    for (const l of this.#latency.values()) n += l.length * 8;
    for (const r of this.#reports.values()) n += JSON.stringify(r).length;
    for (const [key, r] of this.#changes) if (this.#reports.get(key) !== r) n += JSON.stringify(r).length;
    return n;
  }
}
