import { describe, expect, it } from 'vitest';
import {
  averageOfValueReplicas,
  averageValueReplicas,
  type CalculatorOptions,
  DEFAULT_TOLERANCE,
  type PodInfo,
  type PodSample,
  resourceUtilizationReplicas,
  valueReplicas,
  withinTolerance,
} from '../../../src/autoscale/replica-calculator.ts';

// Upstream's testing constants (replica_calculator.go): tolerance 0.1, CPU initialisation 2 min,
// initial readiness delay 10 s.
const now = new Date('2026-01-01T12:00:00Z');
const opts: CalculatorOptions = {
  now,
  tolerance: DEFAULT_TOLERANCE,
  cpuInitializationPeriodMs: 2 * 60_000,
  initialReadinessDelayMs: 10_000,
};
const ago = (ms: number) => new Date(now.getTime() - ms);

/** Pods as upstream's test fixture makes them: started long ago, ready (or never ready), 1 CPU each. */
function fixture(
  levels: (number | undefined)[],
  o: { ready?: boolean[]; requests?: number[]; phases?: PodInfo['phase'][] } = {},
) {
  const pods: PodInfo[] = levels.map((_, i) => {
    const ready = o.ready?.[i] ?? true;
    const started = ago(60 * 60_000);
    return {
      name: `p${i}`,
      phase: o.phases?.[i] ?? 'Running',
      startTime: started,
      // A pod that is not ready never was: its condition turned False when it started.
      ready: { status: ready, lastTransitionTime: ready ? ago(30 * 60_000) : started },
      request: o.requests?.[i] ?? 1000,
    };
  });
  const samples = new Map<string, PodSample>();
  levels.forEach((v, i) => {
    if (v !== undefined) samples.set(`p${i}`, { value: v, timestamp: now, windowMs: 30_000 });
  });
  return { pods, samples };
}

describe('HPA replica calculator (upstream replica_calculator_test.go cases)', () => {
  it.each([
    // name, current, levels, options, target %, expected replicas, expected utilisation, raw average
    ['ScaleUp', 3, [300, 500, 700], {}, 30, 5, 50, 500],
    ['ScaleUpUnreadyLessScale', 3, [300, 500, 700], { ready: [false, true, true] }, 30, 4, 60, 600],
    ['ScaleUpUnreadyNoScale', 3, [400, 500, 700], { ready: [true, false, false] }, 30, 3, 40, 400],
    ['ScaleDown', 5, [100, 300, 500, 250, 250], {}, 50, 3, 28, 280],
    [
      'ScaleDownIgnoresUnreadyPods',
      5,
      [100, 300, 500, 250, 250],
      { ready: [true, true, true, false, false] },
      50,
      2,
      30,
      300,
    ],
    ['Tolerance', 3, [1010, 1030, 1020], { requests: [900, 1000, 1100] }, 100, 3, 102, 1020],
  ] as const)('%s', (_, current, levels, o, target, replicas, utilization, average) => {
    const { pods, samples } = fixture([...levels], { ...o } as never);
    expect(resourceUtilizationReplicas(current, target, 'cpu', pods, samples, opts)).toEqual({
      replicas,
      utilization,
      average,
    });
  });

  it('a pending pod is unready: on scale-up it counts as 0 %', () => {
    const { pods, samples } = fixture([900, 900, undefined], { phases: ['Running', 'Running', 'Pending'] });
    // 90 % of requests against 50 %: ratio 1.8; with the pending pod at 0: 60 % -> ratio 1.2 -> ceil(3.6).
    expect(resourceUtilizationReplicas(3, 50, 'cpu', pods, samples, opts).replicas).toBe(4);
  });

  it('missing metrics on scale-down are assumed at 100 % of requests, which can cancel it', () => {
    const { pods, samples } = fixture([400, 95, undefined, undefined]);
    // 24 % against 50 % (ratio 0.48); the two missing pods at 100 %: 62 %, ratio 1.24: direction flipped.
    expect(resourceUtilizationReplicas(4, 50, 'cpu', pods, samples, opts)).toEqual({
      replicas: 4,
      utilization: 24,
      average: 247,
    });
  });

  it('missing metrics on scale-up are assumed at 0 %', () => {
    const { pods, samples } = fixture([1000, 1000, undefined]);
    // 100 % against 50 %: the missing pod at 0 -> 66 %, ratio 1.32 -> ceil(3.96) = 4.
    expect(resourceUtilizationReplicas(3, 50, 'cpu', pods, samples, opts).replicas).toBe(4);
  });

  it('gates young pods on readiness for CPU only', () => {
    const young = (name: string): PodInfo => ({
      name,
      phase: 'Running',
      startTime: ago(30_000),
      ready: { status: true, lastTransitionTime: ago(5_000) },
      request: 1000,
    });
    const pods = [young('a'), young('b')];
    // The samples were taken before the pods became ready (plus a window): unready for CPU.
    const samples = new Map<string, PodSample>([
      ['a', { value: 900, timestamp: ago(1_000), windowMs: 30_000 }],
      ['b', { value: 900, timestamp: ago(1_000), windowMs: 30_000 }],
    ]);
    expect(() => resourceUtilizationReplicas(2, 50, 'cpu', pods, samples, opts)).toThrow(
      /pods might be unready/,
    );
    expect(resourceUtilizationReplicas(2, 50, 'memory', pods, samples, opts).replicas).toBe(4);
  });

  it('AverageValue: missing pods on scale-down are filled with exactly the target', () => {
    const { pods, samples } = fixture([100, 100, undefined]);
    // average 100 against 500: ratio 0.2; the missing pod at 500: average 233, ratio 0.47 -> ceil(1.4) = 2.
    expect(averageValueReplicas(3, 500, undefined, pods, samples, opts)).toEqual({
      replicas: 2,
      average: 100,
    });
  });

  it('refuses an empty selector and pods without a request', () => {
    expect(() => resourceUtilizationReplicas(1, 50, 'cpu', [], new Map(), opts)).toThrow(/no pods returned/);
    const { pods, samples } = fixture([100]);
    const noRequest = pods.map(({ request: _r, ...p }) => p);
    expect(() => resourceUtilizationReplicas(1, 50, 'cpu', noRequest, samples, opts)).toThrow(
      /missing request/,
    );
  });

  it('Value targets: tolerance, ready pods, and scale from zero', () => {
    expect(valueReplicas(4, 1050, 1000, 4, DEFAULT_TOLERANCE)).toBe(4);
    expect(valueReplicas(4, 2000, 1000, 3, DEFAULT_TOLERANCE)).toBe(6);
    expect(valueReplicas(0, 2500, 1000, 0, DEFAULT_TOLERANCE)).toBe(3);
  });

  it('AverageValue of one number: ceil(usage / target per pod), average reported', () => {
    expect(averageOfValueReplicas(3, 4500, 500, DEFAULT_TOLERANCE)).toEqual({ replicas: 9, average: 1500 });
    expect(averageOfValueReplicas(3, 1550, 500, DEFAULT_TOLERANCE)).toEqual({ replicas: 3, average: 517 });
  });

  it('tolerance is an inclusive band, per direction', () => {
    expect(withinTolerance(1.1, DEFAULT_TOLERANCE)).toBe(true);
    expect(withinTolerance(0.9, DEFAULT_TOLERANCE)).toBe(true);
    expect(withinTolerance(1.1000001, DEFAULT_TOLERANCE)).toBe(false);
    expect(withinTolerance(0.85, { scaleUp: 0.1, scaleDown: 0.2 })).toBe(true);
  });
});
