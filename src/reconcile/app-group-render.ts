import { resolve } from 'node:path';
import { stringify } from 'yaml';
import { CONDITION, REASON } from '../api/conditions.ts';
import type { Condition } from '../api/meta.ts';
import { renderChart } from '../render/chart.ts';
import type { ChartDependency } from '../render/chart-dependencies.ts';
import { decorate } from '../render/decorate.ts';
import { isChart, renderDigest } from '../render/helm.ts';
import { loadManifests } from '../render/load.ts';
import type { RenderedObject } from '../render/parse-manifests.ts';
import { RenderCache } from '../render/render-cache.ts';
import { assignReplicaOwnership } from '../render/replica-ownership.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import { WaitingError } from '../runtime/errors/waiting-error.ts';
import { DEFAULT_CHART_LIMITS } from '../source/chart-archive.ts';
import { downloadRepositoryChart, resolveRepositoryChart } from '../source/chart-repository.ts';
import { pullOciChart, resolveOciChart } from '../source/oci-registry.ts';
import { type AppGroupContext as Context, ownerOf, reads } from './app-group-context.ts';
import { chartCredentials } from './chart-credentials.ts';
import { resolveScopes } from './resolve-scopes.ts';
import type { Step } from './run-steps.ts';

const waiting = (ctx: Context, message: string, local = false) =>
  new WaitingError(REASON.SourceNotReady, message, ctx.deps.sourceRetryMs, { local });

/** A source no reconcile has written a Ready condition for yet (just created, or never looked at). */
const unseen = (source: { status?: { conditions?: Condition[] } }) =>
  !source.status?.conditions?.some((c) => c.type === CONDITION.Ready);

/** "<Kind> <name> has no artifact yet", with why when the source says (its message is secret-free). */
function noArtifact(kind: string, name: string, source: { status?: { conditions?: Condition[] } }): string {
  const ready = source.status?.conditions?.find((c) => c.type === CONDITION.Ready);
  const why = ready?.status === 'False' ? `: ${ready.reason}: ${ready.message ?? ''}`.trimEnd() : '';
  return `${kind} ${name} has no artifact yet${why}`;
}

/** The group's source: a GitSource's checked-out tree, or a ChartSource's unpacked chart. */
export const resolveSource: Step<Context> = {
  name: 'resolveSource',
  async run(ctx) {
    const namespace = ctx.group.metadata.namespace ?? '';
    const { kind = 'GitSource', name } = ctx.group.spec.sourceRef;
    if (kind === 'ChartSource') {
      const source = await reads(ctx.deps).chartSource(namespace, name);
      if (!source) throw waiting(ctx, `ChartSource ${name} was not found`);
      const { revision, digest } = source.status?.artifact ?? {};
      if (!revision || !digest) throw waiting(ctx, noArtifact(kind, name, source), unseen(source));
      const stored = await ctx.deps.charts.get(digest);
      // Fetched by another process, or before a restart: the ChartSource reconcile unpacks it again.
      if (!stored) throw waiting(ctx, `chart ${revision} is not unpacked here yet`, true);
      ctx.chartSource = source;
      ctx.revision = revision;
      ctx.digest = digest;
      ctx.artifactDir = stored.dir;
      ctx.chartDir = stored.dir;
      return undefined;
    }
    const source = await reads(ctx.deps).source(namespace, name);
    if (!source) throw waiting(ctx, `GitSource ${name} was not found`);
    const revision = source.status?.artifact?.revision;
    const digest = source.status?.artifact?.digest;
    if (!revision || !digest) throw waiting(ctx, noArtifact(kind, name, source), unseen(source));
    // Fetched by another process, or before a restart: the GitSource reconcile checks it out again.
    if (!(await ctx.deps.git.hasArtifact(digest)))
      throw waiting(ctx, `revision ${revision} (tree ${digest}) is not checked out yet`, true);
    ctx.source = source;
    ctx.revision = revision;
    ctx.digest = digest;
    ctx.artifactDir = ctx.deps.git.artifactDir(digest);
    const dir = resolve(ctx.artifactDir, ctx.group.spec.path ?? '.');
    if (dir.startsWith(ctx.artifactDir) && (await isChart(dir))) ctx.chartDir = dir;
    return undefined;
  },
};

/**
 * The values of spec.helm.valuesFrom, read as the group applies (its ServiceAccount, or the
 * operator): YAML text in order. A missing object or key fails (BuildFailed) unless optional. The
 * content goes into the render only: never into a message.
 */
