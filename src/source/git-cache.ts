import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type SimpleGit, simpleGit } from 'simple-git';
import { REASON } from '../api/conditions.ts';
import { type Clock, clampTimerMs, realClock } from '../runtime/clock.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import type { GitCredentials } from './credentials.ts';
import { classifyGitError } from './git-errors.ts';
import { checkLimits, type SourceLimits } from './limits.ts';
import { incomingBytes, restoreMirror, snapshotMirror } from './mirror-snapshot.ts';
import { parseLsRemote, type ResolvedRevision } from './revision.ts';
import { allowedProtocols, type UrlPolicy } from './url-policy.ts';

export { checkLimits, DEFAULT_SOURCE_LIMITS, type SourceLimits } from './limits.ts';

/** Where git operations are counted and timed (Prometheus in the operator). */
export interface GitObserver {
  observe(operation: 'ls-remote' | 'fetch' | 'checkout', result: 'success' | 'error', seconds: number): void;
}

export interface GitCacheOptions {
  /** Directory for mirrors and checked-out artifacts (created). */
  root: string;
  policy: UrlPolicy;
  /** Base environment of git children (PATH); nothing else of the operator's environment leaks in. */
  env: Record<string, string>;
  limits: SourceLimits;
  observer?: GitObserver;
  /** ls-remote results are shared for this long between sources of one URL and credentials. */
  lsRemoteShareMs: number;
  /** Time for timeouts, the transfer watch and garbage collection (default: the real clock). */
  clock?: Clock;
}

/** Per-call settings: the source's timeout and its credentials. */
export interface GitCallOptions {
  timeoutMs: number;
  credentials: GitCredentials;
}

export interface FetchedArtifact {
  commit: string;
  /** `sha256:<hex>` over the tree listing (modes, object ids, paths): the same tree, the same digest. */
  digest: string;
  /** Directory with the revision's files, named after the digest. */
  dir: string;
  commitTime: string;
}

/** How often a running fetch's incoming pack is measured against the size limit. */
const TRANSFER_CHECK_MS = 50;

/** git, run in a process group that is killed as a whole when the call times out (see the script). */
const GIT_GROUP = fileURLToPath(new URL('./git-group.sh', import.meta.url));

const execFileAsync = promisify(execFile);

const hex = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Bare mirrors of remote repositories (one per URL and credentials, fetched shallowly) and a
 * content-addressed cache of checked-out trees. git runs without a shell, with `--` before positional
 * arguments, no terminal prompts, a protocol allow-list and a hard timeout per child (killed on expiry).
 */
export class GitCache {
  readonly #opts: GitCacheOptions;
  /** One operation per mirror at a time: fetches of one URL never interleave. */
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #lsRemote = new Map<string, { at: number; result: Promise<Map<string, string>> }>();
  /** Commits already checked out, by mirror and commit: a second source of one revision costs no git. */
  readonly #known = new Map<string, FetchedArtifact>();
  readonly #pushed = new Set<string>();
  readonly #directFetches = new Set<string>();
  readonly #pushedDuring = new Set<string>();

  readonly #clock: Clock;

  constructor(options: GitCacheOptions) {
    this.#opts = options;
    this.#clock = options.clock ?? realClock;
  }

