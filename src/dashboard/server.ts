import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AppGroup } from '../api/app-group.ts';
import type { ChartSource } from '../api/chart-source.ts';
import type { GitSource } from '../api/git-source.ts';
import { ANNOTATIONS, API_GROUP, API_VERSION, KINDS } from '../api/group.ts';
import type { ObjectRef } from '../api/object-key.ts';
import { listeningAddr, parseAddr } from '../http/health-server.ts';
import type { Kube } from '../kube/client.ts';
import type { Clock } from '../runtime/clock.ts';
import type { InformerLike } from '../runtime/informer.ts';
import type { Log } from '../runtime/logger.ts';
import type { Assets } from './assets.ts';
import {
  type Access,
  type Authorizer,
  csrfMatches,
  type Session,
  Sessions,
  type TokenReviewer,
  type Viewer,
} from './auth.ts';
import type { DashboardMemory } from './memory.ts';
import { distribution, groupDetail, groupRow, type OverviewRow, sourceRow, totals } from './views.ts';

/** An events.k8s.io/v1 Event, as much as the dashboard reads of it. */
export interface ClusterEvent {
  metadata: { namespace?: string; name?: string; creationTimestamp?: string };
  regarding?: { kind?: string; name?: string; namespace?: string };
  reason?: string;
  note?: string;
  type?: string;
  eventTime?: string;
  deprecatedLastTimestamp?: string;
}

/** What the dashboard reads: caches and memory only, but for a workload's pods (read live, bounded). */
export interface DashboardData {
  groups: InformerLike<AppGroup>;
  sources: InformerLike<GitSource>;
  chartSources: InformerLike<ChartSource>;
  events: InformerLike<ClusterEvent>;
  /** The live object a cache holds; 'not-watched' when no cache holds its kind. */
  liveOf: (ref: ObjectRef) => object | undefined | 'not-watched';
  memory: DashboardMemory;
  /** Reads workloads' ReplicaSets and Pods, and patches AppGroups for actions. */
  kube: Kube;
}

export interface DashboardOptions {
  addr: string;
  /** operator: bearer tokens (TokenReview) and SubjectAccessReview; local: the kubeconfig's user on loopback. */
  mode: 'operator' | 'local';
  readOnly: boolean;
  authorizer: Authorizer;
  tokens?: TokenReviewer;
  localViewer?: Viewer;
  assets: Assets;
  clock: Clock;
  log: Log;
}

const GV = `${API_GROUP}/${API_VERSION}`;
const PLURAL = {
  AppGroup: KINDS.AppGroup.plural,
  GitSource: KINDS.GitSource.plural,
  ChartSource: KINDS.ChartSource.plural,
};
const POD_LIMIT = 50;
const MAX_BODY = 64 * 1024;
const COOKIE = 'shoal_session';

export const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(JSON.stringify(body));
}

const cookieOf = (req: IncomingMessage, name: string) =>
  (req.headers.cookie ?? '')
    .split(';')
    .map((c) => c.trim().split('='))
    .find(([k]) => k === name)?.[1];

async function readBody(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, 'request body too large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw new HttpError(400, 'the body is not JSON');
  }
}

