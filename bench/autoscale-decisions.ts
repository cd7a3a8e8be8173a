// The autoscaler's decision engine, pure (no cluster): the time of one app's decision (three metrics:
// CPU utilisation, a per-pod query, a per-replica query; behavior policies; state carried from
// decision to decision) by pod count, and of a whole group of 1,000 apps deciding together under a
// budget that holds half of what they want. Prints figures; never fails on them.
//
//   npm run bench -- autoscale-decisions [--rounds 200] [--apps 1000] [--pods 10] [--json out.json]
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { AutoscalingPolicy } from '../src/api/app-group.ts';
import { allocate, type BudgetApp } from '../src/autoscale/budget.ts';
import { decide } from '../src/autoscale/decide.ts';
import { resolvePolicy } from '../src/autoscale/policy.ts';
import { settle } from '../src/autoscale/settle.ts';
import {
  type AppObservation,
  type AppState,
  DEFAULT_ENGINE_OPTIONS,
  initialState,
  type PodObservation,
} from '../src/autoscale/types.ts';
import { percentile } from './stats.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    rounds: { type: 'string', default: '200' },
    apps: { type: 'string', default: '1000' },
    pods: { type: 'string', default: '10' },
    json: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const appCount = Number(values.apps);
const podsPerApp = Number(values.pods);

const spec: AutoscalingPolicy = {
  minReplicas: 1,
  maxReplicas: 1000,
  metrics: [
    { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } },
    { type: 'Pods', pods: { query: 'rps', target: { type: 'AverageValue', averageValue: '100' } } },
    {
      type: 'Prometheus',
      prometheus: { query: 'queue', target: { type: 'AverageValue', averageValue: '30' } },
    },
  ],
  behavior: {},
};
const policy = resolvePolicy(spec);
const start = Date.parse('2026-01-01T00:00:00Z');

/** `n` ready pods with usage that wanders around the target, at decision `round`. */
function observe(n: number, round: number, seed: number): AppObservation {
  const now = new Date(start + round * 15_000);
  const pods: PodObservation[] = [];
  const perPod = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const load = 0.4 + 0.4 * Math.abs(Math.sin((round + i + seed) / 7));
    pods.push({
      name: `p${i}`,
      phase: 'Running',
      ready: { status: true, lastTransitionTime: new Date(start - 600_000) },
      startTime: new Date(start - 600_000),
      requests: { cpu: 500, memory: 256 * 2 ** 20 * 1000 },
      usage: { cpu: Math.round(500 * load), memory: 128 * 2 ** 20 * 1000 },
      usageTimestamp: now,
      usageWindowMs: 15_000,
    });
    perPod.set(`p${i}`, Math.round(100_000 * load * 1.2));
  }
  return {
    now,
    currentReplicas: n,
    statusReplicas: n,
    pods,
    readings: [undefined, { perPod }, { value: 30_000 * n * 0.9 }],
  };
}

const micros = (from: bigint) => Number(process.hrtime.bigint() - from) / 1000;
const out: Record<string, unknown> = {};

// 1. One app, by pod count.
for (const n of [3, 30, 300]) {
  let state: AppState = initialState();
  const times: number[] = [];
  for (let r = 0; r < rounds * 5; r++) {
    const obs = observe(n, r, 0);
    const t = process.hrtime.bigint();
    const d = decide(policy, state, obs, DEFAULT_ENGINE_OPTIONS);
    state = settle(policy, d, d.desiredReplicas, obs.now).state;
    times.push(micros(t));
  }
  const steady = times.slice(times.length / 5); // the first fifth warms the JIT up
  const row = {
    pods: n,
    p50us: percentile(steady, 50),
    p99us: percentile(steady, 99),
    decisions: steady.length,
  };
  out[`oneApp_${n}pods`] = row;
  console.log(
    `one app, ${n} pods: p50 ${row.p50us.toFixed(1)} µs, p99 ${row.p99us.toFixed(1)} µs per decision`,
  );
}

// 2. A group of `apps` apps with a budget of half what they ask for.
const states: AppState[] = Array.from({ length: appCount }, () => initialState());
const groupTimes: number[] = [];
const allocTimes: number[] = [];
let limited = 0;
for (let r = 0; r < Math.min(rounds, 100); r++) {
  const t = process.hrtime.bigint();
  const decided = states.map((s, i) => decide(policy, s, observe(podsPerApp, r, i), DEFAULT_ENGINE_OPTIONS));
  const apps: BudgetApp[] = decided.map((d, i) => ({
    name: `app${i}`,
    floor: d.floorReplicas,
    want: d.desiredReplicas,
    perReplica: { cpu: 500 },
    weight: 1 + (i % 3),
    priority: i % 4,
  }));
  const wanted = apps.reduce((s, a) => s + a.want * 500, 0);
  const ta = process.hrtime.bigint();
  const alloc = allocate(apps, { cpu: Math.floor(wanted / 2) });
  allocTimes.push(micros(ta) / 1000);
  limited += alloc.limited.length;
  const now = new Date(start + r * 15_000);
  decided.forEach((d, i) => {
    states[i] = settle(policy, d, alloc.replicas.get(`app${i}`) ?? d.desiredReplicas, now).state;
  });
  groupTimes.push(micros(t) / 1000);
}
const g = groupTimes.slice(5);
const a = allocTimes.slice(5);
out.group = {
  apps: appCount,
  podsPerApp,
  roundP50ms: percentile(g, 50),
  roundP99ms: percentile(g, 99),
  allocateP50ms: percentile(a, 50),
  allocateP99ms: percentile(a, 99),
  limitedPerRound: limited / groupTimes.length,
};
console.log(
  `${appCount} apps × ${podsPerApp} pods under a budget of half their wish: a round (decide all + allocate + settle) p50 ${percentile(g, 50).toFixed(1)} ms, p99 ${percentile(g, 99).toFixed(1)} ms; allocation alone p50 ${percentile(a, 50).toFixed(2)} ms, p99 ${percentile(a, 99).toFixed(2)} ms; ${(limited / groupTimes.length).toFixed(0)} apps limited per round`,
);
if (values.json) await writeFile(values.json, JSON.stringify(out, null, 2));
