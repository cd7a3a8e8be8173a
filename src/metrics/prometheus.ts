import type { PromSample } from '../autoscale/readings.ts';
import { type Clock, realClock } from '../runtime/clock.ts';
import type { HostPolicy } from '../source/host-policy.ts';
import { refuseHost } from '../source/host-policy.ts';

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
  readonly #clock: Clock;
  constructor(options: { timeoutMs?: number; hosts?: HostPolicy; clock?: Clock } = {}) {
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#hosts = options.hosts ?? {};
    this.#clock = options.clock ?? realClock;
  }

  /** An abort signal that fires after the timeout, on the clock. */
  #deadline(): AbortSignal {
    const c = new AbortController();
    this.#clock.after(this.#timeoutMs, () => c.abort(new Error(`timed out after ${this.#timeoutMs} ms`)));
    return c.signal;
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
        signal: this.#deadline(),
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
