import semver from 'semver';
import type { ChartSource, ChartSourceStatus } from '../api/chart-source.ts';
import { REASON } from '../api/conditions.ts';
import { jitter, parseDuration } from '../api/duration.ts';
import { KINDS } from '../api/group.ts';
import { parseKey } from '../api/object-key.ts';
import type { Kube } from '../kube/client.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Clock } from '../runtime/clock.ts';
import type { ReconcileResult } from '../runtime/controller.ts';
import { StalledError } from '../runtime/errors/stalled-error.ts';
import { DEFAULT_CHART_LIMITS } from '../source/chart-archive.ts';
import type { ChartCache } from '../source/chart-cache.ts';
import {
  type ChartCredentials,
  downloadRepositoryChart,
  type ResolvedChart,
  resolveRepositoryChart,
} from '../source/chart-repository.ts';
import { refuseHost } from '../source/host-policy.ts';
import { safeUrl } from '../source/http-get.ts';
import { pullOciChart, resolveOciChart } from '../source/oci-registry.ts';
import type { UrlPolicy } from '../source/url-policy.ts';
import { type CachedReads, liveReads } from './cached-reads.ts';
import { chartCredentials } from './chart-credentials.ts';
import { runAndReport, type Step, type StepObserver } from './run-steps.ts';
import {
  announceRevision,
  type SourceSharingDeps,
  startingStatus,
  writeSourceStatus,
} from './source-status.ts';

export interface ChartSourceReconcilerDeps extends SourceSharingDeps {
  kube: Kube;
  charts: ChartCache;
  clock: Clock;
  events: EventRecorder;
  policy: UrlPolicy;
  random: () => number;
  reads?: CachedReads;
  observeStep?: StepObserver;
  /** A new chart version was stored; `detectedAt` is when the reconcile that found it began. */
}

interface Context {
  deps: ChartSourceReconcilerDeps;
  source: ChartSource;
  status: ChartSourceStatus;
  intervalMs: number;
  timeoutMs: number;
  creds: ChartCredentials;
  resolved?: ResolvedChart;
  revisionChanged: boolean;
  /** An archive was fetched into this process's cache. */
  fetched: boolean;
}

const isOci = (url: string) => url.startsWith('oci://');

function specDuration(field: string, text: string): number {
  let ms = Number.NaN;
  try {
    ms = parseDuration(text);
  } catch {
    // below
  }
  if (!(ms > 0))
    throw new StalledError(
      REASON.InvalidSpec,
      `spec.${field} "${text.slice(0, 40)}" is not a duration above zero`,
    );
  return ms;
}

const validate: Step<Context> = {
  name: 'validate',
  async run(ctx) {
    const { spec } = ctx.source;
    if (spec.suspend) return { stop: true };
    ctx.intervalMs = specDuration('interval', spec.interval ?? '10m');
    ctx.timeoutMs = specDuration('timeout', spec.timeout ?? '60s');
    if (spec.url.startsWith('http://') && !ctx.deps.policy.allowInsecureHttp)
      throw new StalledError(
        REASON.UrlNotAllowed,
        'http:// chart repositories are refused; use https:// (or start the operator with --allow-insecure-http)',
      );
    if (!/^(https?|oci):\/\//.test(spec.url))
      throw new StalledError(REASON.UrlNotAllowed, 'a chart source URL is https://, or oci://');
    const refused = await refuseHost(spec.url.replace(/^oci:/, 'https:'), ctx.deps.policy);
    if (refused) throw new StalledError(REASON.UrlNotAllowed, refused);
    if (semver.validRange(spec.version ?? '*') === null)
      throw new StalledError(REASON.InvalidSpec, `"${spec.version}" is not a version or a semver range`);
    return undefined;
  },
};

/** username + password, or bearerToken; ca.crt. The values stay in memory for this reconcile. */
const loadCredentials: Step<Context> = {
  name: 'loadCredentials',
  async run(ctx) {
    const name = ctx.source.spec.secretRef?.name;
    if (!name) return undefined;
    ctx.creds = await chartCredentials(ctx.deps.kube, ctx.source.metadata.namespace ?? '', name);
    return undefined;
  },
};

const fetchOptions = (ctx: Context) => ({
  clock: ctx.deps.clock,
  timeoutMs: ctx.timeoutMs,
  allowInsecureHttp: ctx.deps.policy.allowInsecureHttp,
  hosts: ctx.deps.policy,
});

/** Asks the repository (index.yaml) or the registry (tags) for the newest matching version. */
const resolveVersion: Step<Context> = {
  name: 'resolveVersion',
  async run(ctx) {
    const { url, chart, version = '*' } = ctx.source.spec;
    ctx.resolved = isOci(url)
      ? await resolveOciChart(url, chart, version, ctx.creds, fetchOptions(ctx))
      : await resolveRepositoryChart(url, chart, version, ctx.creds, fetchOptions(ctx));
    return undefined;
  },
};

/** Downloads, checks and unpacks the version unless that very archive is already stored. */
const fetchChart: Step<Context> = {
  name: 'fetchChart',
  async run(ctx) {
    const resolved = ctx.resolved as ResolvedChart;
    const { url, chart } = ctx.source.spec;
    const revision = `${chart}@${resolved.version}`;
    const stored = ctx.status.artifact;
    if (
      stored?.revision === revision &&
      stored.digest &&
      (!resolved.digest || stored.digest === `sha256:${resolved.digest}`) &&
      (await ctx.deps.charts.get(stored.digest))
    )
      return undefined;
    const opts = { ...fetchOptions(ctx), maxBytes: DEFAULT_CHART_LIMITS.maxArchiveBytes };
    const archive = isOci(url)
      ? await pullOciChart(url, chart, resolved, ctx.creds, opts)
      : await downloadRepositoryChart(url, resolved, ctx.creds, opts);
    const kept = await ctx.deps.charts.store(archive);
    ctx.fetched = true;
    ctx.revisionChanged = stored?.revision !== revision || stored.digest !== kept.digest;
    ctx.status.artifact = {
      revision,
      digest: kept.digest,
      url: safeUrl(resolved.url),
      fetchedAt: ctx.deps.clock.now().toISOString(),
    };
    return undefined;
  },
};

const STEPS = [validate, loadCredentials, resolveVersion, fetchChart];

/**
 * Reconciles one ChartSource: validate, load credentials, resolve the newest version that matches,
 * and download, check (digest, archive rules, size caps) and unpack it only when it is new. A
 * failure keeps the last artifact. A new version is announced through `onRevision`.
 */
export async function reconcileChartSource(
  deps: ChartSourceReconcilerDeps,
  key: string,
): Promise<ReconcileResult> {
  const { namespace, name } = parseKey(key);
  const source = await (deps.reads ?? liveReads(deps.kube)).chartSource(namespace, name);
  if (!source) return {};
  const started = deps.clock.now();
  const ctx: Context = {
    deps,
    source,
    status: startingStatus(deps, source),
    intervalMs: 600_000,
    timeoutMs: 60_000,
    creds: {},
    revisionChanged: false,
    fetched: false,
  };
  const result = await runAndReport(
    STEPS,
    ctx,
    (failure) =>
      writeSourceStatus(deps, source, KINDS.ChartSource.plural, {
        status: ctx.status,
        failure,
        revisionChanged: ctx.revisionChanged,
      }),
    deps.observeStep,
  );
  if (result.stop) return {};
  announceRevision(deps, source, ctx, started);
  return { requeueAfterMs: jitter(ctx.intervalMs, deps.random()) };
}
