import { describe, expect, it } from 'vitest';
import { allocate, type BudgetApp } from '../../../src/autoscale/budget.ts';
import { simulate } from '../../../src/autoscale/simulate.ts';

const app = (name: string, want: number, extra: Partial<BudgetApp> = {}): BudgetApp => ({
  name,
  floor: 1,
  want,
  perReplica: { cpu: 1000 },
  weight: 1,
  priority: 0,
  ...extra,
});
const CPU_12 = { cpu: 12_000 };
const counts = (a: ReturnType<typeof allocate>) => Object.fromEntries(a.replicas);

describe('group budget allocation', () => {
  it('gives every app what it wants when the budget holds it', () => {
    const a = allocate([app('web', 5), app('api', 6)], CPU_12);
    expect(counts(a)).toEqual({ web: 5, api: 6 });
    expect(a.limited).toEqual([]);
    expect(a.requested).toEqual({ cpu: 11_000 });
  });

  it('splits a scarce budget by weight within a tier (1:1 → 6/6, 2:1 → 8/4)', () => {
    expect(counts(allocate([app('web', 10), app('api', 6)], CPU_12))).toEqual({ web: 6, api: 6 });
    const weighted = allocate([app('web', 10, { weight: 2 }), app('api', 6)], CPU_12);
    expect(counts(weighted)).toEqual({ web: 8, api: 4 });
    expect(weighted.limited).toEqual(['web', 'api']);
    expect(weighted).toMatchObject({ requested: { cpu: 16_000 }, allocated: { cpu: 12_000 } });
  });

  it('serves a higher tier first, and never takes a lower tier below its minimum', () => {
    const a = allocate([app('web', 10, { priority: 10 }), app('batch', 6, { floor: 2 })], CPU_12);
    expect(counts(a)).toEqual({ web: 10, batch: 2 });
    expect(a.limited).toEqual(['batch']);
  });

  it('never gives an app more than it asked for: the rest goes to the others', () => {
    expect(counts(allocate([app('web', 2, { weight: 5 }), app('api', 20)], CPU_12))).toEqual({
      web: 2,
      api: 10,
    });
  });

  it('weighs the dominant resource when the budget names cpu and memory', () => {
    const mem = { cpu: 500, memory: 4 * 2 ** 30 * 1000 }; // a memory-heavy app
    const cpu = { cpu: 2000, memory: 2 ** 30 * 1000 };
    const a = allocate([app('cache', 10, { perReplica: mem }), app('compute', 10, { perReplica: cpu })], {
      cpu: 16_000,
      memory: 32 * 2 ** 30 * 1000,
    });
    // Equal dominant shares: cache 6 × 4 Gi = 24 of 32 Gi, compute 6 × 2 = 12 of 16 cores (75 % each);
    // one more of either no longer fits.
    expect(counts(a)).toEqual({ cache: 6, compute: 6 });
    expect(a.allocated.memory).toBeLessThanOrEqual(32 * 2 ** 30 * 1000);
  });

  it('keeps floors even when they alone exceed the budget, and says so', () => {
    const a = allocate([app('web', 10, { floor: 8 }), app('api', 10, { floor: 8 })], CPU_12);
    expect(counts(a)).toEqual({ web: 8, api: 8 });
    expect(a.overcommitted).toBe(true);
  });

  it('does not hold back an app that uses nothing the budget counts', () => {
    expect(
      counts(allocate([app('web', 20), app('side', 9, { perReplica: { memory: 1000 } })], CPU_12)),
    ).toEqual({
      web: 12,
      side: 9,
    });
  });

  it('allocates 1,000 apps in one pass', () => {
    const apps = Array.from({ length: 1000 }, (_, i) =>
      app(`a${i}`, 10, { priority: i % 3, weight: 1 + (i % 4), floor: 1 }),
    );
    const a = allocate(apps, { cpu: 5_000_000 });
    const total = [...a.replicas.values()].reduce((x, y) => x + y, 0);
    expect(total).toBe(5000);
    // Tier 2 (the highest) is served in full before tier 0 gets more than its floor.
    expect(apps.filter((x) => x.priority === 2).every((x) => a.replicas.get(x.name) === 10)).toBe(true);
    expect(apps.filter((x) => x.priority === 0).every((x) => a.replicas.get(x.name) === 1)).toBe(true);
  });
});

describe('simulate: the group form', () => {
  const policy = (extra: Record<string, unknown>) => ({
    minReplicas: 1,
    maxReplicas: 20,
    metrics: [
      {
        type: 'Prometheus',
        prometheus: { query: 'load', target: { type: 'AverageValue', averageValue: '1' } },
      },
    ],
    behavior: { scaleUp: { policies: [{ type: 'Pods', value: 100, periodSeconds: 15 }] } },
    ...extra,
  });
  it('decides the apps together under the budget and reports it', () => {
    const out = simulate({
      apps: [
        { name: 'web', autoscaling: policy({ weight: 2 }), perReplica: { cpu: '1' } },
        { name: 'api', autoscaling: policy({ minReplicas: 3 }), perReplica: { cpu: '1' } },
      ],
      budget: { cpu: '12' },
      steps: [
        {
          time: '2026-01-01T00:00:00Z',
          apps: {
            web: { currentReplicas: 2, metricValues: [10] },
            api: { currentReplicas: 3, metricValues: [6] },
          },
        },
      ],
    }) as {
      steps: {
        apps: Record<string, { desiredReplicas: number; conditions: { type: string; reason: string }[] }>;
        budget: unknown;
      }[];
    };
    const step = out.steps[0];
    expect(step?.apps.web?.desiredReplicas).toBe(8);
    expect(step?.apps.api?.desiredReplicas).toBe(4);
    expect(step?.apps.web?.conditions.find((c) => c.type === 'ScalingLimited')?.reason).toBe(
      'GroupBudgetLimit',
    );
    expect(step?.budget).toEqual({
      requested: { cpu: '16' },
      allocated: { cpu: '12' },
      limited: ['web', 'api'],
      overcommitted: false,
    });
  });
});

describe('engine: a lasting budget limit', () => {
  it('keeps ScalingLimited/GroupBudgetLimit with its first transition time, decision after decision', async () => {
    const { decide } = await import('../../../src/autoscale/decide.ts');
    const { initialState } = await import('../../../src/autoscale/types.ts');
    const { resolvePolicy } = await import('../../../src/autoscale/policy.ts');
    const { settle } = await import('../../../src/autoscale/settle.ts');
    const policy = resolvePolicy({
      minReplicas: 1,
      maxReplicas: 20,
      metrics: [
        {
          type: 'Prometheus',
          prometheus: { query: 'q', target: { type: 'AverageValue', averageValue: '1' } },
        },
      ],
      behavior: {},
    });
    let state = initialState();
    const times: string[] = [];
    for (let i = 0; i < 3; i++) {
      const now = new Date(Date.parse('2026-01-01T00:00:00Z') + i * 15_000);
      const d = decide(policy, state, {
        now,
        currentReplicas: 4,
        statusReplicas: 4,
        pods: [],
        readings: [{ value: 6_000 }], // wants 6, within its own limits: only the budget holds it
      });
      state = settle(policy, d, 4, now).state;
      const limited = state.conditions.find((c) => c.type === 'ScalingLimited');
      expect(limited?.reason).toBe('GroupBudgetLimit');
      times.push(limited?.lastTransitionTime.toISOString() ?? '');
    }
    expect(new Set(times).size).toBe(1);
  });
});
