/**
 * Cases transcribed from Kubernetes' `pkg/controller/podautoscaler/horizontal_test.go` and
 * `replica_calculator_test.go`, fed as scenarios through `shoal autoscale simulate` (the command's
 * code, in process; one test runs the real binary). The harness mirrors upstream's: pods with 1 h
 * old start times unless "hot" (started now) or "cool" (3 min ago), metrics sampled now over a
 * one-minute window, the testing flags (tolerance 0.1, CPU initialisation 2 min, readiness delay
 * 10 s), and the expected replica counts and conditions are upstream's.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { autoscaleCommand } from '../../../src/cli/autoscale.ts';

const NOW = '2026-01-01T12:00:00Z';
const at = (secondsAgo: number) => new Date(Date.parse(NOW) - secondsAgo * 1000).toISOString();
const HOT = at(0);
const COOL = at(180);

interface Case {
  min?: number;
  max: number;
  spec: number;
  status?: number;
  /** CPU utilisation target (percent); omitted when `metrics` is given. */
  cpuTarget?: number;
  /** Per pod CPU usage in milli-cores; pods beyond it have no metric. */
  levels?: number[];
  /** Per pod CPU requests in cores; one pod each. */
  requests?: number[];
  readiness?: boolean[];
  phases?: string[];
  deleting?: boolean[];
  startTimes?: string[];
  metrics?: unknown[];
  metricValues?: unknown[];
  behavior?: unknown;
  recommendations?: { replicas: number; time: string }[];
}

function scenario(c: Case) {
  const requests = c.requests ?? [];
  const pods = requests.map((r, i) => {
    const start = c.startTimes?.[i] ?? at(3600);
    const level = c.levels?.[i];
    return {
      name: `p${i}`,
      phase: c.phases?.[i] ?? 'Running',
      ready: c.readiness?.[i] ?? true,
      startTime: start,
      readyTransitionTime: start,
      deleting: c.deleting?.[i] ?? false,
      requests: { cpu: String(r) },
      ...(level === undefined
        ? {}
        : { usage: { cpu: `${level}m` }, usageTimestamp: NOW, usageWindowSeconds: 60 }),
    };
  });
  const metrics = c.metrics ?? [
    {
      type: 'Resource',
      resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: c.cpuTarget } },
    },
  ];
  return {
    autoscaling: {
      minReplicas: c.min ?? 1,
      maxReplicas: c.max,
      metrics,
      ...(c.behavior ? { behavior: c.behavior } : {}),
    },
    options: { tolerance: 0.1, cpuInitializationPeriodSeconds: 120, initialReadinessDelaySeconds: 10 },
    ...(c.recommendations ? { history: { recommendations: c.recommendations } } : {}),
    steps: [
      {
        time: NOW,
        currentReplicas: c.spec,
        statusReplicas: c.status ?? c.spec,
        pods,
        metricValues: c.metricValues ?? metrics.map(() => null),
      },
    ],
  };
}

interface StepOut {
  desiredReplicas: number;
  reason: string;
  conditions: { type: string; status: string; reason: string }[];
  metrics: { replicas?: number; error?: string; current?: Record<string, unknown> }[];
}

async function simulate(input: unknown): Promise<{ steps: StepOut[] }> {
  let out = '';
  let err = '';
  const code = await autoscaleCommand(['simulate', '-'], {
    stdin: Readable.from([JSON.stringify(input)]),
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
  });
  expect(err).toBe('');
  expect(code).toBe(0);
  return JSON.parse(out);
}

async function step(c: Case): Promise<StepOut> {
  const r = await simulate(scenario(c));
  return r.steps[0] as StepOut;
}

const condition = (s: StepOut, type: string) => {
  const c = s.conditions.find((x) => x.type === type);
  return c && `${c.status}/${c.reason}`;
};

const qps = (target: string) => ({
  type: 'Pods',
  pods: { query: 'qps', target: { type: 'AverageValue', averageValue: target } },
});
const prom = (target: { type: 'Value' | 'AverageValue'; value?: string; averageValue?: string }) => ({
  type: 'Prometheus',
  prometheus: { query: 'queue_length', target },
});
const perPod = (levels: number[]) => Object.fromEntries(levels.map((v, i) => [`p${i}`, `${v}m`]));

