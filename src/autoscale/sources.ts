/**
 * Where the autoscaler's numbers come from: the target's pods (phase, readiness, requests),
 * metrics.k8s.io PodMetrics (usage), and Prometheus' HTTP API (`/api/v1/query`). The conversions are
 * pure; `PrometheusClient` does the I/O. Prometheus errors, NaN and empty results become failed
 * readings, which the engine handles as HPA handles a missing metric.
 */

import { parseDuration } from '../api/duration.ts';
import type { Quantity } from '../api/meta.ts';
import { parseMilli } from '../api/quantity.ts';
import type { PodMetrics } from '../kube/client.ts';
import type { HostPolicy } from '../source/host-policy.ts';
import { refuseHost } from '../source/host-policy.ts';
import { type MetricReading, type PodObservation, RESOURCES, type ResourceAmounts } from './engine.ts';
import type { PodPhase } from './replica-calculator.ts';

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

/** Prometheus' instant query answer (`/api/v1/query`). */
type PromAnswer =
  | {
      status: 'success';
      data:
        | { resultType: 'vector'; result: { metric: Record<string, string>; value?: [number, string] }[] }
        | { resultType: 'scalar' | 'string'; result: [number, string] }
        | { resultType: 'matrix'; result: unknown[] };
    }
  | { status: 'error'; errorType?: string; error?: string };

export interface PromSample {
  labels: Record<string, string>;
  value: number;
}

/** A URL without its credentials, for messages. */
export function redactUrl(address: string): string {
  try {
    const u = new URL(address);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '<invalid address>';
  }
}

export class PrometheusError extends Error {
  override readonly name = 'PrometheusError';
}

/** Prometheus answers larger than this are refused (an instant query of a few series is kilobytes). */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;
/** Prometheus' own error text is shown up to this length (it may come from any server at that address). */
const MAX_ERROR_TEXT = 200;

/** Server-supplied text, made safe for a status message: one line, printable, bounded. Pure. */
function serverText(text: string): string {
  const line = text.replace(/[^\x20-\x7e]+/g, ' ').trim();
  return line.length > MAX_ERROR_TEXT ? `${line.slice(0, MAX_ERROR_TEXT - 3)}...` : line;
}

/** Reads Prometheus' HTTP API: one instant query per call, with a timeout and a size cap. */
export class PrometheusClient {
  readonly #timeoutMs: number;
  readonly #hosts: HostPolicy;
  constructor(options: { timeoutMs?: number; hosts?: HostPolicy } = {}) {
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#hosts = options.hosts ?? {};
  }

  /** The samples of an instant query (a scalar is one sample without labels). Throws PrometheusError. */
  async query(address: string, query: string): Promise<PromSample[]> {
    let url: URL;
    try {
      url = new URL('api/v1/query', address.endsWith('/') ? address : `${address}/`);
    } catch {
      throw new PrometheusError(`invalid Prometheus address ${JSON.stringify(redactUrl(address))}`);
    }
    const refused = await refuseHost(url.toString(), this.#hosts);
    if (refused) throw new PrometheusError(`Prometheus address refused: ${refused}`);
    url.searchParams.set('query', query);
    const where = redactUrl(address);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (url.username || url.password) {
      headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
      url.username = '';
      url.password = '';
    }
    let answer: PromAnswer;
    try {
      const res = await fetch(url, {
        headers,
        signal: AbortSignal.timeout(this.#timeoutMs),
        redirect: 'error',
      });
      const declared = Number(res.headers.get('content-length'));
      if (Number.isFinite(declared) && declared > MAX_ANSWER_BYTES) {
        await res.body?.cancel();
        throw new PrometheusError(`Prometheus at ${where} answered over ${MAX_ANSWER_BYTES} bytes`);
      }
      const text = await res.text();
      if (text.length > MAX_ANSWER_BYTES)
        throw new PrometheusError(`Prometheus at ${where} answered over ${MAX_ANSWER_BYTES} bytes`);
      try {
        answer = JSON.parse(text) as PromAnswer;
      } catch {
        throw new PrometheusError(`Prometheus at ${where} answered ${res.status} without JSON`);
      }
    } catch (err) {
      if (err instanceof PrometheusError) throw err;
      const why =
        err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      throw new PrometheusError(`cannot reach Prometheus at ${where}: ${serverText(why)}`);
    }
    if (answer?.status !== 'success')
      throw new PrometheusError(
        `Prometheus query failed: ${serverText(String(answer?.errorType ?? 'error'))}: ${serverText(String(answer?.error ?? 'unknown'))}`,
      );
    const data = answer.data;
    if (data?.resultType === 'scalar' && Array.isArray(data.result))
      return [{ labels: {}, value: Number(data.result[1]) }];
    if (data?.resultType === 'vector' && Array.isArray(data.result))
      return data.result.map((r) => ({
        labels: r?.metric ?? {},
        value: Number(r?.value?.[1] ?? Number.NaN),
      }));
    throw new PrometheusError(
      `query returned ${serverText(String(data?.resultType ?? 'nothing'))}, not an instant vector or scalar`,
    );
  }
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
