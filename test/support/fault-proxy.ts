import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

/** One request that went through the proxy, as the API server (or the fault) answered it. */
export interface ProxiedRequest {
  /** Which proxy (client) it came through, when several share one log. */
  tag: string;
  method: string;
  path: string;
  query: URLSearchParams;
  watch: boolean;
  /** A request that changes state: POST, PUT, PATCH or DELETE without dryRun. */
  write: boolean;
  /** Milliseconds since the epoch when the request arrived and when its answer began. */
  at: number;
  answeredAt?: number;
  status?: number;
  /** Set when a rule answered instead of the API server ('drop' for a reset connection). */
  fault?: string;
  /** When the client gave the request up (closed its connection) before the answer ended. */
  abandonedAt?: number;
  /** Of an open watch: when each chunk of its stream passed through (events, bookmarks). */
  chunksAt?: number[];
}

/**
 * What a rule does with a request: answer it with an error (and headers such as Retry-After), reset
 * the connection, hold it until the proxy closes (a black hole), pass it on after a delay (a slow
 * answer), or pass it on (undefined). A rule may also act (kill a process) and pass the request on.
 */
export type Fault =
  | { status: number; reason?: string; headers?: Record<string, string> }
  | { delayMs: number }
  | 'drop'
  | 'hang'
  | undefined;
export type Rule = (req: ProxiedRequest) => Fault;

/**
 * A fault-injecting HTTP proxy in front of the test API server: clients reach it over plain HTTP on
 * loopback with a kubeconfig it writes, and it forwards to kube-apiserver over TLS as the admin.
 * Every request is logged (shared across proxies to compare who wrote when); rules inject errors,
 * resets and black holes; open watch streams can be cut or sent a 410 Gone.
 */
export class FaultProxy {
  readonly tag: string;
  readonly log: ProxiedRequest[];
  /** TCP connections clients opened to the proxy. */
  connections = 0;
  #rules: Rule[] = [];
  readonly #server: Server;
  readonly #agent: Agent;
  readonly #upstream: URL;
  readonly #watches = new Set<{ req: ProxiedRequest; res: ServerResponse; upstream: IncomingMessage }>();
  readonly #sockets = new Set<Socket>();
  #closing = false;

  private constructor(
    tag: string,
    log: ProxiedRequest[],
    upstream: URL,
    tls: Pick<RequestOptions, 'ca' | 'cert' | 'key'>,
  ) {
    this.tag = tag;
    this.log = log;
    this.#upstream = upstream;
    this.#agent = new Agent({ ...tls, keepAlive: true });
    this.#server = createServer((req, res) => this.#handle(req, res));
    this.#server.on('connection', (s: Socket) => {
      this.connections++;
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
  }

