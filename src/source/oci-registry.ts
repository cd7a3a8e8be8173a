import { createHash } from 'node:crypto';
import { REASON } from '../api/conditions.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import {
  authorization,
  type ChartCredentials,
  type FetchOptions,
  newestMatching,
  type ResolvedChart,
} from './chart-repository.ts';
import { type HttpAnswer, httpFailure, httpGet, safeUrl } from './http-get.ts';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const CHART_LAYER = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';
const MAX_JSON_BYTES = 4 * 1024 * 1024;
const TAG_PAGES = 20;

/** An oci:// URL and a chart as the registry's host and repository name. Pure. */
export function ociRepository(url: string, chart: string): { host: string; repository: string } {
  const u = new URL(url.replace(/^oci:/, 'https:'));
  const path = u.pathname.replace(/^\/+|\/+$/g, '');
  return { host: u.host, repository: path ? `${path}/${chart}` : chart };
}

/** The parameters of a `WWW-Authenticate: Bearer realm=...,service=...,scope=...` challenge. Pure. */
export function bearerChallenge(header: string | undefined): Record<string, string> | undefined {
  if (!header || !/^bearer\s/i.test(header)) return undefined;
  const out: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/(\w+)="([^"]*)"/g)) out[m[1] as string] = m[2] as string;
  return out.realm ? out : undefined;
}

/**
 * A registry client for one repository: every request carries the credentials (Basic, or a bearer
 * token) and answers a Bearer challenge with the distribution token flow (the realm is asked with
 * the credentials for a token of the scope the challenge names), as `helm pull` does.
 */
class Registry {
  #token: string | undefined;
  #base: string;
  readonly #creds: ChartCredentials;
  readonly #opts: FetchOptions;

  constructor(host: string, creds: ChartCredentials, opts: FetchOptions) {
    this.#base = `https://${host}`;
    this.#creds = creds;
    this.#opts = opts;
  }

  get base(): string {
    return this.#base;
  }

  /**
   * Finds how the registry speaks: HTTPS; plain HTTP only when the operator allows insecure HTTP and
   * the HTTPS connection itself failed (what docker does for an insecure registry).
   */
  async connect(): Promise<void> {
    try {
      await this.get('/v2/', 'application/json', MAX_JSON_BYTES);
    } catch (err) {
      if (
        !this.#opts.allowInsecureHttp ||
        !(err instanceof ReconcileError) ||
        err.reason !== REASON.SourceUnavailable
      )
        throw err;
      this.#base = this.#base.replace(/^https:/, 'http:');
    }
  }

