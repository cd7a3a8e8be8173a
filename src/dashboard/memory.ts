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

/**
 * A bounded time series stored in columns: the times in a Float64Array ring and each named column
 * in a Float32Array of the same capacity (NaN for no value), labels sparse. At 360 rows and four
 * columns it holds under 9 KB, a small fraction of the same points as objects.
 */
class Series {
  readonly #cap: number;
  readonly #t: Float64Array;
  readonly #cols = new Map<string, Float32Array>();
  readonly #labels = new Map<number, string>();
  /** Rows pushed ever; the ring holds the last `cap` of them. */
  #n = 0;

  constructor(cap: number) {
    this.#cap = cap;
    this.#t = new Float64Array(cap);
  }

  #column(name: string): Float32Array {
    let c = this.#cols.get(name);
    if (!c) {
      c = new Float32Array(this.#cap).fill(Number.NaN);
      this.#cols.set(name, c);
    }
    return c;
  }

  /** Whether the last row has these very values (so a new row would say nothing new). */
  same(values: Record<string, number | null>): boolean {
    if (this.#n === 0) return false;
    const i = (this.#n - 1) % this.#cap;
    for (const name of new Set([...this.#cols.keys(), ...Object.keys(values)])) {
      const v = Math.fround(values[name] ?? Number.NaN);
      const old = this.#cols.get(name)?.[i] ?? Number.NaN;
      if (!(Number.isNaN(v) && Number.isNaN(old)) && v !== old) return false;
    }
    return true;
  }

  push(t: number, values: Record<string, number | null>, label?: string): void {
    const i = this.#n % this.#cap;
    this.#labels.delete(this.#n - this.#cap);
    this.#t[i] = t;
    for (const c of this.#cols.values()) c[i] = Number.NaN;
    for (const [name, v] of Object.entries(values)) this.#column(name)[i] = v ?? Number.NaN;
    if (label !== undefined) this.#labels.set(this.#n, label);
    this.#n++;
  }

  rows(): { t: number; values: Record<string, number | null>; label?: string }[] {
    const out: { t: number; values: Record<string, number | null>; label?: string }[] = [];
    for (let seq = Math.max(0, this.#n - this.#cap); seq < this.#n; seq++) {
      const i = seq % this.#cap;
      const values: Record<string, number | null> = {};
      for (const [name, c] of this.#cols) {
        const v = c[i] as number;
        if (!Number.isNaN(v)) values[name] = v;
      }
      const label = this.#labels.get(seq);
      out.push({ t: this.#t[i] as number, values, ...(label !== undefined ? { label } : {}) });
    }
    return out;
  }

  get bytes(): number {
    return this.#t.byteLength + [...this.#cols.values()].reduce((n, c) => n + c.byteLength, 0);
  }
}

/** The last `cap` numbers, in a Float64Array ring. */
class Samples {
  readonly #ring: Float64Array;
  #n = 0;

  constructor(cap: number) {
    this.#ring = new Float64Array(cap);
  }

  push(v: number): void {
    this.#ring[this.#n % this.#ring.length] = v;
    this.#n++;
  }

  values(): number[] {
    const cap = this.#ring.length;
    const out: number[] = [];
    for (let seq = Math.max(0, this.#n - cap); seq < this.#n; seq++)
      out.push(this.#ring[seq % cap] as number);
    return out;
  }

  get bytes(): number {
    return this.#ring.byteLength;
  }
}

function appValues(app: AppStatus): Record<string, number | null> {
  const values: Record<string, number | null> = {
    current: app.replicas.current ?? null,
    desired: app.replicas.desired ?? null,
  };
  for (const m of app.metrics ?? []) {
    values[`v:${m.type}/${m.name}`] = metricValue(m.current);
    values[`t:${m.type}/${m.name}`] = metricValue(m.target);
  }
  return values;
}

function pointOf(row: { t: number; values: Record<string, number | null>; label?: string }): AutoscalePoint {
  const metrics: AutoscalePoint['metrics'] = {};
  for (const [k, v] of Object.entries(row.values)) {
    if (!k.startsWith('v:') && !k.startsWith('t:')) continue;
    const name = k.slice(2);
    const pair = metrics[name] ?? [null, null];
    pair[k.startsWith('v:') ? 0 : 1] = v;
    metrics[name] = pair;
  }
  return {
    t: row.t,
    current: row.values.current ?? null,
    desired: row.values.desired ?? null,
    metrics,
    ...(row.label !== undefined ? { rescale: row.label } : {}),
  };
}

/**
 * The dashboard's in-memory histories, bounded: per app the autoscaling points (current and
 * desired replicas, each metric against its target, rescales with their reason) and per group the
 * budget, commit-to-applied latencies, and the last sync's report. Fed from the AppGroup cache's
 * updates and the operator's hooks; forgotten when a group is deleted.
 */
export class DashboardMemory {
  readonly #apps = new Map<string, Map<string, { series: Series; lastScaleTime: string }>>();
  readonly #budgets = new Map<string, Series>();
  readonly #latency = new Map<string, Samples>();
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
        const series = seen?.series ?? new Series(AUTOSCALE_POINTS);
        const values = appValues(app);
        const rescaled =
          seen !== undefined && !!app.lastScaleTime && app.lastScaleTime !== seen.lastScaleTime;
        if (rescaled) series.push(t, values, app.reason ?? 'rescaled');
        else if (!series.same(values)) series.push(t, values);
        byApp.set(app.name, { series, lastScaleTime: app.lastScaleTime ?? '' });
      }
    }
    const budget = group.status?.budget;
    if (budget?.requested || budget?.allocated) {
      const values: Record<string, number | null> = {};
      const amounts = (b: unknown) => (b ?? {}) as Record<string, string>;
      for (const [r, q] of Object.entries(amounts(budget.requested))) values[`r:${r}`] = milli(q);
      for (const [r, q] of Object.entries(amounts(budget.allocated))) values[`a:${r}`] = milli(q);
      const series = this.#budgets.get(key) ?? new Series(AUTOSCALE_POINTS);
      if (!series.same(values)) series.push(t, values);
      this.#budgets.set(key, series);
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
    const samples = this.#latency.get(groupKey) ?? new Samples(LATENCY_SAMPLES);
    samples.push(seconds);
    this.#latency.set(groupKey, samples);
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
    const budget = (this.#budgets.get(groupKey)?.rows() ?? []).map((row) => {
      const resources: BudgetPoint['resources'] = {};
      for (const [k, v] of Object.entries(row.values)) {
        const r = k.slice(2);
        const pair = resources[r] ?? [null, null];
        pair[k.startsWith('r:') ? 0 : 1] = v;
        resources[r] = pair;
      }
      return { t: row.t, resources };
    });
    return {
      apps: Object.fromEntries(
        [...(this.#apps.get(groupKey) ?? [])].map(([app, v]) => [app, v.series.rows().map(pointOf)]),
      ),
      budget,
    };
  }

  latencies(groupKey: string): readonly number[] {
    return this.#latency.get(groupKey)?.values() ?? [];
  }

  /** Every group's latencies, by `namespace/name`. */
  allLatencies(): Map<string, readonly number[]> {
    return new Map([...this.#latency].map(([k, v]) => [k, v.values()]));
  }

  report(groupKey: string): SyncReport | undefined {
    return this.#reports.get(groupKey);
  }

  lastChange(groupKey: string): SyncReport | undefined {
    return this.#changes.get(groupKey);
  }

  /** Bytes held: the series' arrays, and the reports as JSON (for the benchmark). */
  approximateBytes(): number {
    let n = 0;
    for (const m of this.#apps.values()) for (const p of m.values()) n += p.series.bytes;
    for (const p of this.#budgets.values()) n += p.bytes;
    for (const l of this.#latency.values()) n += l.bytes;
    for (const r of this.#reports.values()) n += JSON.stringify(r).length;
    for (const [key, r] of this.#changes) if (this.#reports.get(key) !== r) n += JSON.stringify(r).length;
    return n;
  }
}