/** Same origin: a browser's Origin (or, lacking it, Referer) names this very host. */
function sameOrigin(req: IncomingMessage): boolean {
  const host = req.headers.host;
  const origin = req.headers.origin ?? req.headers.referer;
  if (!host || !origin) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * The dashboard's HTTP server: the page and its content-hashed assets, a JSON API of what the
 * viewer may read (each namespace authorised server-side), server-sent events of changes, and the
 * actions (reconcile, suspend, resume) for viewers allowed to patch the AppGroup.
 */
export class DashboardServer {
  readonly #data: DashboardData;
  readonly #opts: DashboardOptions;
  readonly #sessions: Sessions;
  readonly #streams = new Set<{ viewer: Viewer; res: ServerResponse }>();
  #server: Server | undefined;
  #heartbeat: (() => void) | undefined;
  /** Requests answered, for the benchmark (API calls a page view caused are in the API server's metrics). */
  served = 0;

  constructor(data: DashboardData, opts: DashboardOptions) {
    this.#data = data;
    this.#opts = opts;
    this.#sessions = new Sessions(opts.clock);
    const changed = (kind: keyof typeof PLURAL) => (o: { metadata: { namespace?: string; name?: string } }) =>
      this.#broadcast(kind, o.metadata.namespace ?? '', o.metadata.name ?? '');
    for (const verb of ['add', 'update', 'delete'] as const) {
      data.groups.on(verb, changed('AppGroup'));
      data.sources.on(verb, changed('GitSource'));
      data.chartSources.on(verb, changed('ChartSource'));
      data.events.on(verb, (e: ClusterEvent) => {
        if (e.regarding?.kind === 'AppGroup')
          this.#broadcast('AppGroup', e.regarding.namespace ?? '', e.regarding.name ?? '');
      });
    }
  }

  async start(): Promise<string> {
    const { host, port } = parseAddr(this.#opts.addr);
    const server = createServer((req, res) => {
      this.served++;
      this.#handle(req, res).catch((err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        if (status === 500)
          this.#opts.log({
            level: 'warn',
            msg: 'dashboard request failed',
            error: err instanceof Error ? err.message : String(err),
          });
        if (!res.headersSent)
          json(res, status, { error: status === 500 ? 'internal error' : (err as Error).message });
        else res.end();
      });
    });
    server.headersTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.#server = server;
    const tick = () => {
      for (const s of this.#streams) s.res.write(': keep-alive\n\n');
      this.#heartbeat = this.#opts.clock.after(15_000, tick);
    };
    this.#heartbeat = this.#opts.clock.after(15_000, tick);
    return `http://${listeningAddr(server)}`;
  }

  async stop(): Promise<void> {
    this.#heartbeat?.();
    for (const s of this.#streams) s.res.end();
    this.#streams.clear();
    const s = this.#server;
    if (s) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  }

  #may(viewer: Viewer, a: Access): Promise<boolean> {
    return this.#opts.authorizer.may(viewer, a);
  }

  #broadcast(kind: keyof typeof PLURAL, namespace: string, name: string): void {
    for (const s of this.#streams) {
      void this.#may(s.viewer, { verb: 'list', group: API_GROUP, resource: PLURAL[kind], namespace }).then(
        (ok) => {
          if (ok) s.res.write(`event: change\ndata: ${JSON.stringify({ kind, namespace, name })}\n\n`);
        },
      );
    }
  }

  /** The viewer of a request, or undefined (401). Local mode: the kubeconfig's user. */
  async #viewer(
    req: IncomingMessage,
  ): Promise<{ viewer: Viewer; session?: Session; bearer: boolean } | undefined> {
    if (this.#opts.mode === 'local' && this.#opts.localViewer) {
      const session = this.#sessions.get(cookieOf(req, COOKIE));
      return { viewer: this.#opts.localViewer, ...(session ? { session } : {}), bearer: false };
    }
    const header = req.headers.authorization;
    if (header?.startsWith('Bearer ')) {
      const viewer = await this.#opts.tokens?.review(header.slice(7).trim());
      return viewer ? { viewer, bearer: true } : undefined;
    }
    const session = this.#sessions.get(cookieOf(req, COOKIE));
    if (!session) return undefined;
    // The session's token is reviewed again once its review expired: a revoked token ends it.
    if (session.token && !(await this.#opts.tokens?.review(session.token))) {
      this.#sessions.delete(cookieOf(req, COOKIE));
      return undefined;
    }
    return { viewer: session.viewer, session, bearer: false };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const path = url.pathname;
    if (req.method === 'GET' && (path === '/' || path === '/index.html')) {
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-cache',
      });
      res.end(this.#opts.assets.index);
      return;
    }
    if (req.method === 'GET' && path.startsWith('/assets/')) {
      const asset = this.#opts.assets.files.get(path.slice('/assets/'.length));
      if (!asset) throw new HttpError(404, 'not found');
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': asset.type,
        'cache-control': 'public, max-age=31536000, immutable',
      });
      res.end(asset.body);
      return;
    }
    if (!path.startsWith('/api/')) throw new HttpError(404, 'not found');
    if (req.method === 'POST' && path === '/api/session') return this.#login(req, res);
    const who = await this.#viewer(req);
    if (!who) throw new HttpError(401, 'a Kubernetes bearer token is needed');
    if (req.method === 'POST' && path === '/api/logout') {
      this.#sessions.delete(cookieOf(req, COOKIE));
      json(res, 200, {}, { 'set-cookie': `${COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0` });
      return;
    }
    if (req.method === 'GET' && path === '/api/whoami') {
      // The local mode makes its session (for the CSRF token) on first sight.
      let session = who.session;
      const headers: Record<string, string> = {};
      if (!session && this.#opts.mode === 'local') {
        const made = this.#sessions.create(who.viewer, undefined);
        session = made.session;
        headers['set-cookie'] = `${COOKIE}=${made.id}; Path=/; HttpOnly; SameSite=Strict`;
      }
      json(
        res,
        200,
        { user: who.viewer.user, csrf: session?.csrf, readOnly: this.#opts.readOnly, mode: this.#opts.mode },
        headers,
      );
      return;
    }
    if (req.method === 'GET' && path === '/api/stream') return this.#stream(who.viewer, req, res);
    if (req.method === 'GET' && path === '/api/overview')
      return json(res, 200, await this.#overview(who.viewer, url));
    if (req.method === 'GET' && path === '/api/latency')
      return json(res, 200, await this.#latency(who.viewer));
    const m = /^\/api\/groups\/([^/]+)\/([^/]+)(?:\/(autoscaling|workload|reconcile|suspend|resume))?$/.exec(
      path,
    );
    if (!m) throw new HttpError(404, 'not found');
    const [, namespace, name, sub] = m.map((x) => (x === undefined ? x : decodeURIComponent(x))) as [
      string,
      string,
      string,
      string | undefined,
    ];
    if (req.method === 'POST' && (sub === 'reconcile' || sub === 'suspend' || sub === 'resume'))
      return this.#act(who, req, res, namespace, name, sub);
    if (req.method !== 'GET') throw new HttpError(405, 'method not allowed');
    const group = await this.#visibleGroup(who.viewer, namespace, name);
    if (sub === 'autoscaling') return json(res, 200, this.#data.memory.autoscaling(`${namespace}/${name}`));
    if (sub === 'workload') return json(res, 200, await this.#workload(who.viewer, group, url));
    const key = `${namespace}/${name}`;
    const mayPatch =
      !this.#opts.readOnly &&
      (await this.#may(who.viewer, {
        verb: 'patch',
        group: API_GROUP,
        resource: PLURAL.AppGroup,
        namespace,
        name,
      }));
    json(res, 200, {
      ...groupDetail(group, {
        liveOf: this.#data.liveOf,
        report: this.#data.memory.report(key),
        lastChange: this.#data.memory.lastChange(key),
        events: this.#events(namespace, name),
      }),
      actions: mayPatch,
      latency: distribution(this.#data.memory.latencies(key)),
    });
  }

  async #login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.#opts.mode === 'local') throw new HttpError(400, 'the local dashboard uses your kubeconfig');
    if (!sameOrigin(req)) throw new HttpError(403, 'cross-origin request refused');
    const body = (await readBody(req)) as { token?: unknown };
    const token = typeof body.token === 'string' ? body.token.trim() : '';
    const viewer = token ? await this.#opts.tokens?.review(token) : undefined;
    if (!viewer) throw new HttpError(401, 'the token was not accepted');
    const { id, session } = this.#sessions.create(viewer, token);
    json(
      res,
      200,
      { user: viewer.user, csrf: session.csrf },
      { 'set-cookie': `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict` },
    );
  }

  async #overview(
    viewer: Viewer,
    url: URL,
  ): Promise<{ rows: OverviewRow[]; totals: ReturnType<typeof totals>; namespaces: string[] }> {
    const visible = async <T extends { metadata: { namespace?: string } }>(
      kind: keyof typeof PLURAL,
      items: T[],
    ) => {
      const namespaces = [...new Set(items.map((i) => i.metadata.namespace ?? ''))];
      const allowed = new Set(
        (
          await Promise.all(
            namespaces.map(async (ns) =>
              (await this.#may(viewer, {
                verb: 'list',
                group: API_GROUP,
                resource: PLURAL[kind],
                namespace: ns,
              }))
                ? ns
                : undefined,
            ),
          )
        ).filter((ns): ns is string => ns !== undefined),
      );
      return items.filter((i) => allowed.has(i.metadata.namespace ?? ''));
    };
    const rows = [
      ...(await visible('AppGroup', this.#data.groups.list())).map(groupRow),
      ...(await visible('GitSource', this.#data.sources.list())).map(sourceRow),
      ...(await visible('ChartSource', this.#data.chartSources.list())).map(sourceRow),
    ].sort((a, b) =>
      `${a.kind}|${a.namespace}|${a.name}`.localeCompare(`${b.kind}|${b.namespace}|${b.name}`),
    );
    const namespace = url.searchParams.get('namespace');
    const state = url.searchParams.get('state');
    const q = url.searchParams.get('q')?.toLowerCase();
    const shown = rows.filter(
      (r) =>
        (!namespace || r.namespace === namespace) &&
        (!state || r.state === state) &&
        (!q || r.name.toLowerCase().includes(q)),
    );
    return {
      rows: shown,
      totals: totals(rows),
      namespaces: [...new Set(rows.map((r) => r.namespace))].sort(),
    };
  }

  async #visibleGroup(viewer: Viewer, namespace: string, name: string): Promise<AppGroup> {
    if (
      !(await this.#may(viewer, {
        verb: 'get',
        group: API_GROUP,
        resource: PLURAL.AppGroup,
        namespace,
        name,
      }))
    )
      throw new HttpError(403, 'not allowed');
    const group = this.#data.groups.list(namespace).find((g) => g.metadata.name === name);
    if (!group) throw new HttpError(404, 'no such AppGroup');
    return group;
  }

  #events(namespace: string, name: string) {
    return this.#data.events
      .list(namespace)
      .filter((e) => e.regarding?.kind === 'AppGroup' && e.regarding.name === name)
      .map((e) => ({
        at: e.eventTime ?? e.deprecatedLastTimestamp ?? e.metadata.creationTimestamp ?? '',
        type: e.type ?? 'Normal',
        reason: e.reason ?? '',
        note: e.note ?? '',
      }))
      .sort((a, b) => b.at.localeCompare(a.at))
      .slice(0, 20);
  }

  /** A workload's ReplicaSets and Pods, read live (at most 50 of each), if the viewer may list them. */
  async #workload(viewer: Viewer, group: AppGroup, url: URL) {
    const kind = url.searchParams.get('kind') ?? '';
    const name = url.searchParams.get('name') ?? '';
    const namespace = url.searchParams.get('namespace') ?? '';
    const listed = group.status?.inventory?.some((e) => e.id === `${namespace}_${name}_apps_${kind}`);
    if (!listed) throw new HttpError(404, 'not an object of this group');
    const [pods, sets] = await Promise.all([
      this.#may(viewer, { verb: 'list', group: '', resource: 'pods', namespace }),
      this.#may(viewer, { verb: 'list', group: 'apps', resource: 'replicasets', namespace }),
    ]);
    type Workload = { spec?: { selector?: { matchLabels?: Record<string, string> } } };
    const live = this.#data.liveOf({ apiVersion: 'apps/v1', kind, namespace, name }) as
      | Workload
      | undefined
      | 'not-watched';
    const labels = live && live !== 'not-watched' ? live.spec?.selector?.matchLabels : undefined;
    if (!labels) return { replicaSets: [], pods: [], note: 'no selector known' };
    const labelSelector = Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    type Item = {
      metadata: { name?: string; ownerReferences?: { name: string }[] };
      status?: Record<string, unknown>;
      spec?: Record<string, unknown>;
    };
    const list = async (apiVersion: string, k: string) =>
      (await this.#data.kube.list<Item>(apiVersion, k, { namespace, labelSelector, limit: POD_LIMIT })).items;
    const [rs, ps] = await Promise.all([
      sets && kind === 'Deployment' ? list('apps/v1', 'ReplicaSet') : Promise.resolve([]),
      pods ? list('v1', 'Pod') : Promise.resolve([]),
    ]);
    return {
      replicaSets: rs.map((r) => ({
        name: r.metadata.name,
        replicas: r.status?.replicas ?? 0,
        ready: r.status?.readyReplicas ?? 0,
      })),
      pods: ps.map((p) => ({
        name: p.metadata.name,
        owner: p.metadata.ownerReferences?.[0]?.name,
        phase: p.status?.phase,
        ready: ((p.status?.conditions as { type: string; status: string }[] | undefined) ?? []).some(
          (c) => c.type === 'Ready' && c.status === 'True',
        ),
        node: p.spec?.nodeName,
      })),
      ...(pods ? {} : { note: 'you may not list pods here' }),
    };
  }

  async #latency(viewer: Viewer) {
    const out: { group: string; distribution: ReturnType<typeof distribution> }[] = [];
    for (const [key, samples] of this.#data.memory.allLatencies()) {
      const [namespace = '', name = ''] = key.split('/');
      if (
        await this.#may(viewer, { verb: 'get', group: API_GROUP, resource: PLURAL.AppGroup, namespace, name })
      )
        out.push({ group: key, distribution: distribution(samples) });
    }
    return { groups: out.sort((a, b) => a.group.localeCompare(b.group)) };
  }

  #stream(viewer: Viewer, req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write('retry: 2000\n\n');
    const entry = { viewer, res };
    this.#streams.add(entry);
    req.on('close', () => this.#streams.delete(entry));
  }

  async #act(
    who: { viewer: Viewer; session?: Session; bearer: boolean },
    req: IncomingMessage,
    res: ServerResponse,
    namespace: string,
    name: string,
    action: 'reconcile' | 'suspend' | 'resume',
  ): Promise<void> {
    if (this.#opts.readOnly) throw new HttpError(403, 'the dashboard is read-only');
    // A browser's session must prove the page is ours: same origin and the CSRF token.
    if (!who.bearer) {
      const token = req.headers['x-csrf-token'];
      if (
        !sameOrigin(req) ||
        !who.session ||
        !csrfMatches(typeof token === 'string' ? token : undefined, who.session.csrf)
      )
        throw new HttpError(403, 'the request did not come from the dashboard (CSRF)');
    }
    if (
      !(await this.#may(who.viewer, {
        verb: 'patch',
        group: API_GROUP,
        resource: PLURAL.AppGroup,
        namespace,
        name,
      }))
    )
      throw new HttpError(403, `${who.viewer.user} may not patch AppGroup ${namespace}/${name}`);
    if (!this.#data.groups.list(namespace).some((g) => g.metadata.name === name))
      throw new HttpError(404, 'no such AppGroup');
    const ref = { group: API_GROUP, version: API_VERSION, plural: PLURAL.AppGroup, namespace, name };
    const body =
      action === 'reconcile'
        ? { metadata: { annotations: { [ANNOTATIONS.requestedAt]: this.#opts.clock.now().toISOString() } } }
        : { spec: { suspend: action === 'suspend' } };
    await this.#data.kube.mergePatch(ref, body);
    this.#opts.log({ msg: 'dashboard action', action, group: `${namespace}/${name}`, user: who.viewer.user });
    json(res, 200, { ok: true });
  }
}

export { GV };
