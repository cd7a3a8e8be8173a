import semver from 'semver';
import { REASON } from '../api/conditions.ts';
import { jitter, parseDuration } from '../api/duration.ts';
import type { GitSource, GitSourceStatus } from '../api/git-source.ts';
import { ANNOTATIONS, KINDS } from '../api/group.ts';
import { parseKey } from '../api/object-key.ts';
import type { Kube } from '../kube/client.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Clock } from '../runtime/clock.ts';
import type { ReconcileResult } from '../runtime/controller.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import { StalledError } from '../runtime/errors/stalled-error.ts';
import { NO_CREDENTIALS, prepareCredentials } from '../source/credentials.ts';
import type { FetchedArtifact, GitCache, GitCallOptions } from '../source/git-cache.ts';
import { refuseHost } from '../source/host-policy.ts';
import { commitOf, formatRevision, lsRemotePatterns, resolveRevision } from '../source/revision.ts';
import { refuseUrl, type UrlPolicy } from '../source/url-policy.ts';
import { type CachedReads, liveReads } from './cached-reads.ts';
import { runAndReport, type Step, type StepObserver } from './run-steps.ts';
import {
  announceRevision,
  type SourceSharingDeps,
  startingStatus,
  writeSourceStatus,
} from './source-status.ts';

export interface GitSourceReconcilerDeps extends SourceSharingDeps {
  kube: Kube;
  git: GitCache;
  clock: Clock;
  events: EventRecorder;
  policy: UrlPolicy;
  random: () => number;
  /** Where credential files live while a reconcile runs (removed afterwards). */
  credentialsDir: string;
  /** Reads GitSources (from the informer cache, in the operator); default: GET. */
  reads?: CachedReads;
  /** Told of every step (its name and duration, for the log and a histogram). */
  observeStep?: StepObserver;
}

interface Context {
  deps: GitSourceReconcilerDeps;
  source: GitSource;
  status: GitSourceStatus;
  intervalMs: number;
  timeoutMs: number;
  call?: GitCallOptions;
  revisionChanged: boolean;
  /** An artifact was fetched into this process's cache. */
  fetched: boolean;
}

/** A duration of the spec; one stored past the CRD's validation stalls only this source. */
function specDuration(field: string, text: string): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch {
    ms = Number.NaN;
  }
  if (!(ms > 0))
    throw new StalledError(
      REASON.InvalidSpec,
      `spec.${field} "${String(text).slice(0, 40)}" is not a duration above zero`,
    );
  return ms;
}

const validate: Step<Context> = {
  name: 'validate',
  async run(ctx) {
    if (ctx.source.spec.suspend) return { stop: true };
    ctx.intervalMs = specDuration('interval', ctx.source.spec.interval ?? '1m');
    ctx.timeoutMs = specDuration('timeout', ctx.source.spec.timeout ?? '60s');
    const refusal =
      refuseUrl(ctx.source.spec.url, ctx.deps.policy) ??
      (await refuseHost(ctx.source.spec.url, ctx.deps.policy));
    if (refusal) throw new StalledError(REASON.UrlNotAllowed, refusal);
    const range = ctx.source.spec.ref?.semver;
    if (range !== undefined && !semver.validRange(range)) {
      throw new StalledError(REASON.InvalidSpec, `"${range}" is not a valid semver range`);
    }
    return undefined;
  },
};

const loadCredentials: Step<Context> = {
  name: 'loadCredentials',
  async run(ctx) {
    const timeoutMs = ctx.timeoutMs;
    const secretName = ctx.source.spec.secretRef?.name;
    if (!secretName) {
      ctx.call = { timeoutMs, credentials: NO_CREDENTIALS };
      return undefined;
    }
    const secret = await ctx.deps.kube.get<{ data?: Record<string, string> }>({
      apiVersion: 'v1',
      kind: 'Secret',
      name: secretName,
      namespace: ctx.source.metadata.namespace,
    });
    if (!secret) throw new ReconcileError(REASON.AuthenticationFailed, `secret ${secretName} was not found`);
    ctx.call = {
      timeoutMs,
      credentials: await prepareCredentials(secret.data, secretName, ctx.deps.credentialsDir),
    };
    return undefined;
  },
};

