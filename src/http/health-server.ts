import { createServer, type Server } from 'node:http';
import type { Metrics } from './metrics.ts';

export interface HealthState {
  /** Informer caches have synced and the process serves. */
  ready: () => boolean;
  /** Lines added to /readyz's answer (the shards this member holds). */
  readyDetail?: () => string;
  /** Why the process is not alive in any useful sense (its workers stopped, start-up failed). */
  unhealthy: () => string | undefined;
}

/** Parses ":8080" or "127.0.0.1:8080" into listen arguments. Pure. */
export function parseAddr(addr: string): { host?: string; port: number } {
  const i = addr.lastIndexOf(':');
  const host = i > 0 ? addr.slice(0, i) : undefined;
  const port = Number(addr.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid address ${addr}`);
  return { ...(host ? { host } : {}), port };
}

/**
 * The address a listening server is bound to, as `host:port` (`[::1]:port` for IPv6): the port the
 * kernel chose for a `:0`. Pure.
 */
export function listeningAddr(server: Pick<Server, 'address'>): string {
  const a = server.address();
  if (!a || typeof a === 'string') return a ?? '';
  return `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
}

/**
 * `/healthz` (the process works: 500 once its workers stopped or start-up failed, so the kubelet
 * restarts it), `/readyz` (caches synced) and `/metrics` (Prometheus text).
 */
export function startHealthServer(addr: string, state: HealthState, metrics: Metrics): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/healthz') {
      const why = state.unhealthy();
      res.writeHead(why ? 500 : 200, { 'content-type': 'text/plain' }).end(why ? `${why}\n` : 'ok\n');
    } else if (path === '/readyz') {
      const ok = state.ready();
      const detail = state.readyDetail?.() ?? '';
      res
        .writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' })
        .end(`${ok ? 'ok' : 'not ready'}\n${detail}`);
    } else if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  const { host, port } = parseAddr(addr);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
