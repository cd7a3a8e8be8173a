import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { GitRef } from '../../api/git-source.ts';
import type { Log } from '../../runtime/logger.ts';
import { parseAddr } from '../health-server.ts';
import { normalizeRepoUrl } from './normalize-url.ts';
import { providerOf } from './providers.ts';
import { pushMoves } from './pushed-refs.ts';

/** A GitSource as the receiver sees it: its queue key, URL, the ref it follows and webhook secret. */
export interface WebhookTarget {
  key: string;
  namespace: string;
  url: string;
  ref?: GitRef;
  webhookSecretName?: string;
}

export type WebhookResult =
  | 'accepted'
  | 'ping'
  | 'ignored'
  | 'unauthorized'
  | 'not_found'
  | 'too_large'
  | 'saturated'
  | 'bad_request'
  | 'method_not_allowed'
  | 'unavailable';

export interface WebhookDeps {
  /** The GitSources known to the operator (its informer cache: no API call per request). */
  sources: () => WebhookTarget[];
  /** The `token` of a webhook secret; undefined when missing. */
  token: (namespace: string, secretName: string) => Promise<string | undefined>;
  /**
   * Triggers a reconcile of a GitSource (de-duplicated), with fresh remote refs; a rejection (the
   * trigger could not be recorded) answers 503 so the Git host retries.
   */
  enqueue: (target: WebhookTarget) => void | Promise<void>;
  count: (provider: string, result: WebhookResult) => void;
  log: Log;
}

export interface WebhookOptions {
  /** Larger bodies get 413, checked against Content-Length before reading and while reading. */
  maxBodyBytes: number;
  /** Requests being verified at once; beyond it the receiver answers 429. */
  maxInFlight: number;
  /** Open connections from one address; more are closed at once (a slow-header flood from one host). */
  maxConnectionsPerAddress: number;
  /** A request must send its headers within this, and finish within `requestTimeoutMs`. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** How often Node checks those timeouts (its default of 30 s lets a slow client live 28 s too long). */
  connectionsCheckingIntervalMs: number;
}

export const DEFAULT_WEBHOOK_OPTIONS: WebhookOptions = {
  maxBodyBytes: 1024 * 1024,
  maxInFlight: 64,
  maxConnectionsPerAddress: 32,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  connectionsCheckingIntervalMs: 1_000,
};

const STATUS: Record<WebhookResult, number> = {
  accepted: 202,
  ping: 200,
  ignored: 200,
  unauthorized: 401,
  not_found: 404,
  too_large: 413,
  saturated: 429,
  bad_request: 400,
  method_not_allowed: 405,
  unavailable: 503,
};

class TooLarge extends Error {
  override readonly name = 'TooLarge';
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.pause();
        reject(new TooLarge(`body over ${max} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * The push webhook receiver: `POST /hooks/<provider>` for github, gitlab, gitea, bitbucket and
 * generic. It routes by the repository URL in the payload to every matching GitSource, verifies the
 * signature against each source's webhook secret in constant time, and only enqueues the sources
 * whose ref the push may have moved (all of them when the payload names no ref): the revision
 * always comes from `git fetch`. Every request is answered; no exception escapes a request.
 */
export function startWebhookServer(
  addr: string,
  deps: WebhookDeps,
  options: Partial<WebhookOptions> = {},
): Promise<Server> {
  const opts = { ...DEFAULT_WEBHOOK_OPTIONS, ...options };
  let inFlight = 0;

  const handle = async (req: IncomingMessage, providerName: string): Promise<WebhookResult> => {
    const provider = providerOf(providerName);
    if (!provider) return 'not_found';
    if (req.method !== 'POST') return 'method_not_allowed';
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > opts.maxBodyBytes) return 'too_large';
    if (inFlight >= opts.maxInFlight) return 'saturated';
    inFlight++;
    try {
      let body: Buffer;
      try {
        body = await readBody(req, opts.maxBodyBytes);
      } catch (err) {
        if (err instanceof TooLarge) return 'too_large';
        throw err;
      }
      let payload: unknown;
      try {
        payload = JSON.parse(body.toString('utf8'));
      } catch {
        return 'bad_request';
      }
      if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return 'bad_request';
      const p = payload as Record<string, unknown>;
      const wanted = new Set(
        provider
          .repositoryUrls(p)
          .map(normalizeRepoUrl)
          .filter((u) => u !== undefined),
      );
      const matching = deps.sources().filter((s) => wanted.has(normalizeRepoUrl(s.url) ?? '\0'));
      if (matching.length === 0) return provider.isPing(req.headers, p) ? 'ping' : 'not_found';
      const verified: WebhookTarget[] = [];
      for (const s of matching) {
        if (!s.webhookSecretName) continue;
        const token = await deps.token(s.namespace, s.webhookSecretName);
        if (token && provider.verify(req.headers, body, token)) verified.push(s);
      }
      if (verified.length === 0) return 'unauthorized';
      if (provider.isPing(req.headers, p)) return 'ping';
      // A push to a branch or tag that no verified source follows moves none of them.
      const pushed = provider.pushedRefs(p);
      const moved = verified.filter((s) => pushMoves(s.ref, pushed));
      if (moved.length === 0) return 'ignored';
      try {
        await Promise.all(moved.map((s) => deps.enqueue(s)));
      } catch (err) {
        deps.log({
          level: 'warn',
          msg: 'could not trigger the push',
          provider: providerName,
          error: err instanceof Error ? err.message : String(err),
        });
        return 'unavailable';
      }
      return 'accepted';
    } finally {
      inFlight--;
    }
  };

  const server = createServer(
    {
      headersTimeout: opts.headersTimeoutMs,
      requestTimeout: opts.requestTimeoutMs,
      connectionsCheckingInterval: opts.connectionsCheckingIntervalMs,
    },
    (req: IncomingMessage, res: ServerResponse) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const m = path.match(/^\/hooks\/([a-z]+)\/?$/);
      const providerName = m?.[1] ?? '';
      const known = providerOf(providerName) !== undefined;
      const label = known ? providerName : 'unknown';
      handle(req, providerName).then(
        (result) => {
          deps.count(label, result);
          const status = STATUS[result];
          res.writeHead(status, {
            'content-type': 'text/plain',
            ...(result === 'saturated' ? { 'retry-after': '1' } : {}),
            ...(result === 'too_large' ? { connection: 'close' } : {}),
          });
          res.end(`${result.replace('_', ' ')}\n`);
        },
        (err: unknown) => {
          deps.count(label, 'bad_request');
          deps.log({
            level: 'warn',
            msg: 'webhook request failed',
            provider: label,
            error: err instanceof Error ? err.message : String(err),
          });
          if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
          res.end('bad request\n');
        },
      );
    },
  );
  server.maxHeadersCount = 100;
  const perAddress = new Map<string, number>();
  server.on('connection', (socket) => {
    const address = socket.remoteAddress ?? '';
    const open = (perAddress.get(address) ?? 0) + 1;
    if (open > opts.maxConnectionsPerAddress) {
      socket.destroy();
      return;
    }
    perAddress.set(address, open);
    socket.once('close', () => {
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left <= 0) perAddress.delete(address);
      else perAddress.set(address, left);
    });
  });
  const { host, port } = parseAddr(addr);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