  /** The environment of a git child: the base, the call's credentials, and nothing ambient. */
  #env(call: GitCallOptions, extraEnv: Record<string, string>): Record<string, string> {
    return {
      ...this.#opts.env,
      ...call.credentials.env,
      ...extraEnv,
      HOME: join(this.#opts.root, 'home'),
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_ALLOW_PROTOCOL: allowedProtocols(this.#opts.policy),
    };
  }

  /** Aborts when the call's time is up (on this cache's clock). */
  #deadline(call: GitCallOptions): { timeoutMs: number; signal: AbortSignal; cancel: () => void } {
    const timeoutMs = clampTimerMs(call.timeoutMs);
    const expired = new AbortController();
    const cancel = this.#clock.after(timeoutMs, () =>
      expired.abort(new Error(`git timed out after ${timeoutMs} ms`)),
    );
    return { timeoutMs, signal: expired.signal, cancel };
  }

  /**
   * Runs `use` with a simple-git bound to `baseDir`, this call's environment and its time limit, whose
   * timer ends with `use` (it would otherwise hold the instance for the whole timeout).
   */
  async #withGit<T>(
    baseDir: string,
    call: GitCallOptions,
    use: (git: SimpleGit) => Promise<T>,
    extraEnv: Record<string, string> = {},
    stop?: AbortSignal,
  ): Promise<T> {
    const env = this.#env(call, extraEnv);
    // simple-git's environment guard drops ambient variables that change git's behaviour; the ones
    // set here are allowed by name, and its unsafe-option guard is opened only for the credential
    // mechanisms this call uses (values Shoal wrote, never text from a repository or a spec).
    const { timeoutMs, signal, cancel } = this.#deadline(call);
    try {
      return await use(
        simpleGit({
          baseDir,
          binary: GIT_GROUP,
          abort: stop ? AbortSignal.any([signal, stop]) : signal,
          timeout: { block: timeoutMs },
          allowEnvironment: Object.keys(env),
          unsafe: {
            ...('GIT_CONFIG_COUNT' in env ? { allowUnsafeConfigEnvCount: true } : {}),
            ...('GIT_SSH_COMMAND' in env ? { allowUnsafeSshCommand: true } : {}),
          },
        }).env(env),
      );
    } finally {
      cancel();
    }
  }

  /**
   * Runs a local git command that prints nothing when it succeeds (the checkout) without simple-git,
   * which waits 50 ms more after a child that wrote no output (its completion plugin, not
   * configurable): a fifth of a push's way to the cluster. The same wrapper, environment and time
   * limit (SIGTERM to the wrapper ends git's process group); Shoal's own fixed arguments only.
   */
  async #runQuiet(
    baseDir: string,
    call: GitCallOptions,
    extraEnv: Record<string, string>,
    args: string[],
  ): Promise<void> {
    const { signal, cancel } = this.#deadline(call);
    await execFileAsync(GIT_GROUP, args, {
      cwd: baseDir,
      env: this.#env(call, extraEnv),
      signal,
      killSignal: 'SIGTERM',
      maxBuffer: 1024 * 1024,
    }).finally(cancel);
  }

  async #timed<T>(operation: 'ls-remote' | 'fetch' | 'checkout', fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const r = await fn();
      this.#opts.observer?.observe(operation, 'success', (performance.now() - started) / 1000);
      return r;
    } catch (err) {
      this.#opts.observer?.observe(operation, 'error', (performance.now() - started) / 1000);
      throw err;
    }
  }

  #mirrorDir(url: string, credentials: GitCredentials): string {
    return join(this.#opts.root, 'mirrors', hex(`${url}\n${credentials.key}`).slice(0, 24));
  }

  /** Directory of a checked-out tree, by its digest (it may not exist yet). */
  artifactDir(digest: string): string {
    return join(this.#opts.root, 'artifacts', digest.replace(/^sha256:/, ''));
  }

  /** Whether the tree with `digest` is checked out locally; marks it used (for garbage collection). */
  async hasArtifact(digest: string): Promise<boolean> {
    const dir = this.artifactDir(digest);
    if (!(await exists(dir))) return false;
    const now = new Date();
    await utimes(dir, now, now).catch(() => {});
    return true;
  }

  async #withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(key) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(fn);
    this.#locks.set(key, next);
    try {
      return await next;
    } finally {
      if (this.#locks.get(key) === next) this.#locks.delete(key);
    }
  }

  /**
   * The remote's refs matching `patterns`: one `git ls-remote`, no fetch. Polls of sources with the
   * same URL and credentials within `lsRemoteShareMs` share one call; `fresh` (a spec change or a
   * manual trigger) never reuses one.
   */
  async lsRemote(
    url: string,
    patterns: string[],
    call: GitCallOptions,
    fresh = false,
  ): Promise<Map<string, string>> {
    const key = `${url}\n${call.credentials.key}\n${patterns.join(' ')}`;
    const now = this.#clock.now().getTime();
    const shared = this.#lsRemote.get(key);
    if (!fresh && shared && now - shared.at < this.#opts.lsRemoteShareMs) return shared.result;
    const result = this.#timed('ls-remote', async () => {
      await mkdir(join(this.#opts.root, 'home'), { recursive: true });
      try {
        return parseLsRemote(
          await this.#withGit(this.#opts.root, call, (git) => git.listRemote(['--', url, ...patterns])),
        );
      } catch (err) {
        const { reason, message } = classifyGitError(err);
        throw new ReconcileError(reason, `git ls-remote failed: ${message}`, { cause: err });
      }
    });
    this.#lsRemote.set(key, { at: now, result });
    result.catch(() => this.#lsRemote.delete(key));
    if (this.#lsRemote.size > 1000) {
      for (const [k, v] of this.#lsRemote)
        if (now - v.at >= this.#opts.lsRemoteShareMs) this.#lsRemote.delete(k);
    }
    return result;
  }

  /**
   * Drops shared ls-remote results for `url`: a push webhook says they are stale, and that the next
   * reconcile of a branch may fetch at once (`takePushed`).
   */
  forget(url: string): void {
    for (const key of this.#lsRemote.keys()) if (key.startsWith(`${url}\n`)) this.#lsRemote.delete(key);
    if (this.#pushed.size > 10_000) this.#pushed.clear();
    this.#pushed.add(url);
    if (this.#directFetches.has(url)) this.#pushedDuring.add(url);
  }

  /**
   * A push for `url` arrived since the last call: its branch may be fetched at once, without asking
   * ls-remote first. Returns what to call when that fetch has ended, or undefined: no push, or pushes
   * that arrived while such a fetch was running (a burst: the ordinary way then finds, with one
   * ls-remote, the tip already fetched, and fetches nothing).
   */
  takePushed(url: string): (() => void) | undefined {
    if (!this.#pushed.delete(url)) return undefined;
    if (this.#pushedDuring.delete(url)) return undefined;
    this.#directFetches.add(url);
    return () => this.#directFetches.delete(url);
  }

  /**
   * Makes `revision` available as a checked-out tree: fetches it shallowly into the mirror unless the
   * mirror has the commit, checks the limits, and checks the tree out once per digest.
   */
  async fetch(url: string, revision: ResolvedRevision, call: GitCallOptions): Promise<FetchedArtifact> {
    const mirror = this.#mirrorDir(url, call.credentials);
    const known = revision.commit ? this.#known.get(`${mirror}\n${revision.commit}`) : undefined;
    if (known && (await this.hasArtifact(known.digest))) return known;
    return this.#withLock(mirror, async () => {
      await mkdir(mirror, { recursive: true });
      if (!(await exists(join(mirror, 'HEAD'))))
        await this.#withGit(mirror, call, (git) => git.init(true)).catch((err: unknown) => this.#failed(err));
      const now = new Date();
      await utimes(mirror, now, now);
      // What the mirror held before: a revision refused for its size leaves it exactly so.
      const before = await snapshotMirror(mirror);
      try {
        const commit = await this.#fetchInto(mirror, url, revision, call);
        const artifact = await this.#timed('checkout', () => this.#materialize(mirror, call, commit));
        if (this.#known.size > 10_000) this.#known.clear();
        this.#known.set(`${mirror}\n${commit}`, artifact);
        return artifact;
      } catch (err) {
        if (err instanceof ReconcileError && err.reason === REASON.LimitExceeded)
          await restoreMirror(mirror, before);
        throw err;
      }
    });
  }

  #failed(err: unknown): never {
    const { reason, message } = classifyGitError(err);
    throw new ReconcileError(reason, `git fetch failed: ${message}`, { cause: err });
  }

  /**
   * Fetches `revision` shallowly into the mirror unless it has the commit, and returns the commit.
   * The transfer is watched: once the pack being received passes the total size limit, git is
   * stopped (a multi-GB pack never fills the disk) and the fetch fails with LimitExceeded.
   */
  async #fetchInto(
    mirror: string,
    url: string,
    revision: ResolvedRevision,
    call: GitCallOptions,
  ): Promise<string> {
    // An empty commit: the tip of remoteRef, not asked for first (a push said it moved).
    const have = revision.commit
      ? await this.#withGit(mirror, call, (git) => git.raw(['cat-file', '-t', revision.commit])).catch(
          () => '',
        )
      : '';
    if (have.trim() === 'commit') return revision.commit;
    const cap = this.#opts.limits.maxTotalBytes;
    const stop = new AbortController();
    let over: number | undefined;
    let cancelWatch = () => {};
    const watch = () => {
      cancelWatch = this.#clock.after(TRANSFER_CHECK_MS, () => {
        void incomingBytes(mirror).then((bytes) => {
          if (bytes > cap && over === undefined) {
            over = bytes;
            stop.abort();
          } else if (!stop.signal.aborted) watch();
        });
      });
    };
    watch();
    try {
      return await this.#timed('fetch', () =>
        this.#withGit(mirror, call, (git) => this.#fetchRef(git, mirror, url, revision), {}, stop.signal),
      );
    } catch (err) {
      if (over !== undefined) {
        throw new ReconcileError(
          REASON.LimitExceeded,
          `the fetch was stopped after ${over} bytes, over the limit of ${cap} bytes in total`,
        );
      }
      return this.#failed(err);
    } finally {
      stop.abort();
      cancelWatch();
    }
  }

  /** The fetch itself, and the commit it brought. */
  async #fetchRef(
    fetching: SimpleGit,
    mirror: string,
    url: string,
    revision: ResolvedRevision,
  ): Promise<string> {
    // Every fetched object stays in its pack (none is unpacked loose), so a refused fetch is undone
    // by removing the packs it added.
    const args = [
      '-c',
      'fetch.unpackLimit=1',
      'fetch',
      '--depth=1',
      '--no-tags',
      '--no-recurse-submodules',
      '--',
      url,
    ];
    if (!revision.remoteRef) {
      await fetching.raw([...args, revision.commit]);
      return revision.commit;
    }
    // The tip may have moved since ls-remote: the fetched commit is the revision.
    const local = `refs/shoal/${revision.remoteRef.replace(/^refs\//, '')}`;
    await fetching.raw([...args, `+${revision.remoteRef}:${local}`]);
    // A branch's fetched tip, from FETCH_HEAD (one process fewer); rev-parse peels tags.
    if (revision.remoteRef.startsWith('refs/heads/')) {
      const head = /^([0-9a-f]{40})\t/.exec(
        await readFile(join(mirror, 'FETCH_HEAD'), 'utf8').catch(() => ''),
      );
      if (head?.[1]) return head[1];
    }
    return (await fetching.raw(['rev-parse', '--verify', '--end-of-options', `${local}^{commit}`])).trim();
  }

  async #materialize(mirror: string, call: GitCallOptions, commit: string): Promise<FetchedArtifact> {
    const [sized, commitTime] = await this.#withGit(mirror, call, (git) =>
      Promise.all([
        git.raw(['ls-tree', '-r', '-l', '--full-tree', commit]),
        git.raw(['show', '-s', '--format=%cI', commit]),
      ]),
    );
    const listing = checkLimits(sized, this.#opts.limits);
    const digest = `sha256:${hex(listing)}`;
    const dir = this.artifactDir(digest);
    if (!(await this.hasArtifact(digest))) await this.#checkout(mirror, call, commit, dir);
    return { commit, digest, dir, commitTime: new Date(commitTime.trim()).toISOString() };
  }

  /** Writes the tree of `commit` into `dir` through a temporary index; the rename makes it atomic. */
  async #checkout(mirror: string, call: GitCallOptions, commit: string, dir: string): Promise<void> {
    const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
    const index = `${tmp}.index`;
    await mkdir(tmp, { recursive: true });
    try {
      const env = { GIT_INDEX_FILE: index, GIT_WORK_TREE: tmp };
      // Reads the tree into the temporary index and writes it out: one process. An empty tree (no
      // path matches '.') takes the two-step way.
      await this.#runQuiet(mirror, call, env, ['checkout', '--force', commit, '--', '.']).catch(async () => {
        await this.#withGit(
          mirror,
          call,
          async (g) => {
            await g.raw(['read-tree', commit]);
            await g.raw(['checkout-index', '--all', '--force']);
          },
          env,
        );
      });
      await rename(tmp, dir).catch(async (err: NodeJS.ErrnoException) => {
        // Another fetch of the same tree won the race: its directory is as good as ours.
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
      });
    } finally {
      await rm(tmp, { recursive: true, force: true });
      await rm(index, { force: true });
    }
  }

  /**
   * Removes checked-out trees that no source references and nobody used for `graceMs`, and mirrors
   * unused for `graceMs`. Returns what it removed.
   */
  async collectGarbage(
    keepDigests: ReadonlySet<string>,
    graceMs: number,
  ): Promise<{ artifacts: number; mirrors: number }> {
    const cutoff = this.#clock.now().getTime() - graceMs;
    const removed = { artifacts: 0, mirrors: 0 };
    const keep = new Set([...keepDigests].map((d) => d.replace(/^sha256:/, '')));
    for (const [folder, field] of [
      ['artifacts', 'artifacts'],
      ['mirrors', 'mirrors'],
    ] as const) {
      const base = join(this.#opts.root, folder);
      const names = await readdir(base).catch(() => [] as string[]);
      for (const name of names) {
        if (folder === 'artifacts' && keep.has(name)) continue;
        const path = join(base, name);
        const info = await stat(path).catch(() => undefined);
        if (!info || info.mtimeMs > cutoff) continue;
        if (folder === 'mirrors' && this.#locks.has(path)) continue;
        await rm(path, { recursive: true, force: true });
        removed[field]++;
      }
    }
    return removed;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
