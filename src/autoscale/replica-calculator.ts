/**
 * The HPA replica calculator, pure: Kubernetes' `pkg/controller/podautoscaler/replica_calculator.go`
 * and `metrics/utilization.go` (autoscaling.md §1.5–1.6). All quantities are integers in milli-units,
 * as upstream computes them; the integer truncations are part of the contract.
 */

/** Tolerance band around a ratio of 1 (`--horizontal-pod-autoscaler-tolerance`, or per direction). */
export interface Tolerance {
  scaleUp: number;
  scaleDown: number;
}

export const DEFAULT_TOLERANCE: Tolerance = { scaleUp: 0.1, scaleDown: 0.1 };

/** `(1 - scaleDown) <= ratio <= (1 + scaleUp)`, inclusive. Pure. */
export function withinTolerance(ratio: number, t: Tolerance): boolean {
  return 1 - t.scaleDown <= ratio && ratio <= 1 + t.scaleUp;
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

/** What the calculator needs of one pod of the target. */
export interface PodInfo {
  name: string;
  phase: PodPhase;
  /** Has a deletionTimestamp. */
  deleting?: boolean;
  /** The PodReady condition, if the pod has one. */
  ready?: { status: boolean; lastTransitionTime: Date };
  startTime?: Date;
  /** The pod's request of the metric's resource, in milli-units (Resource metrics only). */
  request?: number;
}

/** One pod's sample: its value in milli-units, when it was taken and over what window. */
export interface PodSample {
  value: number;
  timestamp: Date;
  windowMs: number;
}

export interface CalculatorOptions {
  now: Date;
  tolerance: Tolerance;
  /** CPU samples of pods younger than this are gated on readiness (default 5 min). */
  cpuInitializationPeriodMs: number;
  /** A pod that turned unready within this of starting "has never been ready" (default 30 s). */
  initialReadinessDelayMs: number;
}

export class CalculatorError extends Error {
  override readonly name = 'CalculatorError';
}

interface Grouped {
  readyCount: number;
  unready: Set<string>;
  missing: Set<string>;
  ignored: Set<string>;
}

/** Upstream `groupPods`: which pods count, which are unready, which lack metrics. Pure. */
export function groupPods(
  pods: readonly PodInfo[],
  samples: ReadonlyMap<string, PodSample>,
  resource: string | undefined,
  opts: CalculatorOptions,
): Grouped {
  const g: Grouped = { readyCount: 0, unready: new Set(), missing: new Set(), ignored: new Set() };
  const now = opts.now.getTime();
  for (const pod of pods) {
    if (pod.deleting || pod.phase === 'Failed') {
      g.ignored.add(pod.name);
      continue;
    }
    if (pod.phase === 'Pending') {
      g.unready.add(pod.name);
      continue;
    }
    const sample = samples.get(pod.name);
    if (!sample) {
      g.missing.add(pod.name);
      continue;
    }
    if (resource === 'cpu') {
      let unready: boolean;
      if (!pod.ready || !pod.startTime) unready = true;
      else if (pod.startTime.getTime() + opts.cpuInitializationPeriodMs > now) {
        // Still initialising: a sample taken before it became ready (plus one window) does not count.
        unready =
          !pod.ready.status ||
          sample.timestamp.getTime() < pod.ready.lastTransitionTime.getTime() + sample.windowMs;
      } else {
        // Past initialisation: ignored only if it never became ready.
        unready =
          !pod.ready.status &&
          pod.startTime.getTime() + opts.initialReadinessDelayMs > pod.ready.lastTransitionTime.getTime();
      }
      if (unready) {
        g.unready.add(pod.name);
        continue;
      }
    }
    g.readyCount++;
  }
  return g;
}

/** Upstream `GetResourceUtilizationRatio`: integer utilisation, its ratio to the target, raw average. */
export function utilizationRatio(
  samples: ReadonlyMap<string, number>,
  requests: ReadonlyMap<string, number>,
  targetUtilization: number,
): { ratio: number; utilization: number; rawAverage: number } {
  let sumM = 0;
  let sumR = 0;
  let n = 0;
  for (const [pod, value] of samples) {
    const request = requests.get(pod);
    if (request === undefined) continue;
    sumM += value;
    sumR += request;
    n++;
  }
  if (sumR === 0) throw new CalculatorError('no metrics returned matched known pods');
  const utilization = Math.trunc((sumM * 100) / sumR);
  return { ratio: utilization / targetUtilization, utilization, rawAverage: Math.trunc(sumM / n) };
}

/** Upstream `GetMetricUsageRatio`: integer average usage and its ratio to the target. */
export function usageRatio(samples: ReadonlyMap<string, number>, targetUsage: number) {
  let sum = 0;
  for (const v of samples.values()) sum += v;
  const usage = Math.trunc(sum / samples.size);
  return { ratio: usage / targetUsage, usage };
}

export interface Proposal {
  replicas: number;
  /** What status reports: the first utilisation (Resource Utilization) or average, before filling. */
  utilization?: number;
  average: number;
}

function usable(
  pods: readonly PodInfo[],
  samples: ReadonlyMap<string, PodSample>,
  resource: string | undefined,
  opts: CalculatorOptions,
) {
  if (pods.length === 0)
    throw new CalculatorError('no pods returned by selector while calculating replica count');
  const grouped = groupPods(pods, samples, resource, opts);
  const values = new Map<string, number>();
  const names = new Set(pods.map((p) => p.name));
  for (const [name, s] of samples) {
    if (!grouped.unready.has(name) && !grouped.ignored.has(name) && names.has(name)) {
      values.set(name, s.value);
    }
  }
  if (values.size === 0) {
    throw new CalculatorError('did not receive metrics for targeted pods (pods might be unready)');
  }
  return { grouped, values };
}

/**
 * Shared tail of both calculators (upstream `GetResourceReplicas` / `calcPlainMetricReplicas`):
 * fill missing pods (assumed at `fillDown` on scale-down, 0 on scale-up), count unready pods as 0 on
 * scale-up, and refuse to act when the result is within tolerance or the direction flipped.
 */
function decide(
  current: number,
  grouped: Grouped,
  values: Map<string, number>,
  ratio: number,
  recompute: (values: ReadonlyMap<string, number>) => number,
  fillDown: (pod: string) => number,
  tolerance: Tolerance,
): number {
  const scaleUpWithUnready = grouped.unready.size > 0 && ratio > 1;
  if (!scaleUpWithUnready && grouped.missing.size === 0) {
    if (withinTolerance(ratio, tolerance)) return current;
    return Math.ceil(ratio * grouped.readyCount);
  }
  if (grouped.missing.size > 0) {
    for (const pod of grouped.missing) {
      if (ratio < 1) values.set(pod, fillDown(pod));
      else if (ratio > 1) values.set(pod, 0);
    }
  }
  if (scaleUpWithUnready) for (const pod of grouped.unready) values.set(pod, 0);
  const newRatio = recompute(values);
  if (withinTolerance(newRatio, tolerance) || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1)) {
    return current;
  }
  const replicas = Math.ceil(newRatio * values.size);
  if ((newRatio < 1 && replicas > current) || (newRatio > 1 && replicas < current)) return current;
  return replicas;
}