/**
 * One `git ls-remote`; a fetch only when the remote commit differs from the stored artifact. After a
 * push webhook, a branch is fetched at once.
 */
const fetchRevision: Step<Context> = {
  name: 'fetchRevision',
  async run(ctx) {
    const { git, clock } = ctx.deps;
    const call = ctx.call as GitCallOptions;
    const { url, ref } = ctx.source.spec;
    const patterns = lsRemotePatterns(ref);
    const { generation, annotations } = ctx.source.metadata;
    const requested = annotations?.[ANNOTATIONS.requestedAt];
    const fresh =
      generation !== ctx.status.observedGeneration ||
      (requested !== undefined && requested !== ctx.status.lastHandledReconcileAt);
    const stored = ctx.status.artifact;
    const keep = (fetched: FetchedArtifact, name: string) => {
      ctx.fetched = true;
      const revision = formatRevision(name, fetched.commit);
      ctx.revisionChanged = stored?.revision !== revision;
      ctx.status.artifact = {
        revision,
        digest: fetched.digest,
        commitTime: fetched.commitTime,
        fetchedAt: clock.now().toISOString(),
      };
      return undefined;
    };
    // A push to a branch (the webhook): fetch its tip at once, without asking ls-remote first. If
    // that fails, the ordinary way below says why (a branch that does not exist: RevisionNotFound).
    const pushed = !ref?.commit && !ref?.tag && !ref?.semver ? git.takePushed(url) : undefined;
    if (pushed) {
      const branch = ref?.branch ?? 'main';
      const tip = await git
        .fetch(url, { name: branch, commit: '', remoteRef: `refs/heads/${branch}` }, call)
        .catch(() => undefined)
        .finally(pushed);
      if (tip) return keep(tip, branch);
    }
    const refs =
      patterns.length > 0 ? await git.lsRemote(url, patterns, call, fresh) : new Map<string, string>();
    const resolved = resolveRevision(ref, refs);
    if (typeof resolved === 'string') throw new ReconcileError(REASON.RevisionNotFound, resolved);
    if (
      stored?.digest &&
      commitOf(stored.revision) === resolved.commit &&
      (await git.hasArtifact(stored.digest))
    ) {
      return undefined;
    }
    return keep(await git.fetch(url, resolved, call), resolved.name);
  },
};

const STEPS = [validate, loadCredentials, fetchRevision];

/**
 * Reconciles one GitSource: validate the URL and ref, load credentials, ask the remote for the ref's
 * commit, fetch and check out only when it changed, then write status once. A new revision is
 * announced through `onRevision`. Requeues after the (jittered) interval.
 */
export async function reconcileGitSource(
  deps: GitSourceReconcilerDeps,
  key: string,
): Promise<ReconcileResult> {
  const { namespace, name } = parseKey(key);
  const source = await (deps.reads ?? liveReads(deps.kube)).source(namespace, name);
  if (!source) return {};
  const started = deps.clock.now();
  const ctx: Context = {
    deps,
    source,
    status: startingStatus(deps, source),
    intervalMs: 60_000,
    timeoutMs: 60_000,
    revisionChanged: false,
    fetched: false,
  };
  const result = await runAndReport(
    STEPS,
    ctx,
    async (failure) => {
      await ctx.call?.credentials.cleanup();
      await writeStatus(ctx, failure);
    },
    deps.observeStep,
  );
  if (result.stop) return {};
  announceRevision(deps, source, ctx, started);
  return { requeueAfterMs: jitter(ctx.intervalMs, deps.random()) };
}

function writeStatus(ctx: Context, failure: unknown): Promise<void> {
  return writeSourceStatus(ctx.deps, ctx.source, KINDS.GitSource.plural, {
    status: ctx.status,
    failure,
    revisionChanged: ctx.revisionChanged,
  });
}
