/**
 * What the autoscaler's numbers become: the target's pods (phase, readiness, requests) with their
 * metrics.k8s.io usage, and Prometheus samples as readings. Pure: the reading itself is done by
 * `src/metrics/` (pod metrics, the Prometheus client). NaN and empty results become failed readings,
 * which the engine handles as HPA handles a missing metric.
 */

import { parseDuration } from '../api/duration.ts';
import type { Quantity } from '../api/meta.ts';
import { parseMilli } from '../api/quantity.ts';
import type { PodPhase } from './replica-calculator.ts';
import { type MetricReading, type PodObservation, RESOURCES, type ResourceAmounts } from './types.ts';

/** metrics.k8s.io/v1beta1 PodMetrics, as JSON. */
export interface PodMetrics {
  metadata: { name: string; namespace?: string };
  timestamp: string;
  window: string;
  containers: { name: string; usage: Record<string, string> }[];
}

/** The parts of a v1 Pod the autoscaler reads. */
export interface PodJson {
  metadata: { name: string; deletionTimestamp?: string };
  spec?: {
    containers?: ContainerJson[];
    initContainers?: (ContainerJson & { restartPolicy?: string })[];
  };
  status?: {
    phase?: string;
    startTime?: string;
    conditions?: { type: string; status: string; lastTransitionTime?: string }[];
  };
}

interface ContainerJson {
  name: string;
  resources?: { requests?: Record<string, Quantity> };
}

/**
 * A pod's requests per resource (HPA's `calculatePodRequests`): regular containers plus restartable
 * (sidecar) init containers; a resource any of them lacks is left out. Pure.
 */
export function podRequests(pod: PodJson): ResourceAmounts {
  const containers = [
    ...(pod.spec?.containers ?? []),
    ...(pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always'),
  ];
  const out: ResourceAmounts = {};
  if (containers.length === 0) return out;
  for (const r of RESOURCES) {
    let sum = 0;
    let all = true;
    for (const c of containers) {
      const q = c.resources?.requests?.[r];
      if (q === undefined) all = false;
      else sum += parseMilli(q);
    }
    if (all) out[r] = sum;
  }
  return out;
}

/**
 * The pods of a target as the engine sees them, with the usage metrics.k8s.io reported: a pod's
 * usage of a resource is the sum over its containers, and missing when any container lacks it
 * (HPA's metrics client). Pure.
 */
export function observePods(pods: readonly PodJson[], metrics: readonly PodMetrics[]): PodObservation[] {
  const byName = new Map(metrics.map((m) => [m.metadata.name, m]));
  return pods.map((pod) => {
    const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
    const o: PodObservation = {
      name: pod.metadata.name,
      phase: (pod.status?.phase ?? 'Pending') as PodPhase,
      requests: podRequests(pod),
    };
    if (pod.metadata.deletionTimestamp) o.deleting = true;
    if (pod.status?.startTime) o.startTime = new Date(pod.status.startTime);
    if (ready) {
      o.ready = {
        status: ready.status === 'True',
        lastTransitionTime: new Date(ready.lastTransitionTime ?? pod.status?.startTime ?? 0),
      };
    }
    const m = byName.get(pod.metadata.name);
    if (m && m.containers.length > 0) {
      const usage: ResourceAmounts = {};
      for (const r of RESOURCES) {
        if (m.containers.every((c) => c.usage[r] !== undefined))
          usage[r] = m.containers.reduce((sum, c) => sum + parseMilli(c.usage[r] ?? 0), 0);
      }
      o.usage = usage;
      o.usageTimestamp = new Date(m.timestamp);
      o.usageWindowMs = windowMs(m.window);
    }
    return o;
  });
}

/** metrics.k8s.io's sample window in milliseconds; 0 when it cannot be read. */
function windowMs(window: string): number {
  try {
    return parseDuration(window);
  } catch {
    return 0;
  }
}

export interface PromSample {
  labels: Record<string, string>;
  value: number;
}

const toMilli = (v: number) => parseMilli(v);

/** A `Prometheus` metric: the query must come to exactly one finite number. Pure. */
export function singleValue(samples: readonly PromSample[], query: string): MetricReading {
  if (samples.length === 0) return { error: `query ${JSON.stringify(query)} returned no samples` };
  if (samples.length > 1)
    return {
      error: `query ${JSON.stringify(query)} returned ${samples.length} series; it must return one (aggregate it, e.g. with sum())`,
    };
  const v = samples[0]?.value ?? Number.NaN;
  if (!Number.isFinite(v)) return { error: `query ${JSON.stringify(query)} returned ${v}` };
  return { value: toMilli(v) };
}

/**
 * A `Pods` metric: one sample per pod, by its `pod` label. Samples without a finite value are left
 * out, so their pods count as missing; no usable sample at all fails the metric. Pure.
 */
export function perPodValues(samples: readonly PromSample[], query: string): MetricReading {
  const perPod = new Map<string, number>();
  for (const s of samples) {
    const pod = s.labels.pod;
    if (pod && Number.isFinite(s.value)) perPod.set(pod, toMilli(s.value));
  }
  if (perPod.size === 0)
    return {
      error: `query ${JSON.stringify(query)} returned no samples with a pod label and a finite value`,
    };
  return { perPod };
}
