import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type SimpleGit, simpleGit } from 'simple-git';
import { REASON } from '../api/conditions.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import { classifyGitError } from './git-errors.ts';
import type { ResolvedRef } from './revision.ts';
import { allowedProtocols, type UrlPolicy } from './url-policy.ts';

export interface GitCacheOptions {
  /** Directory for mirrors and checked-out artifacts (created). */
  root: string;
  policy: UrlPolicy;
  /** Base environment of git children (PATH); nothing else of the operator's environment leaks in. */
  env: Record<string, string>;
}

/** Per-call settings: the source's timeout and its credentials (as git config in the environment). */
export interface GitCallOptions {
  timeoutMs: number;
  authEnv?: Record<string, string>;
}

export interface FetchedArtifact {
  commit: string;
  /** Directory with the revision's files. */
  dir: string;
  /** sha256 over the tree listing (modes, object ids, paths): the same tree gives the same digest. */
  digest: string;
  commitTime: string;
}

/**
 * Bare mirrors of remote repositories (one per URL, fetched shallowly) and checked-out revisions
 * (one directory per commit). git runs without a shell, with `--` before positional arguments where
 * git accepts it, no terminal prompts, a protocol allow-list, and a hard timeout per child.
 */
export class GitCache {
  readonly #opts: GitCacheOptions;
  /** One operation per mirror at a time: fetches of one URL never interleave. */
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(options: GitCacheOptions) {
    this.#opts = options;
  }

  #env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...this.#opts.env,
      ...extra,
      HOME: join(this.#opts.root, 'home'),
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_ALLOW_PROTOCOL: allowedProtocols(this.#opts.policy),
    };
  }

  /**
   * A simple-git instance whose children see only `env` (simple-git's environment guard drops every
   * ambient variable that changes git's behaviour; the ones set here are allowed by name).
   */
  #git(baseDir: string, call: GitCallOptions, extraEnv: Record<string, string> = {}): SimpleGit {
    const env = this.#env({ ...call.authEnv, ...extraEnv });
    return simpleGit({
      baseDir,
      abort: AbortSignal.timeout(call.timeoutMs),
      timeout: { block: call.timeoutMs },
      allowEnvironment: Object.keys(env),
    }).env(env);
  }

  #mirrorDir(url: string): string {
    return join(this.#opts.root, 'mirrors', createHash('sha256').update(url).digest('hex').slice(0, 24));
  }

  /** Directory of a checked-out commit (it may not exist yet). */
  artifactDir(commit: string): string {
    return join(this.#opts.root, 'artifacts', commit);
  }

  /** Whether `commit` is already checked out locally. */
  hasArtifact(commit: string): Promise<boolean> {
    return exists(this.artifactDir(commit));
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

  /** The commit `ref` points at on the remote: one `git ls-remote`, no fetch. */
  async lsRemote(url: string, ref: ResolvedRef, call: GitCallOptions): Promise<string> {
    if (ref.commit && !ref.remoteRef) return ref.commit;
    const remoteRef = ref.remoteRef ?? '';
    let out: string;
    try {
      await mkdir(join(this.#opts.root, 'home'), { recursive: true });
      out = await this.#git(this.#opts.root, call).listRemote(['--', url, remoteRef]);
    } catch (err) {
      const { reason, message } = classifyGitError(err);
      throw new ReconcileError(reason, `git ls-remote failed: ${message}`, { cause: err });
    }
    const line = out.split('\n').find((l) => l.endsWith(`\t${remoteRef}`));
    const commit = line?.split('\t')[0];
    if (!commit)
      throw new ReconcileError(REASON.RevisionNotFound, `${remoteRef} was not found in the repository`);
    return ref.commit ?? commit;
  }

  /** Fetches `commit` (shallow) into the URL's mirror and checks it out once into its artifact dir. */
  async fetch(url: string, ref: ResolvedRef, commit: string, call: GitCallOptions): Promise<FetchedArtifact> {
    const mirror = this.#mirrorDir(url);
    return this.#withLock(mirror, async () => {
      try {
        await mkdir(mirror, { recursive: true });
        const git = this.#git(mirror, call);
        if (!(await exists(join(mirror, 'HEAD')))) await git.init(true);
        let actual = commit;
        const have = await git.raw(['cat-file', '-t', commit]).catch(() => '');
        if (have.trim() !== 'commit') {
          const fetchArgs = ['fetch', '--depth=1', '--no-tags', '--no-recurse-submodules', '--', url];
          if (ref.commit || !ref.remoteRef) await git.raw([...fetchArgs, commit]);
          else {
            // The tip may have moved since ls-remote; the fetched commit is the revision.
            const local = `refs/shoal/${ref.remoteRef}`;
            await git.raw([...fetchArgs, `+${ref.remoteRef}:${local}`]);
            actual = (await git.raw(['rev-parse', '--verify', `${local}^{commit}`])).trim();
          }
        }
        return await this.#materialize(mirror, call, actual);
      } catch (err) {
        if (err instanceof ReconcileError) throw err;
        const { reason, message } = classifyGitError(err);
        throw new ReconcileError(reason, `git fetch failed: ${message}`, { cause: err });
      }
    });
  }

  async #materialize(mirror: string, call: GitCallOptions, commit: string): Promise<FetchedArtifact> {
    const dir = this.artifactDir(commit);
    const git = this.#git(mirror, call);
    const [listing, commitTime] = await Promise.all([
      git.raw(['ls-tree', '-r', '--full-tree', commit]),
      git.raw(['show', '-s', '--format=%cI', commit]),
    ]);
    if (!(await exists(dir))) await this.#checkout(mirror, call, commit, dir);
    return {
      commit,
      dir,
      digest: `sha256:${createHash('sha256').update(listing).digest('hex')}`,
      commitTime: new Date(commitTime.trim()).toISOString(),
    };
  }

  /** Writes the tree of `commit` into `dir` through a temporary index; the rename makes it atomic. */
  async #checkout(mirror: string, call: GitCallOptions, commit: string, dir: string): Promise<void> {
    const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
    const index = `${tmp}.index`;
    await mkdir(tmp, { recursive: true });
    try {
      const g = this.#git(mirror, call, { GIT_INDEX_FILE: index, GIT_WORK_TREE: tmp });
      await g.raw(['read-tree', commit]);
      await g.raw(['checkout-index', '--all', '--force']);
      await rename(tmp, dir);
    } finally {
      await rm(tmp, { recursive: true, force: true });
      await rm(index, { force: true });
    }
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