describe('horizontal_test.go through the simulator', () => {
  it.each<[string, Case, number]>([
    [
      'TestScaleUp',
      { min: 2, max: 6, spec: 3, cpuTarget: 30, levels: [300, 500, 700], requests: [1, 1, 1] },
      5,
    ],
    [
      'TestScaleUpUnreadyLessScale',
      {
        min: 2,
        max: 6,
        spec: 3,
        cpuTarget: 30,
        levels: [300, 500, 700],
        requests: [1, 1, 1],
        readiness: [false, true, true],
      },
      4,
    ],
    [
      'TestScaleUpHotCpuLessScale',
      {
        min: 2,
        max: 6,
        spec: 3,
        cpuTarget: 30,
        levels: [300, 500, 700],
        requests: [1, 1, 1],
        startTimes: [HOT, COOL, COOL],
      },
      4,
    ],
    [
      'TestScaleUpUnreadyNoScale',
      {
        min: 2,
        max: 6,
        spec: 3,
        cpuTarget: 30,
        levels: [400, 500, 700],
        requests: [1, 1, 1],
        readiness: [true, false, false],
      },
      3,
    ],
    [
      'TestScaleUpHotCpuNoScale',
      {
        min: 2,
        max: 6,
        spec: 3,
        cpuTarget: 30,
        levels: [400, 500, 700],
        requests: [1, 1, 1],
        readiness: [true, false, false],
        startTimes: [COOL, HOT, HOT],
      },
      3,
    ],
    [
      'TestScaleUpIgnoresFailedPods',
      {
        min: 2,
        max: 6,
        spec: 2,
        cpuTarget: 30,
        levels: [500, 700],
        requests: [1, 1, 1, 1],
        readiness: [true, true, false, false],
        phases: ['Running', 'Running', 'Failed', 'Failed'],
      },
      4,
    ],
    [
      'TestScaleUpIgnoresDeletionPods',
      {
        min: 2,
        max: 6,
        spec: 2,
        cpuTarget: 30,
        levels: [500, 700],
        requests: [1, 1, 1, 1],
        readiness: [true, true, false, false],
        deleting: [false, false, true, true],
      },
      4,
    ],
    [
      'TestScaleUpCM',
      {
        min: 2,
        max: 6,
        spec: 3,
        requests: [1, 1, 1],
        metrics: [qps('15')],
        metricValues: [perPod([20000, 10000, 30000])],
      },
      4,
    ],
    [
      'TestScaleUpCMUnreadyAndHotCpuNoLessScale',
      {
        min: 2,
        max: 6,
        spec: 3,
        requests: [1, 1, 1],
        readiness: [true, true, false],
        startTimes: [HOT, COOL, COOL],
        metrics: [qps('15')],
        metricValues: [perPod([50000, 10000, 30000])],
      },
      6,
    ],
    [
      'TestScaleUpCMUnreadyandCpuHot',
      {
        min: 2,
        max: 6,
        spec: 3,
        requests: [1, 1, 1],
        readiness: [false, true, false],
        startTimes: [HOT, COOL, HOT],
        metrics: [qps('15')],
        metricValues: [perPod([50000, 15000, 30000])],
      },
      6,
    ],
    [
      'TestScaleUpCMExternal (a Prometheus Value target)',
      {
        min: 2,
        max: 6,
        spec: 3,
        requests: [1, 1, 1],
        metrics: [prom({ type: 'Value', value: '6666m' })],
        metricValues: ['8600m'],
      },
      4,
    ],
    [
      'TestScaleUpPerPodCMExternal (a Prometheus AverageValue target)',
      {
        min: 2,
        max: 6,
        spec: 3,
        requests: [1, 1, 1],
        metrics: [prom({ type: 'AverageValue', averageValue: '2222m' })],
        metricValues: ['8600m'],
      },
      4,
    ],
    [
      'TestScaleDown',
      {
        min: 2,
        max: 6,
        spec: 5,
        cpuTarget: 50,
        levels: [100, 300, 500, 250, 250],
        requests: [1, 1, 1, 1, 1],
        recommendations: [],
      },
      3,
    ],
    [
      'TestScaleDownStabilizeInitialSize (a new autoscaler seeds its current count)',
      {
        min: 2,
        max: 6,
        spec: 5,
        cpuTarget: 50,
        levels: [100, 300, 500, 250, 250],
        requests: [1, 1, 1, 1, 1],
      },
      5,
    ],
    [
      'TestScaleDownWithScalingRules',
      {
        min: 2,
        max: 6,
        spec: 5,
        cpuTarget: 50,
        levels: [100, 300, 500, 250, 250],
        requests: [1, 1, 1, 1, 1],
        recommendations: [],
        behavior: {
          scaleUp: {
            stabilizationWindowSeconds: 30,
            policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
          },
        },
      },
      3,
    ],
    [
      'TestScaleDownCM',
      {
        min: 2,
        max: 6,
        spec: 5,
        requests: [1, 1, 1, 1, 1],
        recommendations: [],
        metrics: [qps('20')],
        metricValues: [perPod([12000, 12000, 12000, 12000, 12000])],
      },
      3,
    ],
    [
      'TestScaleDownIncludeUnreadyPods',
      {
        min: 2,
        max: 6,
        spec: 5,
        cpuTarget: 50,
        levels: [100, 300, 500, 250, 250],
        requests: [1, 1, 1, 1, 1],
        readiness: [true, true, true, false, false],
        recommendations: [],
      },
      2,
    ],
    [
      'TestScaleDownIgnoreHotCpuPods',
      {
        min: 2,
        max: 6,
        spec: 5,
        cpuTarget: 50,
        levels: [100, 300, 500, 250, 250],
        requests: [1, 1, 1, 1, 1],
        startTimes: [COOL, COOL, COOL, HOT, HOT],
        recommendations: [],
      },
      2,
    ],
    [
      'TestScaleDownIgnoresFailedPods',
      {
        min: 2,
        max: 6,
        spec: 5,
        cpuTarget: 50,
        levels: [100, 300, 500, 250, 250],
        requests: [1, 1, 1, 1, 1, 1, 1],
        readiness: [true, true, true, true, true, false, false],
        phases: ['Running', 'Running', 'Running', 'Running', 'Running', 'Failed', 'Failed'],
        recommendations: [],
      },
      3,
    ],
    [
      'TestScaleDownIgnoresDeletionPods',
      {
        min: 2,
        max: 6,
        spec: 5,
        cpuTarget: 50,
        levels: [100, 300, 500, 250, 250],
        requests: [1, 1, 1, 1, 1, 1, 1],
        readiness: [true, true, true, true, true, false, false],
        deleting: [false, false, false, false, false, true, true],
        recommendations: [],
      },
      3,
    ],
    [
      'TestTolerance',
      { min: 1, max: 5, spec: 3, cpuTarget: 100, levels: [1010, 1030, 1020], requests: [0.9, 1, 1.1] },
      3,
    ],
    [
      'TestToleranceCM',
      {
        min: 1,
        max: 5,
        spec: 3,
        requests: [1, 1, 1],
        metrics: [qps('20')],
        metricValues: [perPod([20000, 20001, 21000])],
      },
      3,
    ],
    [
      'TestMinReplicas',
      {
        min: 2,
        max: 5,
        spec: 3,
        cpuTarget: 90,
        levels: [10, 95, 10],
        requests: [0.9, 1, 1.1],
        recommendations: [],
      },
      2,
    ],
    [
      'TestZeroMinReplicasDesiredZero',
      { min: 0, max: 5, spec: 3, cpuTarget: 90, levels: [0, 0, 0], requests: [1, 1, 1], recommendations: [] },
      0,
    ],
    [
      'TestMinReplicasDesiredZero',
      { min: 2, max: 5, spec: 3, cpuTarget: 90, levels: [0, 0, 0], requests: [1, 1, 1], recommendations: [] },
      2,
    ],
    [
      'TestZeroReplicas (a target at zero is paused)',
      { min: 3, max: 5, spec: 0, cpuTarget: 90, requests: [] },
      0,
    ],
    ['TestTooFewReplicas', { min: 3, max: 5, spec: 2, cpuTarget: 90, requests: [] }, 3],
    ['TestTooManyReplicas', { min: 3, max: 5, spec: 10, cpuTarget: 90, requests: [] }, 5],
    [
      'TestMaxReplicas',
      { min: 2, max: 5, spec: 3, cpuTarget: 90, levels: [8000, 9500, 1000], requests: [0.9, 1, 1.1] },
      5,
    ],
    [
      'TestSuperfluousMetrics',
      {
        min: 2,
        max: 6,
        spec: 4,
        cpuTarget: 100,
        levels: [4000, 9500, 3000, 7000, 3200, 2000],
        requests: [1, 1, 1, 1],
      },
      6,
    ],
    [
      'TestMissingMetrics',
      {
        min: 2,
        max: 6,
        spec: 4,
        cpuTarget: 100,
        levels: [400, 95],
        requests: [1, 1, 1, 1],
        recommendations: [],
      },
      3,
    ],
    ['TestEmptyMetrics', { min: 2, max: 6, spec: 4, cpuTarget: 100, levels: [], requests: [1, 1, 1, 1] }, 4],
    ['TestScaleUpRCImmediately', { min: 2, max: 6, spec: 1, cpuTarget: 50, requests: [1] }, 2],
    ['TestScaleDownRCImmediately', { min: 2, max: 5, spec: 12, cpuTarget: 50, requests: [1] }, 5],
    [
      'TestUpscaleCap (behavior: 700% per minute)',
      {
        min: 1,
        max: 100,
        spec: 3,
        cpuTarget: 10,
        levels: [100, 200, 300],
        requests: [0.1, 0.1, 0.1],
        behavior: { scaleUp: { policies: [{ type: 'Percent', value: 700, periodSeconds: 60 }] } },
      },
      24,
    ],
    [
      'TestUpscaleCapGreaterThanMaxReplicas',
      {
        min: 1,
        max: 20,
        spec: 3,
        cpuTarget: 10,
        levels: [100, 200, 300],
        requests: [0.1, 0.1, 0.1],
        behavior: { scaleUp: { policies: [{ type: 'Percent', value: 700, periodSeconds: 60 }] } },
      },
      20,
    ],
    [
      'TestScaleUpOneMetricInvalid (the valid metric still scales up)',
      {
        min: 2,
        max: 6,
        spec: 3,
        requests: [1, 1, 1],
        metrics: [qps('15'), prom({ type: 'Value', value: '10' })],
        metricValues: [perPod([20000, 10000, 30000]), null],
      },
      4,
    ],
    [
      'TestScaleDownOneMetricInvalid (a failed metric forbids a scale-down)',
      {
        min: 2,
        max: 6,
        spec: 5,
        cpuTarget: 50,
        levels: [100, 300, 500, 250, 250],
        requests: [1, 1, 1, 1, 1],
        recommendations: [],
        metrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
          },
          prom({ type: 'Value', value: '10' }),
        ],
        metricValues: [null, null],
      },
      5,
    ],
    [
      'TestScaleUpBothMetricsEmpty',
      {
        min: 2,
        max: 6,
        spec: 3,
        requests: [1, 1, 1],
        metrics: [qps('15'), prom({ type: 'Value', value: '10' })],
        metricValues: [null, null],
      },
      3,
    ],
  ])('%s', async (_name, c, expected) => {
    expect((await step(c)).desiredReplicas).toBe(expected);
  });

  it('reports the conditions HPA reports', async () => {
    const maxed = await step({
      min: 2,
      max: 5,
      spec: 3,
      cpuTarget: 90,
      levels: [8000, 9500, 1000],
      requests: [0.9, 1, 1.1],
    });
    expect([
      condition(maxed, 'AbleToScale'),
      condition(maxed, 'ScalingActive'),
      condition(maxed, 'ScalingLimited'),
    ]).toEqual(['True/SucceededRescale', 'True/ValidMetricFound', 'True/TooManyReplicas']);
    const floored = await step({
      min: 2,
      max: 5,
      spec: 3,
      cpuTarget: 90,
      levels: [10, 95, 10],
      requests: [0.9, 1, 1.1],
      recommendations: [],
    });
    expect(condition(floored, 'ScalingLimited')).toBe('True/TooFewReplicas');
    const capped = await step({
      min: 1,
      max: 100,
      spec: 3,
      cpuTarget: 10,
      levels: [100, 200, 300],
      requests: [0.1, 0.1, 0.1],
      behavior: { scaleUp: { policies: [{ type: 'Percent', value: 700, periodSeconds: 60 }] } },
    });
    expect(condition(capped, 'ScalingLimited')).toBe('True/ScaleUpLimit');
    const stabilized = await step({
      min: 2,
      max: 6,
      spec: 5,
      cpuTarget: 50,
      levels: [100, 300, 500, 250, 250],
      requests: [1, 1, 1, 1, 1],
    });
    expect(condition(stabilized, 'AbleToScale')).toBe('True/ScaleDownStabilized');
    const paused = await step({ min: 3, max: 5, spec: 0, cpuTarget: 90, requests: [] });
    expect(condition(paused, 'ScalingActive')).toBe('False/ScalingDisabled');
    const empty = await step({ min: 2, max: 6, spec: 4, cpuTarget: 100, levels: [], requests: [1, 1, 1, 1] });
    expect(condition(empty, 'ScalingActive')).toBe('False/FailedGetResourceMetric');
    const invalid = await step({
      min: 2,
      max: 6,
      spec: 5,
      cpuTarget: 50,
      levels: [100, 300, 500, 250, 250],
      requests: [1, 1, 1, 1, 1],
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
        },
        prom({ type: 'Value', value: '10' }),
      ],
      metricValues: [null, null],
    });
    expect(condition(invalid, 'ScalingActive')).toBe('False/FailedGetExternalMetric');
    // Status reports the utilisation before missing pods were filled in (TestMissingMetrics: 495m of 2 cores).
    const missing = await step({
      min: 2,
      max: 6,
      spec: 4,
      cpuTarget: 100,
      levels: [400, 95],
      requests: [1, 1, 1, 1],
      recommendations: [],
    });
    expect(missing.metrics[0]?.current).toEqual({ averageUtilization: 24, averageValue: '247m' });
    expect(missing.reason).toBe('All metrics below target');
  });
});

