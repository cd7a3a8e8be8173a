import { constants } from 'node:buffer';
import { ApiException, HttpMethod, type KubeConfig, RequestContext } from '@kubernetes/client-node';
import { request } from 'undici';
import { KubeApiError } from './kube-api-error.ts';

/** Bodies longer than this are refused rather than parsed: no object Shoal writes comes close. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * A LIST's cap: the longest text V8 holds, as when client-node read lists. A list is as long as the
 * cluster is large, and refusing one would leave a cache empty.
 */
export const MAX_LIST_BYTES = constants.MAX_STRING_LENGTH;

/**
 * How long one request may go unanswered, its body included, unless the caller says otherwise. The
 * API server ends a request it is still working on at its --request-timeout (60 s unless set) with
 * a 504, admission webhooks and priority-and-fairness queueing included; ten seconds more cut only
 * what cannot be answered: a connection gone dead without a reset (a black-holed partition, a proxy
 * that lost it) or a stalled server, which undici alone would wait on for 300 s. An aborted request
 * takes its connection down with it, so the retry opens a new one.
 */
export const REQUEST_TIMEOUT_MS = 70_000;

export interface RawRequest {
  method: 'GET' | 'PATCH' | 'POST' | 'PUT' | 'DELETE';
  /** An absolute API path, e.g. `/api/v1/namespaces/a/configmaps/b`. */
  path: string;
  query?: Record<string, string | undefined>;
  body?: string;
  contentType?: string;
  /** The longest answer read (MAX_BODY_BYTES unless given). */
  maxBytes?: number;
  /** Aborts the request, its answer's body included; the error is the signal's reason. */
  signal?: AbortSignal;
  /**
   * Ends the request, its answer's body included, when unanswered this long (REQUEST_TIMEOUT_MS
   * unless given), with a KubeApiError of code 0 and reason Timeout.
   */
  timeoutMs?: number;
}

/** A body as text, refused past `maxBytes` whether or not the server said its length. */
export async function bodyText(
  body: AsyncIterable<Buffer> & { destroy: () => unknown },
  maxBytes = MAX_BODY_BYTES,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxBytes) {
      body.destroy();
      throw new Error(`the API server answered more than ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The URL of `path` on `server`: a server behind a path prefix (`https://proxy/k8s/clusters/a`)
 * keeps it, the path is appended; query values that are undefined are left out. Pure.
 */
export function requestUrl(
  server: string,
  path: string,
  query: Record<string, string | undefined> = {},
): string {
  const url = new URL(server);
  url.pathname = `${url.pathname.replace(/\/$/, '')}${path}`;
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
  return url.toString();
}

/**
 * One JSON request to the API server without client-node's generated layers (typed-model
 * serialization of every answer, its middleware chain, WHATWG fetch and web streams), for the path
 * every object takes (its dry run and its apply). The same authentication (client-node's
 * applySecurityAuthentication: tokens, exec plugins, client certificates) and the same pooled
 * connection (PooledKubeConfig's dispatcher), through undici's plain request. A status of 400 or
 * more throws client-node's ApiException with the body as text, as its own calls do, so
 * KubeApiError.from reads both alike.
 */
export async function rawJson(config: KubeConfig, r: RawRequest): Promise<unknown> {
  const timeoutMs = r.timeoutMs ?? REQUEST_TIMEOUT_MS;
  // A timer cleared with the answer (not AbortSignal.timeout, whose timers outlive their requests:
  // tens of thousands at once during a cold start).
  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, timeoutMs);
  const forward = () => abort.abort(r.signal?.reason);
  if (r.signal?.aborted) forward();
  else r.signal?.addEventListener('abort', forward, { once: true });
  try {
    return await send(config, r, abort.signal);
  } catch (err) {
    if (timedOut)
      throw new KubeApiError(0, 'Timeout', `${r.method} ${r.path}: no answer within ${timeoutMs} ms`, {
        cause: err,
      });
    throw err;
  } finally {
    clearTimeout(timer);
    r.signal?.removeEventListener('abort', forward);
  }
}

async function send(config: KubeConfig, r: RawRequest, signal: AbortSignal): Promise<unknown> {
  const server = config.getCurrentCluster()?.server;
  if (!server) throw new Error('no current cluster in the kubeconfig');
  const ctx = new RequestContext(requestUrl(server, r.path, r.query), HttpMethod[r.method]);
  await config.applySecurityAuthentication(ctx);
  const headers: Record<string, string> = { ...ctx.getHeaders(), accept: 'application/json' };
  if (r.contentType) headers['content-type'] = r.contentType;
  const dispatcher = ctx.getDispatcher();
  const res = await request(ctx.getUrl(), {
    method: r.method,
    headers,
    ...(r.body !== undefined ? { body: r.body } : {}),
    ...(dispatcher ? { dispatcher } : {}),
    signal,
  });
  const text = await bodyText(res.body, r.maxBytes);
  if (res.statusCode >= 400) {
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = String(v);
    throw new ApiException(res.statusCode, `HTTP-Code: ${res.statusCode}`, text, flat);
  }
  return text === '' ? undefined : JSON.parse(text);
}
