import { mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_CREDENTIALS } from '../../src/source/credentials.ts';
import { DEFAULT_SOURCE_LIMITS, GitCache } from '../../src/source/git-cache.ts';
import { parseLsRemote, resolveRevision } from '../../src/source/revision.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';

// The git cache against real repositories: content addressing and garbage collection.
describe('GitCache', () => {
  let root: string;
  let repo: TestRepo;
  let cache: GitCache;
  const call = { timeoutMs: 30_000, credentials: NO_CREDENTIALS };
  const fetchHead = async () => {
    const resolved = resolveRevision(
      undefined,
      await cache.lsRemote(repo.url, ['refs/heads/main'], call, true),
    );
    if (typeof resolved === 'string') throw new Error(resolved);
    return cache.fetch(repo.url, resolved, call);
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'git-cache-'));
    repo = await gitRepo({ 'a.yaml': 'one\n' });
    cache = new GitCache({
      root,
      policy: { allowFileUrls: true, allowInsecureHttp: false },
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      limits: DEFAULT_SOURCE_LIMITS,
      lsRemoteShareMs: 0,
    });
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
    await repo.remove();
  });

  it('checks out one directory per tree: two commits with the same content share it', async () => {
    const first = await fetchHead();
    await repo.commit({}, 'empty commit, same tree');
    const second = await fetchHead();
    expect(second.commit).not.toBe(first.commit);
    expect(second.digest).toBe(first.digest);
    expect(second.dir).toBe(first.dir);
    expect(parseLsRemote('')).toEqual(new Map());
  });

  it('collects trees nobody references once they are older than the grace period, and keeps the rest', async () => {
    const old = await fetchHead();
    await repo.commit({ 'a.yaml': 'two\n' });
    const current = await fetchHead();
    expect(current.digest).not.toBe(old.digest);
    const past = new Date(Date.now() - 3_600_000);
    await utimes(old.dir, past, past);
    const removed = await cache.collectGarbage(new Set([current.digest]), 60_000);
    expect(removed.artifacts).toBe(1);
    const left = await readdir(join(root, 'artifacts'));
    expect(left).toEqual([current.digest.replace('sha256:', '')]);
    expect(await cache.hasArtifact(current.digest)).toBe(true);
    expect(await cache.hasArtifact(old.digest)).toBe(false);
  });
});
