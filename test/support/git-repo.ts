import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A file's content, or a symlink to `target`. */
export type RepoEntry = string | { symlink: string };

/** A real throwaway git repository built from an inline `{path: content}` map (changesets' gitdir). */
export interface TestRepo {
  dir: string;
  url: string;
  /** Writes (or with `null`, deletes) files and commits them; returns the new commit. */
  commit(files: Record<string, RepoEntry | null>, message?: string): Promise<string>;
  head(): Promise<string>;
  /** Runs any git command in the repository (tags, branch deletion, history rewrites). */
  git(...args: string[]): Promise<string>;
  remove(): Promise<void>;
}

async function git(dir: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('git', args, {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, GIT_CONFIG_NOSYSTEM: '1' },
  });
  return stdout.trim();
}

export async function gitRepo(files: Record<string, RepoEntry>, branch = 'main'): Promise<TestRepo> {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-repo-'));
  await git(dir, 'init', '-q', '-b', branch);
  await git(dir, 'config', 'user.email', 'test@shoal.dev');
  await git(dir, 'config', 'user.name', 'Shoal test');
  const repo: TestRepo = {
    dir,
    url: `file://${dir}`,
    async commit(changes, message = 'change') {
      for (const [path, entry] of Object.entries(changes)) {
        const abs = join(dir, path);
        if (entry === null) {
          await rm(abs, { recursive: true, force: true });
          continue;
        }
        await mkdir(dirname(abs), { recursive: true });
        if (typeof entry === 'string') await writeFile(abs, entry);
        else await symlink(entry.symlink, abs);
      }
      await git(dir, 'add', '-A');
      await git(dir, 'commit', '-q', '--allow-empty', '-m', message);
      return repo.head();
    },
    head: () => git(dir, 'rev-parse', 'HEAD'),
    git: (...args) => git(dir, ...args),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
  await repo.commit(files, 'initial');
  return repo;
}