  async get(path: string, accept: string, maxBytes: number): Promise<HttpAnswer> {
    const url = path.startsWith('http') ? path : `${this.#base}${path}`;
    const send = (auth: string | undefined) =>
      httpGet(url, {
        ...this.#opts,
        maxBytes,
        headers: { accept, ...(auth ? { authorization: auth } : {}) },
        ...(this.#creds.ca ? { ca: this.#creds.ca } : {}),
        credentialsHost: new URL(this.#base).host,
      });
    let answer = await send(this.#token ? `Bearer ${this.#token}` : authorization(this.#creds));
    const challenge =
      answer.status === 401 ? bearerChallenge(String(answer.headers['www-authenticate'] ?? '')) : undefined;
    if (challenge) {
      this.#token = await this.#fetchToken(challenge);
      answer = await send(`Bearer ${this.#token}`);
    }
    return answer;
  }

  async #fetchToken(c: Record<string, string>): Promise<string> {
    const realm = new URL(c.realm as string);
    if (c.service) realm.searchParams.set('service', c.service);
    if (c.scope) realm.searchParams.set('scope', c.scope);
    const auth = authorization(this.#creds);
    const answer = await httpGet(realm.toString(), {
      ...this.#opts,
      maxBytes: MAX_JSON_BYTES,
      headers: { accept: 'application/json', ...(auth ? { authorization: auth } : {}) },
      ...(this.#creds.ca ? { ca: this.#creds.ca } : {}),
      credentialsHost: realm.host,
    });
    const failed = httpFailure(answer.status, `the registry's token service ${safeUrl(realm.toString())}`);
    if (failed) throw failed;
    const body = parseJson(answer.body, 'the token answer') as { token?: unknown; access_token?: unknown };
    const token = typeof body.token === 'string' ? body.token : body.access_token;
    if (typeof token !== 'string' || token === '')
      throw new ReconcileError(REASON.AuthenticationFailed, 'the registry gave no token');
    return token;
  }
}

function parseJson(body: Buffer, what: string): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new ReconcileError(REASON.SourceUnavailable, `${what} is not JSON`);
  }
}

/**
 * Resolves a chart in an OCI registry: its tags (helm pushes one per chart version, `+` written as
 * `_`), the newest matching `range`, and that tag's manifest, whose chart layer is the archive.
 */
export async function resolveOciChart(
  url: string,
  chart: string,
  range: string,
  creds: ChartCredentials,
  opts: FetchOptions,
): Promise<ResolvedChart> {
  const { host, repository } = ociRepository(url, chart);
  const registry = new Registry(host, creds, opts);
  await registry.connect();
  const base = registry.base;
  const tags: string[] = [];
  let next: string | undefined = `/v2/${repository}/tags/list?n=1000`;
  for (let page = 0; next && page < TAG_PAGES; page++) {
    const answer = await registry.get(next, 'application/json', MAX_JSON_BYTES);
    const failed = httpFailure(answer.status, `the registry ${safeUrl(base)} (${repository})`);
    if (failed) throw failed;
    const body = parseJson(answer.body, 'the tag list') as { tags?: unknown };
    if (Array.isArray(body.tags)) tags.push(...body.tags.filter((t): t is string => typeof t === 'string'));
    next = /<([^>]+)>;\s*rel="next"/.exec(String(answer.headers.link ?? ''))?.[1];
  }
  const versions = tags.map((t) => t.replace(/_/g, '+'));
  const version = newestMatching(versions, range);
  if (!version)
    throw new ReconcileError(
      REASON.RevisionNotFound,
      `no tag of ${repository} matches ${JSON.stringify(range)} (the registry has ${tags.length})`,
    );
  const tag = version.replace(/\+/g, '_');
  const answer = await registry.get(`/v2/${repository}/manifests/${tag}`, MANIFEST, MAX_JSON_BYTES);
  const failed = httpFailure(answer.status, `the manifest of ${repository}:${tag}`);
  if (failed) throw failed;
  const manifest = parseJson(answer.body, 'the manifest') as {
    layers?: { mediaType?: string; digest?: string }[];
  };
  const layer = manifest.layers?.find((l) => l.mediaType === CHART_LAYER);
  const digest = /^sha256:([0-9a-f]{64})$/.exec(layer?.digest ?? '')?.[1];
  if (!digest)
    throw new ReconcileError(
      REASON.SourceUnavailable,
      `${repository}:${tag} is not a Helm chart (no chart layer)`,
    );
  return { version, url: `${base}/v2/${repository}/blobs/sha256:${digest}`, digest };
}

/** Downloads the chart layer a resolved OCI chart names, capped, and checks its digest. */
export async function pullOciChart(
  url: string,
  chart: string,
  resolved: ResolvedChart,
  creds: ChartCredentials,
  opts: FetchOptions & { maxBytes: number },
): Promise<Buffer> {
  const { host } = ociRepository(url, chart);
  const answer = await new Registry(host, creds, opts).get(
    resolved.url,
    'application/octet-stream',
    opts.maxBytes,
  );
  const failed = httpFailure(answer.status, `the chart layer of ${chart}@${resolved.version}`);
  if (failed) throw failed;
  const digest = createHash('sha256').update(answer.body).digest('hex');
  if (digest !== resolved.digest)
    throw new ReconcileError(
      REASON.SecurityViolation,
      `the chart layer has digest sha256:${digest}, not sha256:${resolved.digest}`,
    );
  return answer.body;
}