describe('TestScalingWithRules (behavior policies) through the simulator', () => {
  const up = (pods: number, percent: number, period = 60) => ({
    scaleUp: {
      policies: [
        ...(pods ? [{ type: 'Pods', value: pods, periodSeconds: period }] : []),
        ...(percent ? [{ type: 'Percent', value: percent, periodSeconds: period }] : []),
      ],
    },
  });
  const down = (pods: number, percent: number, period = 60) => ({
    scaleDown: {
      stabilizationWindowSeconds: 0,
      policies: [
        ...(pods ? [{ type: 'Pods', value: pods, periodSeconds: period }] : []),
        ...(percent ? [{ type: 'Percent', value: percent, periodSeconds: period }] : []),
      ],
    },
  });
  // A Prometheus AverageValue target of 1 per replica makes the metric propose exactly `want`.
  const wanting = (current: number, want: number, min: number, max: number, behavior: unknown) =>
    step({
      min,
      max,
      spec: current,
      requests: Array.from({ length: current }, () => 1),
      recommendations: [],
      metrics: [prom({ type: 'AverageValue', averageValue: '1' })],
      metricValues: [String(want)],
      behavior,
    });

  it.each<[string, number, number, number, number, unknown, number, string]>([
    ['scaleUp with default behavior', 10, 50, 1, 1000, {}, 20, 'ScaleUpLimit'],
    [
      'scaleUp with pods policy larger than percent policy',
      10,
      500,
      1,
      1000,
      up(100, 100),
      110,
      'ScaleUpLimit',
    ],
    ['scaleUp with percent policy larger than pods policy', 10, 500, 1, 1000, up(2, 100), 20, 'ScaleUpLimit'],
    [
      'scaleUp with spec MaxReplicas limitation with large pod policy',
      10,
      50,
      1,
      20,
      up(100, 0),
      20,
      'TooManyReplicas',
    ],
    [
      'scaleUp with spec MaxReplicas limitation with large percent policy',
      10,
      50,
      1,
      20,
      up(10000, 10000),
      20,
      'TooManyReplicas',
    ],
    ['scaleUp with pod policy limitation', 10, 50, 1, 1000, up(30, 0), 40, 'ScaleUpLimit'],
    ['scaleUp with percent policy limitation', 10, 50, 1, 1000, up(0, 200), 30, 'ScaleUpLimit'],
    [
      'scaleDown with percent policy larger than pod policy',
      100,
      2,
      1,
      1000,
      down(20, 1),
      80,
      'ScaleDownLimit',
    ],
    [
      'scaleDown with pod policy larger than percent policy',
      100,
      2,
      1,
      1000,
      down(2, 1),
      98,
      'ScaleDownLimit',
    ],
    [
      'scaleDown with spec MinReplicas limitation with large pod policy',
      100,
      2,
      5,
      1000,
      down(100, 0),
      5,
      'TooFewReplicas',
    ],
    [
      'scaleDown with spec MinReplicas limitation with large percent policy',
      100,
      2,
      5,
      1000,
      down(0, 100),
      5,
      'TooFewReplicas',
    ],
    ['scaleDown with pod policy limitation', 100, 2, 5, 1000, down(5, 0), 95, 'ScaleDownLimit'],
    ['scaleDown with percent policy limitation', 100, 2, 5, 1000, down(0, 50), 50, 'ScaleDownLimit'],
  ])('%s', async (_name, current, want, min, max, behavior, expected, limited) => {
    const s = await wanting(current, want, min, max, behavior);
    expect(s.desiredReplicas).toBe(expected);
    expect(condition(s, 'ScalingLimited')).toBe(`True/${limited}`);
  });
});