  static async start(
    adminKubeconfig: string,
    opts: { tag?: string; log?: ProxiedRequest[] } = {},
  ): Promise<FaultProxy> {
    const kc = new KubeConfig();
    kc.loadFromFile(adminKubeconfig);
    const tls: RequestOptions = {};
    await kc.applyToHTTPSOptions(tls);
    const { ca, cert, key } = tls;
    const server = kc.getCurrentCluster()?.server;
    if (!server) throw new Error('admin kubeconfig has no server');
    const proxy = new FaultProxy(opts.tag ?? 'proxy', opts.log ?? [], new URL(server), { ca, cert, key });
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Writes a kubeconfig that reaches the API server through this proxy; returns its path. */
  async kubeconfig(dir: string): Promise<string> {
    const path = join(dir, `${this.tag}.kubeconfig`);
    await writeFile(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        // client-node refuses plain HTTP unless TLS verification is off (there is no TLS to verify).
        `clusters: [{name: proxy, cluster: {server: "${this.url}", insecure-skip-tls-verify: true}}]`,
        'users: [{name: proxy, user: {}}]',
        'contexts: [{name: proxy, context: {cluster: proxy, user: proxy}}]',
        'current-context: proxy',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    return path;
  }

  /** Adds a rule (rules are asked in order; the first fault wins); returns its removal. */
  rule(rule: Rule): () => void {
    this.#rules.push(rule);
    return () => {
      this.#rules = this.#rules.filter((r) => r !== rule);
    };
  }

  /**
   * Holds the first `times` requests matching `match` until the proxy closes (a black hole: never
   * forwarded, never answered); `held` fills as they come. Returns the rule's removal too.
   */
  hang(match: (req: ProxiedRequest) => boolean, times = 1): { held: ProxiedRequest[]; remove: () => void } {
    const held: ProxiedRequest[] = [];
    const remove = this.rule((r) => {
      if (held.length >= times || !match(r)) return undefined;
      held.push(r);
      return 'hang';
    });
    return { held, remove };
  }

  /** How many watch streams matching `match` are open now (the API server has answered them). */
  openWatches(match: (req: ProxiedRequest) => boolean = () => true): number {
    return [...this.#watches].filter((w) => match(w.req)).length;
  }

  /** Cuts every open watch stream matching `match` (a reset, as when a load balancer drops it). */
  dropWatches(match: (req: ProxiedRequest) => boolean = () => true): number {
    let n = 0;
    for (const w of [...this.#watches]) {
      if (!match(w.req)) continue;
      n++;
      this.#watches.delete(w);
      w.upstream.destroy();
      w.res.socket?.destroy();
    }
    return n;
  }

  /**
   * Stops every open watch matching `match` in silence: the API server's side is closed, the
   * client's stays open and is sent nothing more (a connection lost without a reset, as behind a
   * black-holed partition or a proxy that forgot it).
   */
  freezeWatches(match: (req: ProxiedRequest) => boolean = () => true): number {
    let n = 0;
    for (const w of [...this.#watches]) {
      if (!match(w.req)) continue;
      n++;
      this.#watches.delete(w);
      w.req.fault = 'frozen';
      w.upstream.unpipe(w.res);
      w.upstream.destroy();
    }
    return n;
  }

  /** Sends `ERROR 410 Gone` on every open watch matching `match` and ends it (etcd compacted). */
  expireWatches(match: (req: ProxiedRequest) => boolean = () => true): number {
    let n = 0;
    for (const w of [...this.#watches]) {
      if (!match(w.req)) continue;
      n++;
      this.#watches.delete(w);
      w.upstream.unpipe(w.res);
      w.upstream.destroy();
      const status = {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        message: 'too old resource version',
        reason: 'Expired',
        code: 410,
      };
      w.res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
    }
    return n;
  }

  /** Requests in the log that came through this proxy and match. */
  requests(match: (req: ProxiedRequest) => boolean = () => true): ProxiedRequest[] {
    return this.log.filter((r) => r.tag === this.tag && match(r));
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.dropWatches();
    for (const s of this.#sockets) s.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
    this.#agent.destroy();
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const method = req.method ?? 'GET';
    const entry: ProxiedRequest = {
      tag: this.tag,
      method,
      path: url.pathname,
      query: url.searchParams,
      watch: url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1',
      write: ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method) && !url.searchParams.has('dryRun'),
      at: Date.now(),
    };
    this.log.push(entry);
    res.on('close', () => {
      if (!res.writableFinished && !this.#closing) entry.abandonedAt = Date.now();
    });
    let fault: Fault;
    for (const rule of this.#rules) {
      fault = rule(entry);
      if (fault) break;
    }
    if (fault === 'drop') {
      entry.fault = 'drop';
      req.socket.destroy();
      return;
    }
    if (fault === 'hang') {
      entry.fault = 'hang';
      req.resume();
      return;
    }
    if (fault && 'delayMs' in fault) {
      entry.fault = `delay ${fault.delayMs}`;
      req.pause();
      setTimeout(() => this.#forward(req, res, entry), fault.delayMs);
      return;
    }
    if (fault) {
      entry.fault = String(fault.status);
      entry.status = fault.status;
      entry.answeredAt = Date.now();
      req.resume();
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          message: `injected by the test proxy: ${fault.reason ?? fault.status}`,
          reason: fault.reason ?? 'InternalError',
          code: fault.status,
        }),
      );
      return;
    }
    this.#forward(req, res, entry);
  }

  #forward(req: IncomingMessage, res: ServerResponse, entry: ProxiedRequest): void {
    const headers = { ...req.headers, host: this.#upstream.host };
    const up = httpsRequest(
      {
        agent: this.#agent,
        host: this.#upstream.hostname,
        port: this.#upstream.port,
        method: entry.method,
        path: req.url,
        headers,
      },
      (upRes) => {
        entry.status = upRes.statusCode;
        entry.answeredAt = Date.now();
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        res.flushHeaders(); // a watch sends its headers before its first event
        if (entry.watch && upRes.statusCode === 200) {
          const w = { req: entry, res, upstream: upRes };
          this.#watches.add(w);
          const chunksAt: number[] = [];
          entry.chunksAt = chunksAt;
          upRes.on('data', () => chunksAt.push(Date.now()));
          res.on('close', () => {
            this.#watches.delete(w);
            upRes.destroy();
          });
        }
        upRes.pipe(res);
        upRes.on('error', () => res.destroy());
      },
    );
    up.on('error', () => {
      if (!res.headersSent) {
        entry.status = 502;
        res.writeHead(502).end();
      } else res.destroy();
    });
    req.pipe(up);
  }
}