async function valuesFrom(ctx: Context): Promise<string[]> {
  const out: string[] = [];
  for (const ref of ctx.group.spec.helm?.valuesFrom ?? []) {
    const key = ref.key ?? 'values.yaml';
    const what = `${ref.kind} ${ref.name}`;
    const obj = await ctx.applier.get<{ data?: Record<string, string> }>({
      apiVersion: 'v1',
      kind: ref.kind,
      namespace: ctx.group.metadata.namespace ?? '',
      name: ref.name,
    });
    const raw = obj?.data?.[key];
    if (raw === undefined) {
      if (ref.optional) continue;
      throw new ReconcileError(
        REASON.BuildFailed,
        obj ? `valuesFrom: ${what} has no key ${key}` : `valuesFrom: ${what} was not found`,
      );
    }
    out.push(ref.kind === 'Secret' ? Buffer.from(raw, 'base64').toString('utf8') : raw);
  }
  return out;
}

/** Fetches a chart dependency from its repository, with the ChartSource's credentials on its own host. */
async function fetchDependency(ctx: Context, dep: ChartDependency): Promise<string> {
  const { policy, clock, charts } = ctx.deps;
  const sourceUrl = ctx.chartSource?.spec.url;
  const sameHost =
    sourceUrl !== undefined &&
    new URL(sourceUrl.replace(/^oci:/, 'https:')).host ===
      new URL(dep.repository.replace(/^oci:/, 'https:')).host;
  const secret = ctx.chartSource?.spec.secretRef?.name;
  const creds =
    sameHost && secret
      ? await chartCredentials(ctx.deps.kube, ctx.group.metadata.namespace ?? '', secret)
      : {};
  const opts = { clock, timeoutMs: 60_000, allowInsecureHttp: policy.allowInsecureHttp, hosts: policy };
  const big = { ...opts, maxBytes: DEFAULT_CHART_LIMITS.maxArchiveBytes };
  const archive = dep.repository.startsWith('oci://')
    ? await pullOciChart(
        dep.repository,
        dep.name,
        await resolveOciChart(dep.repository, dep.name, dep.version, creds, opts),
        creds,
        big,
      )
    : await downloadRepositoryChart(
        dep.repository,
        await resolveRepositoryChart(dep.repository, dep.name, dep.version, creds, opts),
        creds,
        big,
      );
  return (await charts.store(archive)).dir;
}

/** Renders the chart of the group (ChartSource, or a Git path holding Chart.yaml). */
async function renderGroupChart(ctx: Context): Promise<readonly RenderedObject[]> {
  const helm = ctx.group.spec.helm ?? {};
  const chartDir = ctx.chartDir as string;
  const root = ctx.chartSource ? chartDir : (ctx.artifactDir as string);
  const values = [...(await valuesFrom(ctx)), ...(helm.values ? [stringify(helm.values)] : [])];
  const capabilities = await ctx.deps.capabilities?.();
  const input = {
    releaseName: helm.releaseName ?? ctx.group.metadata.name ?? '',
    namespace: ctx.group.spec.targetNamespace ?? ctx.group.metadata.namespace ?? 'default',
    valuesFiles: helm.valuesFiles ?? [],
    values,
    includeCRDs: helm.includeCRDs ?? true,
    skipTests: helm.skipTests ?? true,
    ...(capabilities ? { capabilities } : {}),
  };
  const patches = ctx.group.spec.patches ?? [];
  const key = RenderCache.key(
    ctx.digest ?? '',
    `${ctx.group.spec.path ?? '.'}|chart|${renderDigest(input)}`,
    patches,
  );
  return ctx.deps.renderCache.get(key, () =>
    renderChart(
      { ...input, chartDir, root, patches, fetchDependency: (dep) => fetchDependency(ctx, dep) },
      { parser: ctx.deps.parser, helm: ctx.deps.helm, clock: ctx.deps.clock },
    ),
  );
}

export const render: Step<Context> = {
  name: 'render',
  async run(ctx) {
    const { path = '.', patches = [] } = ctx.group.spec;
    const parsed = ctx.chartDir
      ? await renderGroupChart(ctx)
      : await ctx.deps.renderCache.get(RenderCache.key(ctx.digest ?? '', path, patches), () =>
          loadManifests(ctx.deps.parser, ctx.artifactDir ?? '', path, patches, ctx.deps.kustomize),
        );
    const scopes = await resolveScopes(
      ctx.applier,
      parsed.map((p) => p.object),
    );
    const decorated = decorate(parsed, {
      owner: ownerOf(ctx.group),
      targetNamespace: ctx.group.spec.targetNamespace ?? ctx.group.metadata.namespace ?? 'default',
      namespaced: scopes,
    });
    const all = assignReplicaOwnership(decorated, ctx.group.spec.apps ?? []);
    ctx.objects = all.filter((o) => !o.hook);
    ctx.hooks = all.filter((o) => o.hook);
    const { prune: pruning, allowEmpty } = ctx.group.spec;
    const tracked = ctx.inventory.entries.length;
    if (ctx.objects.length === 0 && pruning && !allowEmpty && tracked > 0) {
      throw new ReconcileError(
        REASON.EmptySourceRefused,
        `path "${ctx.group.spec.path ?? '.'}" renders no objects; refusing to prune all ${tracked} ` +
          'objects of this group (set spec.allowEmpty to allow it)',
      );
    }
    return undefined;
  },
};