describe('replica_calculator_test.go: the per-metric proposal', () => {
  // The calculator's own result is `metrics[0].replicas`, before normalisation and limits.
  it.each<[string, Case, number]>([
    [
      'TestReplicaCalcScaleUp',
      { max: 100, spec: 3, cpuTarget: 30, levels: [300, 500, 700], requests: [1, 1, 1] },
      5,
    ],
    [
      'TestReplicaCalcScaleUpUnreadyLessScale',
      {
        max: 100,
        spec: 3,
        cpuTarget: 30,
        levels: [300, 500, 700],
        requests: [1, 1, 1],
        readiness: [false, true, true],
      },
      4,
    ],
    [
      'TestReplicaCalcScaleUpUnreadyNoScale',
      {
        max: 100,
        spec: 3,
        cpuTarget: 30,
        levels: [400, 500, 700],
        requests: [1, 1, 1],
        readiness: [true, false, false],
      },
      3,
    ],
    [
      'TestReplicaCalcScaleDown',
      { max: 100, spec: 5, cpuTarget: 50, levels: [100, 300, 500, 250, 250], requests: [1, 1, 1, 1, 1] },
      3,
    ],
    [
      'TestReplicaCalcTolerance',
      { max: 100, spec: 3, cpuTarget: 100, levels: [1010, 1030, 1020], requests: [0.9, 1, 1.1] },
      3,
    ],
    [
      'TestReplicaCalcSuperfluousMetrics',
      {
        max: 100,
        spec: 4,
        cpuTarget: 100,
        levels: [4000, 9500, 3000, 7000, 3200, 2000],
        requests: [1, 1, 1, 1],
      },
      24,
    ],
    [
      'TestReplicaCalcMissingMetricsNoChangeEq',
      { max: 100, spec: 2, cpuTarget: 100, levels: [1000], requests: [1, 1] },
      2,
    ],
    [
      'TestReplicaCalcMissingMetricsNoChangeGt',
      { max: 100, spec: 2, cpuTarget: 100, levels: [1900], requests: [1, 1] },
      2,
    ],
    [
      'TestReplicaCalcMissingMetricsNoChangeLt',
      { max: 100, spec: 2, cpuTarget: 100, levels: [600], requests: [1, 1] },
      2,
    ],
  ])('%s', async (_name, c, expected) => {
    expect((await step(c)).metrics[0]?.replicas).toBe(expected);
  });
});

