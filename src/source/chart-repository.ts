import { createHash } from 'node:crypto';
import semver from 'semver';
import { parse } from 'yaml';
import { REASON } from '../api/conditions.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import { type HttpGetOptions, httpFailure, httpGet, safeUrl } from './http-get.ts';

/** Credentials for a chart repository or registry, from a ChartSource's secretRef. */
export interface ChartCredentials {
  username?: string;
  password?: string;
  bearerToken?: string;
  ca?: string;
}

/** The chart version a source resolved to, and where its archive is. */
export interface ResolvedChart {
  version: string;
  /** Where the archive is (an https:// URL, or for OCI the manifest reference). */
  url: string;
  /** sha256 hex of the archive, when the repository states it. */
  digest?: string;
}

/** The largest index.yaml read (an index of every chart a big repository ever published is tens of MB). */
const MAX_INDEX_BYTES = 32 * 1024 * 1024;

export type FetchOptions = Omit<HttpGetOptions, 'maxBytes' | 'headers' | 'ca' | 'credentialsHost'>;

/** The Authorization header credentials give, if any. Pure. */
export function authorization(c: ChartCredentials): string | undefined {
  if (c.bearerToken) return `Bearer ${c.bearerToken}`;
  if (c.username !== undefined && c.password !== undefined)
    return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
  return undefined;
}

/**
 * The newest version among `versions` that satisfies `range` (an exact version is a range too);
 * pre-releases only when the range names one. Undefined when none does. Pure.
 */
export function newestMatching(versions: readonly string[], range: string): string | undefined {
  const valid = versions.filter((v) => semver.valid(v) !== null);
  return semver.maxSatisfying(valid, range || '*') ?? undefined;
}

interface IndexEntry {
  version?: unknown;
  urls?: unknown;
  digest?: unknown;
}

/**
 * Resolves `chart` at the newest version matching `range` in an HTTP chart repository (its
 * index.yaml, read with a size cap and an alias budget). Throws SourceUnavailable,
 * AuthenticationFailed or RevisionNotFound.
 */
export async function resolveRepositoryChart(
  repoUrl: string,
  chart: string,
  range: string,
  creds: ChartCredentials,
  opts: FetchOptions,
): Promise<ResolvedChart> {
  const base = repoUrl.endsWith('/') ? repoUrl : `${repoUrl}/`;
  const indexUrl = new URL('index.yaml', base).toString();
  const auth = authorization(creds);
  const answer = await httpGet(indexUrl, {
    ...opts,
    maxBytes: MAX_INDEX_BYTES,
    headers: { accept: 'application/x-yaml, text/yaml, */*', ...(auth ? { authorization: auth } : {}) },
    ...(creds.ca ? { ca: creds.ca } : {}),
    credentialsHost: new URL(base).host,
  });
  const failed = httpFailure(answer.status, `the chart repository ${safeUrl(base)}`);
  if (failed) throw failed;
  let index: { entries?: Record<string, IndexEntry[]> };
  try {
    index = parse(answer.body.toString('utf8'), { maxAliasCount: 100 }) as typeof index;
  } catch (err) {
    throw new ReconcileError(
      REASON.SourceUnavailable,
      `the index.yaml of ${safeUrl(base)} is not YAML: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
    );
  }
  const entries = Array.isArray(index?.entries?.[chart]) ? (index.entries?.[chart] ?? []) : [];
  if (entries.length === 0)
    throw new ReconcileError(
      REASON.RevisionNotFound,
      `the chart repository ${safeUrl(base)} has no chart ${chart}`,
    );
  const versions = entries.flatMap((e) => (typeof e?.version === 'string' ? [e.version] : []));
  const version = newestMatching(versions, range);
  if (!version)
    throw new ReconcileError(
      REASON.RevisionNotFound,
      `no version of ${chart} matches ${JSON.stringify(range)} (the repository has ${versions.length})`,
    );
  const entry = entries.find((e) => e.version === version);
  const first = Array.isArray(entry?.urls) && typeof entry.urls[0] === 'string' ? entry.urls[0] : undefined;
  if (!first)
    throw new ReconcileError(
      REASON.SourceUnavailable,
      `${chart}@${version} has no download URL in the index`,
    );
  return {
    version,
    url: new URL(first, base).toString(),
    ...(typeof entry?.digest === 'string' && /^[0-9a-f]{64}$/.test(entry.digest)
      ? { digest: entry.digest }
      : {}),
  };
}

/**
 * Downloads a chart archive from an HTTP repository, capped, and checks it against the digest the
 * index gave. Credentials go only to the repository's own host.
 */
export async function downloadRepositoryChart(
  repoUrl: string,
  chart: ResolvedChart,
  creds: ChartCredentials,
  opts: FetchOptions & { maxBytes: number },
): Promise<Buffer> {
  const auth = authorization(creds);
  const answer = await httpGet(chart.url, {
    ...opts,
    headers: auth ? { authorization: auth } : {},
    ...(creds.ca ? { ca: creds.ca } : {}),
    credentialsHost: new URL(repoUrl).host,
  });
  const failed = httpFailure(answer.status, `downloading ${safeUrl(chart.url)}`);
  if (failed) throw failed;
  const digest = createHash('sha256').update(answer.body).digest('hex');
  if (chart.digest && chart.digest !== digest)
    throw new ReconcileError(
      REASON.SecurityViolation,
      `${safeUrl(chart.url)} has digest sha256:${digest}, not the sha256:${chart.digest} the index gives`,
    );
  return answer.body;
}
