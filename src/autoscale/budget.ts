/**
 * A group budget shared by the autoscaled apps of an AppGroup: when the apps' recommendations need
 * more requests than the budget holds, higher priority tiers are served first, apps of one tier get a
 * weighted fair share (weighted dominant-resource water-filling, one replica at a time), and no app
 * goes below its floor (its minReplicas, or what its scale-down rules allow now) or above what it
 * asked for. Pure.
 */

import { formatMilli } from '../api/quantity.ts';
import { RESOURCES, type ResourceAmounts } from './types.ts';

export interface BudgetApp {
  name: string;
  /** Never allocated fewer (minReplicas, or the scale-down limit). */
  floor: number;
  /** Never allocated more: the app's own decision. */
  want: number;
  /** Requests of one replica, milli-units. */
  perReplica: ResourceAmounts;
  weight: number;
  priority: number;
}

export interface Allocation {
  replicas: Map<string, number>;
  /** What every app's decision would hold. */
  requested: ResourceAmounts;
  /** What the allocation holds. */
  allocated: ResourceAmounts;
  /** Apps held below what they asked for. */
  limited: string[];
  /** The floors alone exceed the budget. */
  overcommitted: boolean;
}

function total(apps: readonly BudgetApp[], count: (a: BudgetApp) => number, budget: ResourceAmounts) {
  const out: ResourceAmounts = {};
  for (const r of RESOURCES) {
    if (budget[r] === undefined) continue;
    out[r] = apps.reduce((sum, a) => sum + count(a) * (a.perReplica[r] ?? 0), 0);
  }
  return out;
}

/** A binary min-heap of app indices by (share / weight, then order). */
class Heap {
  readonly #items: { key: number; i: number }[] = [];
  get size() {
    return this.#items.length;
  }
  push(key: number, i: number) {
    const a = this.#items;
    a.push({ key, i });
    let c = a.length - 1;
    while (c > 0) {
      const p = (c - 1) >> 1;
      if (!less(a[c], a[p])) break;
      [a[c], a[p]] = [a[p] as (typeof a)[0], a[c] as (typeof a)[0]];
      c = p;
    }
  }
  pop(): number | undefined {
    const a = this.#items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined) return undefined;
    if (a.length > 0) {
      a[0] = last;
      let p = 0;
      for (;;) {
        const l = 2 * p + 1;
        const r = l + 1;
        let m = p;
        if (l < a.length && less(a[l], a[m])) m = l;
        if (r < a.length && less(a[r], a[m])) m = r;
        if (m === p) break;
        [a[m], a[p]] = [a[p] as (typeof a)[0], a[m] as (typeof a)[0]];
        p = m;
      }
    }
    return top.i;
  }
}

const less = (x?: { key: number; i: number }, y?: { key: number; i: number }) =>
  x !== undefined && y !== undefined && (x.key < y.key || (x.key === y.key && x.i < y.i));

/** Allocates replicas to `apps` within `budget` (only the resources it names count). Pure. */
export function allocate(apps: readonly BudgetApp[], budget: ResourceAmounts): Allocation {
  const requested = total(apps, (a) => a.want, budget);
  const fits = (used: ResourceAmounts, add: ResourceAmounts) =>
    RESOURCES.every((r) => budget[r] === undefined || (used[r] ?? 0) + (add[r] ?? 0) <= (budget[r] ?? 0));
  const counts = apps.map((a) => Math.min(a.floor, a.want));
  const used = total(apps, (a) => Math.min(a.floor, a.want), budget);
  const overcommitted = !fits(used, {});
  if (fits(requested, {})) {
    return {
      replicas: new Map(apps.map((a) => [a.name, a.want])),
      requested,
      allocated: requested,
      limited: [],
      overcommitted,
    };
  }
  // The dominant share of the budget an app would hold with `n` replicas, relative to its weight.
  const share = (a: BudgetApp, n: number) =>
    Math.max(0, ...RESOURCES.map((r) => (budget[r] ? (n * (a.perReplica[r] ?? 0)) / (budget[r] ?? 1) : 0))) /
    Math.max(a.weight, 1e-9);
  const tiers = [...new Set(apps.map((a) => a.priority))].sort((x, y) => y - x);
  for (const tier of tiers) {
    const heap = new Heap();
    apps.forEach((a, i) => {
      if (a.priority !== tier || (counts[i] ?? 0) >= a.want) return;
      // An app that uses nothing the budget counts is never held back.
      if (RESOURCES.every((r) => budget[r] === undefined || !a.perReplica[r])) counts[i] = a.want;
      else heap.push(share(a, counts[i] ?? 0), i);
    });
    for (let i = heap.pop(); i !== undefined; i = heap.pop()) {
      const a = apps[i] as BudgetApp;
      if (!fits(used, a.perReplica)) continue; // this app's next replica no longer fits: it is done
      const n = (counts[i] ?? 0) + 1;
      counts[i] = n;
      for (const r of RESOURCES)
        if (budget[r] !== undefined) used[r] = (used[r] ?? 0) + (a.perReplica[r] ?? 0);
      if (n < a.want) heap.push(share(a, n), i);
    }
  }
  const replicas = new Map(apps.map((a, i) => [a.name, counts[i] ?? a.floor]));
  return {
    replicas,
    requested,
    allocated: total(apps, (a) => replicas.get(a.name) ?? 0, budget),
    limited: apps.filter((a) => (replicas.get(a.name) ?? 0) < a.want).map((a) => a.name),
    overcommitted,
  };
}

export function formatAmounts(r: ResourceAmounts): { cpu?: string; memory?: string } {
  return {
    ...(r.cpu !== undefined ? { cpu: formatMilli(r.cpu) } : {}),
    ...(r.memory !== undefined ? { memory: formatMilli(r.memory) } : {}),
  };
}

/** An allocation as `status.budget` (and the simulator) report it. Pure. */
export function budgetStatus(a: Allocation) {
  return {
    requested: formatAmounts(a.requested),
    allocated: formatAmounts(a.allocated),
    limited: a.limited,
    overcommitted: a.overcommitted,
  };
}