describe('shoal autoscale simulate (the command, in this process)', () => {
  const run = async (args: string[], input = '') => {
    let stdout = '';
    let stderr = '';
    const status = await autoscaleCommand(args, {
      stdin: Readable.from([input]),
      out: (t) => {
        stdout += t;
      },
      err: (t) => {
        stderr += t;
      },
    });
    return { status, stdout, stderr };
  };

  it('reads a scenario on stdin and prints the decisions as JSON', async () => {
    const r = await run(
      ['simulate', '-'],
      JSON.stringify(
        scenario({ min: 2, max: 6, spec: 3, cpuTarget: 30, levels: [300, 500, 700], requests: [1, 1, 1] }),
      ),
    );
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).steps[0].desiredReplicas).toBe(5);
  });

  it('refuses a bad scenario with a message naming the field, and a usage error with 2', async () => {
    const bad = await run(
      ['simulate', '-'],
      JSON.stringify({ autoscaling: { maxReplicas: 3 }, steps: [{ time: 'yesterday' }] }),
    );
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('steps[0].time');
    expect((await run(['simulate', '-'], '{not json')).status).toBe(1);
    expect((await run(['frobnicate'])).status).toBe(2);
  });
});

describe('the README', () => {
  it('documents a scenario that runs as written', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### `shoal autoscale simulate`'));
    const json = section.slice(
      section.indexOf('```json\n') + 8,
      section.indexOf('```', section.indexOf('```json\n') + 8),
    );
    const out = await simulate(JSON.parse(json));
    expect(out.steps).toHaveLength(1);
    expect(out.steps[0]?.metrics.map((m) => m.replicas)).toEqual([1, 2, 2]);
  });
});