/** A Resource metric with a Utilization target (percent of requests). Upstream `GetResourceReplicas`. */
export function resourceUtilizationReplicas(
  current: number,
  targetUtilization: number,
  resource: string,
  pods: readonly PodInfo[],
  samples: ReadonlyMap<string, PodSample>,
  opts: CalculatorOptions,
): Proposal {
  const requests = new Map<string, number>();
  for (const p of pods) {
    if (p.request === undefined)
      throw new CalculatorError(`missing request for ${resource} in Pod ${p.name}`);
    requests.set(p.name, p.request);
  }
  const { grouped, values } = usable(pods, samples, resource, opts);
  const first = utilizationRatio(values, requests, targetUtilization);
  const replicas = decide(
    current,
    grouped,
    values,
    first.ratio,
    (v) => utilizationRatio(v, requests, targetUtilization).ratio,
    (pod) => Math.trunc(((requests.get(pod) ?? 0) * Math.max(100, targetUtilization)) / 100),
    opts.tolerance,
  );
  return { replicas, utilization: first.utilization, average: first.rawAverage };
}

/**
 * An AverageValue target per pod: Pods metrics, or a Resource metric with averageValue (then CPU
 * samples are readiness-gated). Upstream `calcPlainMetricReplicas`.
 */
export function averageValueReplicas(
  current: number,
  targetUsage: number,
  resource: string | undefined,
  pods: readonly PodInfo[],
  samples: ReadonlyMap<string, PodSample>,
  opts: CalculatorOptions,
): Proposal {
  const { grouped, values } = usable(pods, samples, resource, opts);
  const first = usageRatio(values, targetUsage);
  const replicas = decide(
    current,
    grouped,
    values,
    first.ratio,
    (v) => usageRatio(v, targetUsage).ratio,
    () => targetUsage,
    opts.tolerance,
  );
  return { replicas, average: first.usage };
}

/**
 * A Value target on one number (HPA's Object/External value; Shoal's Prometheus Value). From zero
 * replicas it scales to ceil(ratio), tolerance and readiness aside. Upstream `getUsageRatioReplicaCount`.
 */
export function valueReplicas(
  current: number,
  usage: number,
  target: number,
  readyPods: number,
  t: Tolerance,
) {
  const ratio = usage / target;
  if (current === 0) return Math.ceil(ratio);
  if (withinTolerance(ratio, t)) return current;
  return Math.min(2 ** 31 - 1, Math.ceil(ratio * readyPods));
}

/** An AverageValue target on one number (External/Object averageValue; Prometheus AverageValue). */
export function averageOfValueReplicas(
  statusReplicas: number,
  usage: number,
  targetPerPod: number,
  t: Tolerance,
) {
  const ratio = usage / (targetPerPod * statusReplicas);
  const replicas = withinTolerance(ratio, t)
    ? statusReplicas
    : Math.min(2 ** 31 - 1, Math.ceil(usage / targetPerPod));
  return { replicas, average: Math.ceil(usage / statusReplicas) };
}
