import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { REASON } from '../api/conditions.ts';
import type { Clock } from '../runtime/clock.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import { type HostPolicy, refuseHost } from './host-policy.ts';

export interface HttpGetOptions {
  clock: Clock;
  timeoutMs: number;
  /** A larger body is refused while it arrives (LimitExceeded), not after. */
  maxBytes: number;
  headers?: Record<string, string>;
  /** PEM certificate authority for HTTPS, besides the system's. */
  ca?: string;
  /** Plain http:// is refused unless allowed. */
  allowInsecureHttp: boolean;
  hosts: HostPolicy;
  /** Where credentials may be sent: only to the host they were given for (not after a redirect elsewhere). */
  credentialsHost?: string;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The URL finally answered (after redirects). */
  url: string;
}

const REDIRECTS = 5;

/** A URL for messages: no credentials, no query (tokens travel there). Pure. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return '<invalid URL>';
  }
}

/**
 * One bounded GET: the host policy checked for the URL and for every redirect, a deadline on the
 * clock, the body capped while it arrives. Authorization headers go only to `credentialsHost`. A
 * server's answer is returned (status, headers, body), never echoed into an error: errors say
 * what failed in Shoal's words. Redirects are followed up to five times.
 */
export async function httpGet(url: string, opts: HttpGetOptions): Promise<HttpAnswer> {
  let current = url;
  for (let hop = 0; hop <= REDIRECTS; hop++) {
    const u = new URL(current);
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && opts.allowInsecureHttp)) {
      throw new ReconcileError(
        REASON.UrlNotAllowed,
        `${safeUrl(current)}: only https:// is fetched (http:// with --allow-insecure-http)`,
      );
    }
    const refused = await refuseHost(current, opts.hosts);
    if (refused) throw new ReconcileError(REASON.UrlNotAllowed, refused);
    const sameHost = opts.credentialsHost === undefined || u.host === opts.credentialsHost;
    const headers = Object.fromEntries(
      Object.entries(opts.headers ?? {}).filter(([k]) => sameHost || k.toLowerCase() !== 'authorization'),
    );
    const answer = await once(u, headers, opts);
    const location = answer.headers.location;
    if (answer.status >= 300 && answer.status < 400 && location) {
      current = new URL(location, current).toString();
      continue;
    }
    return { ...answer, url: current };
  }
  throw new ReconcileError(REASON.SourceUnavailable, `${safeUrl(url)}: more than ${REDIRECTS} redirects`);
}

function once(u: URL, headers: Record<string, string>, opts: HttpGetOptions) {
  return new Promise<Omit<HttpAnswer, 'url'>>((resolve, reject) => {
    const where = safeUrl(u.toString());
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(u, { method: 'GET', headers, ...(opts.ca ? { ca: opts.ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > opts.maxBytes) {
        res.destroy();
        reject(
          new ReconcileError(
            REASON.LimitExceeded,
            `${where} answered ${declared} bytes, over the limit of ${opts.maxBytes}`,
          ),
        );
        return;
      }
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > opts.maxBytes) {
          res.destroy();
          reject(
            new ReconcileError(
              REASON.LimitExceeded,
              `${where} sent more than the limit of ${opts.maxBytes} bytes`,
            ),
          );
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        cancel();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on('error', (err) => {
        cancel();
        reject(new ReconcileError(REASON.SourceUnavailable, `${where}: ${err.message}`, { cause: err }));
      });
    });
    const cancel = opts.clock.after(opts.timeoutMs, () => {
      req.destroy(new Error(`no answer within ${opts.timeoutMs / 1000}s`));
    });
    req.on('error', (err) => {
      cancel();
      reject(new ReconcileError(REASON.SourceUnavailable, `${where}: ${err.message}`, { cause: err }));
    });
    req.end();
  });
}

/** Maps an HTTP status to a source failure (or undefined for 2xx). Pure. */
export function httpFailure(status: number, what: string): ReconcileError | undefined {
  if (status >= 200 && status < 300) return undefined;
  if (status === 401 || status === 403)
    return new ReconcileError(
      REASON.AuthenticationFailed,
      `${what}: the server answered ${status} (check secretRef)`,
    );
  if (status === 404) return new ReconcileError(REASON.SourceUnavailable, `${what}: not found (404)`);
  return new ReconcileError(REASON.SourceUnavailable, `${what}: the server answered ${status}`);
}
