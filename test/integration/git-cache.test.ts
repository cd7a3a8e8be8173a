import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/runtime/clock.ts';
import { NO_CREDENTIALS } from '../../src/source/credentials.ts';
import { DEFAULT_SOURCE_LIMITS, GitCache } from '../../src/source/git-cache.ts';
import { parseLsRemote, resolveRevision } from '../../src/source/revision.ts';
import { type GitHttpServer, startGitHttpServer } from '../support/git-http-server.ts';
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

  it('leaves no timer behind: the deadline of each git call ends with the call', async () => {
    // Nothing in a fetch waits on the clock, so a clock whose timers never fire counts them.
    const clock = new FakeClock();
    const timersRoot = await mkdtemp(join(tmpdir(), 'git-timers-'));
    const counting = new GitCache({
      root: timersRoot,
      policy: { allowFileUrls: true, allowInsecureHttp: false },
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      limits: DEFAULT_SOURCE_LIMITS,
      lsRemoteShareMs: 0,
      clock,
    });
    await repo.commit({ 'timers.yaml': 'kind: ConfigMap\n' }, 'a commit the new cache must fetch');
    const resolved = resolveRevision(
      undefined,
      await counting.lsRemote(repo.url, ['refs/heads/main'], call, true),
    );
    if (typeof resolved === 'string') throw new Error(resolved);
    // An init, a cat-file, the fetch with its transfer watch, ls-tree and show, and the checkout.
    const fetched = await counting.fetch(repo.url, resolved, call);
    expect(await readFile(join(fetched.dir, 'timers.yaml'), 'utf8')).toBe('kind: ConfigMap\n');
    expect(clock.pendingTimers).toBe(0);
    await rm(timersRoot, { recursive: true, force: true });
  });

  it('checks out exactly the tree, nested paths too, and a tree with no files (the two-step way)', async () => {
    await repo.commit({ 'apps/one/cm.yaml': 'kind: ConfigMap\n', 'b.yaml': 'bee\n' }, 'nested');
    const nested = await fetchHead();
    expect(await readFile(join(nested.dir, 'apps/one/cm.yaml'), 'utf8')).toBe('kind: ConfigMap\n');
    expect(await readFile(join(nested.dir, 'b.yaml'), 'utf8')).toBe('bee\n');
    expect(await readdir(dirname(nested.dir))).not.toContainEqual(expect.stringMatching(/\.tmp-|\.index$/));
    // No path matches '.' in an empty tree, so checkout refuses it and read-tree + checkout-index run.
    await repo.git('rm', '-q', '-r', '--', '.');
    await repo.git('commit', '-q', '-m', 'nothing left');
    const empty = await fetchHead();
    expect(empty.digest).not.toBe(nested.digest);
    expect(await readdir(empty.dir)).toEqual([]);
  });
});

/** Every file under `dir` with its size, to compare a mirror before and after a refused fetch. */
async function listing(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    out.set(path.slice(dir.length), (await stat(path)).size);
  }
  return out;
}

const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

// Catalogue A16: a huge pack is stopped while it arrives, and the cache is left as it was.
describe('GitCache size caps while fetching', () => {
  let root: string;
  let repo: TestRepo;
  let server: GitHttpServer;
  const call = { timeoutMs: 60_000, credentials: NO_CREDENTIALS };
  const cache = (limits: Partial<typeof DEFAULT_SOURCE_LIMITS>) =>
    new GitCache({
      root,
      policy: { allowFileUrls: false, allowInsecureHttp: true },
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      limits: { ...DEFAULT_SOURCE_LIMITS, ...limits },
      lsRemoteShareMs: 0,
    });
  const url = () => `${server.url}/${basename(repo.dir)}/.git`;
  const fetchHead = async (c: GitCache) => {
    const resolved = resolveRevision(undefined, await c.lsRemote(url(), ['refs/heads/main'], call, true));
    if (typeof resolved === 'string') throw new Error(resolved);
    return c.fetch(url(), resolved, call);
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'git-cap-'));
    repo = await gitRepo({ 'a.yaml': 'small\n' });
    // A slow link (2 MiB/s), so that the transfer can be seen and stopped as it arrives.
    server = await startGitHttpServer(dirname(repo.dir), 'none', undefined, {
      bytesPerSecond: 2 * 1024 * 1024,
    });
    await fetchHead(cache({}));
  });
  afterAll(async () => {
    await server?.close();
    await rm(root, { recursive: true, force: true });
    await repo.remove();
  });

  it('stops a fetch whose transfer passes the total limit, and returns the mirror to its size before', async () => {
    const before = await listing(join(root, 'mirrors'));
    // 8 MiB that do not compress: the pack is as large as the file.
    await writeFile(join(repo.dir, 'blob.bin'), randomBytes(8 * 1024 * 1024));
    await repo.git('add', '-A');
    await repo.git('commit', '-q', '-m', 'big');
    const sentBefore = server.bytesOut();
    await expect(fetchHead(cache({ maxTotalBytes: 1024 * 1024 }))).rejects.toMatchObject({
      reason: 'LimitExceeded',
      message: expect.stringMatching(
        /^the fetch was stopped after \d+ bytes, over the limit of 1048576 bytes in total$/,
      ),
    });
    // Stopped well before the 8 MiB had crossed.
    expect(server.bytesOut() - sentBefore).toBeLessThan(5 * 1024 * 1024);
    const after = await listing(join(root, 'mirrors'));
    expect(total(after)).toBe(total(before));
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
  });

  it('a revision refused for a file over the limit after it arrived is removed from the mirror too', async () => {
    const before = await listing(join(root, 'mirrors'));
    await expect(fetchHead(cache({ maxFileBytes: 1024 * 1024 }))).rejects.toMatchObject({
      reason: 'LimitExceeded',
      message: expect.stringMatching(
        /^file blob\.bin is 8388608 bytes, over the limit of 1048576 bytes per file$/,
      ),
    });
    const after = await listing(join(root, 'mirrors'));
    expect(total(after)).toBe(total(before));
    // And the cache still works: the next revision within the limits is fetched.
    await repo.git('rm', '-q', 'blob.bin');
    await repo.git('commit', '-q', '-m', 'smaller again');
    await expect(fetchHead(cache({ maxFileBytes: 1024 * 1024 }))).resolves.toMatchObject({
      digest: expect.any(String),
    });
  });
});