describe('simulate: state carried from step to step (legacy path)', () => {
  const at = (s: number) => new Date(Date.parse(NOW) + s * 1000).toISOString();
  /** `n` pods at `cpu` millicores each, 1 core requested. */
  const load = (t: number, n: number, cpu: number) => ({
    time: at(t),
    pods: Array.from({ length: n }, (_, i) => ({
      name: `p${i}`,
      requests: { cpu: '1' },
      usage: { cpu: `${cpu}m` },
    })),
    metricValues: [null],
  });

  it('scales up at most max(2×, 4) a decision, then holds a scale-down for the 5-minute window', async () => {
    const out = await simulate({
      autoscaling: {
        minReplicas: 1,
        maxReplicas: 20,
        metrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
          },
        ],
      },
      steps: [
        { ...load(0, 2, 1500), currentReplicas: 2 }, // 150 % of 50 %: wants 6, capped at max(2 × 2, 4)
        load(15, 4, 1000), // ratio 2: wants 8, within max(2 × 4, 4)
        load(30, 8, 100), // ratio 0.2: wants 2, but 8 was recommended 15 s ago
        load(290, 8, 100), // still inside the window (the 8 of t=15 is 275 s old)
        load(320, 8, 100), // the window has passed: down to ceil(0.2 × 8) = 2
      ],
    });
    expect(out.steps.map((s) => s.desiredReplicas)).toEqual([4, 8, 8, 8, 2]);
    expect(out.steps.map((s) => condition(s, 'ScalingLimited'))).toEqual([
      'True/ScaleUpLimit',
      'False/DesiredWithinRange',
      'False/DesiredWithinRange',
      'False/DesiredWithinRange',
      'False/DesiredWithinRange',
    ]);
    expect(condition(out.steps[2] as StepOut, 'AbleToScale')).toBe('True/ScaleDownStabilized');
    expect(out.steps[4]?.reason).toBe('All metrics below target');
  });

  it('with behavior, scale-up events limit the next decisions within the policy period', async () => {
    const out = await simulate({
      autoscaling: {
        minReplicas: 1,
        maxReplicas: 50,
        metrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
          },
        ],
        behavior: { scaleUp: { policies: [{ type: 'Pods', value: 3, periodSeconds: 60 }] } },
      },
      steps: [
        { ...load(0, 2, 2000), currentReplicas: 2 }, // ratio 4: wants 8, +3 per minute → 5
        load(15, 5, 2000), // wants 20: 3 already added this minute → stays 5
        load(61, 5, 2000), // a minute later: +3 → 8
      ],
    });
    expect(out.steps.map((s) => s.desiredReplicas)).toEqual([5, 5, 8]);
    expect(condition(out.steps[1] as StepOut, 'ScalingLimited')).toBe('True/ScaleUpLimit');
  });
});
