import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePki } from '../controlplane/pki.ts';
import { useCluster } from '../support/cluster.ts';
import { type GitHttpServer, startGitHttpServer } from '../support/git-http-server.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { scrapeMetric } from '../support/metrics.ts';
import { shoalObjects } from '../support/objects.ts';
import { startShoal } from '../support/shoal.ts';
import { startSshd, type TestSshd } from '../support/sshd.ts';

const { cp, kube, newNamespace } = useCluster();
const cm = (name: string, v: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {v: "${v}"}\n`;

describe('refs and polling', () => {
  let ns: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startShoal>>;
  let o: ReturnType<typeof shoalObjects>;

  beforeAll(async () => {
    ns = await newNamespace('refs');
    o = shoalObjects(kube, ns);
    repo = await gitRepo({ 'apps/a.yaml': cm('a', '0.9') });
    await repo.git('tag', 'v0.9.0');
    await repo.commit({ 'apps/a.yaml': cm('a', '1.0') });
    await repo.git('tag', '-a', 'v1.0.0', '-m', 'release 1.0.0');
    await repo.commit({ 'apps/a.yaml': cm('a', '1.2') });
    await repo.git('tag', '-a', 'v1.2.0', '-m', 'release 1.2.0');
    await repo.commit({ 'apps/a.yaml': cm('a', 'main') });
    shoal = await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.remove();
  });

  it('a tag resolves to its commit, not to the annotated tag object', async () => {
    const commit = await repo.git('rev-parse', 'v1.0.0^{commit}');
    await o.source('tag', { url: repo.url, ref: { tag: 'v1.0.0' }, interval: '1s' });
    const s = await o.sourceAt('tag', commit);
    expect(s.status?.artifact?.revision).toBe(`v1.0.0@sha1:${commit}`);
  });

  it('a semver range follows the highest matching tag, including new ones', async () => {
    await o.source('semver', { url: repo.url, ref: { semver: '^1.0.0' }, interval: '1s' });
    const v12 = await repo.git('rev-parse', 'v1.2.0^{commit}');
    expect((await o.sourceAt('semver', v12)).status?.artifact?.revision).toBe(`v1.2.0@sha1:${v12}`);
    const next = await repo.commit({ 'apps/a.yaml': cm('a', '1.10') });
    await repo.git('tag', 'v1.10.0');
    await repo.git('tag', 'v2.0.0');
    expect((await o.sourceAt('semver', next)).status?.artifact?.revision).toBe(`v1.10.0@sha1:${next}`);
  });

  it('a pinned commit stays put while the branch moves', async () => {
    const pinned = await repo.git('rev-parse', 'v0.9.0^{commit}');
    await o.source('pinned', { url: repo.url, ref: { commit: pinned }, interval: '1s' });
    expect((await o.sourceAt('pinned', pinned)).status?.artifact?.revision).toBe(`${pinned}@sha1:${pinned}`);
    await repo.commit({ 'apps/b.yaml': cm('b', 'x') });
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await o.getSource('pinned'))?.status?.artifact?.revision).toBe(`${pinned}@sha1:${pinned}`);
  });

  it('a force-pushed branch is followed like any new commit', async () => {
    await repo.git('checkout', '-q', '-b', 'rewrite');
    const first = await repo.commit({ 'apps/a.yaml': cm('a', 'before') });
    await o.source('rewrite', { url: repo.url, ref: { branch: 'rewrite' }, interval: '1s' });
    await o.group('rewrite', { sourceRef: { name: 'rewrite' }, path: 'apps', interval: '1h' });
    await o.groupAt('rewrite', first);
    await repo.git('reset', '-q', '--hard', 'HEAD~1');
    const rewritten = await repo.commit({ 'apps/a.yaml': cm('a', 'after') });
    await o.groupAt('rewrite', rewritten);
    const cmNow = await kube.get<{ data: { v: string } }>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: ns,
      name: 'a',
    });
    expect(cmNow?.data.v).toBe('after');
    await repo.git('checkout', '-q', 'main');
  });

  it('a deleted branch is RevisionNotFound, and the group keeps its last applied state', async () => {
    const before = await o.getGroup('rewrite');
    await repo.git('branch', '-q', '-D', 'rewrite');
    const s = await o.sourceReason('rewrite', 'RevisionNotFound');
    expect(o.ready(s)?.message).toContain('branch rewrite was not found');
    expect(s.status?.artifact?.revision).toBe(before?.status?.lastAppliedRevision);
    const after = await o.getGroup('rewrite');
    expect(after?.status?.lastAppliedRevision).toBe(before?.status?.lastAppliedRevision);
    expect(after?.status?.inventory).toEqual(before?.status?.inventory);
  });

  it('a poll with no new commit is one ls-remote and no fetch; sources of one URL share a fetch', async () => {
    const head = await repo.head();
    for (const name of ['same-1', 'same-2', 'same-3'])
      await o.source(name, { url: repo.url, interval: '1s' });
    for (const name of ['same-1', 'same-2', 'same-3']) await o.sourceAt(name, head);
    const fetches = await scrapeMetric(
      shoal.metricsUrl,
      'shoal_git_requests_total',
      'operation="fetch",result="success"',
    );
    const lsRemotes = await scrapeMetric(
      shoal.metricsUrl,
      'shoal_git_requests_total',
      'operation="ls-remote",result="success"',
    );
    await new Promise((r) => setTimeout(r, 3_000));
    expect(
      await scrapeMetric(shoal.metricsUrl, 'shoal_git_requests_total', 'operation="fetch",result="success"'),
    ).toBe(fetches);
    expect(
      await scrapeMetric(
        shoal.metricsUrl,
        'shoal_git_requests_total',
        'operation="ls-remote",result="success"',
      ),
    ).toBeGreaterThan(lsRemotes);
    const next = await repo.commit({ 'apps/c.yaml': cm('c', 'new') });
    for (const name of ['same-1', 'same-2', 'same-3']) await o.sourceAt(name, next);
    // The tag and semver sources also fetched nothing new; the three branch sources fetched once.
    expect(
      await scrapeMetric(shoal.metricsUrl, 'shoal_git_requests_total', 'operation="fetch",result="success"'),
    ).toBe(fetches + 1);
  });
});

describe('authentication against real servers', () => {
  let ns: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  const servers: GitHttpServer[] = [];
  let sshd: TestSshd;
  const password = 'pa55-w0rd-never-shown';
  let repoPath: string;

  beforeAll(async () => {
    ns = await newNamespace('auth');
    o = shoalObjects(kube, ns);
    repo = await gitRepo({ 'apps/a.yaml': cm('a', 'auth') });
    const root = join(repo.dir, '..');
    repoPath = `${repo.dir.slice(root.length)}/.git`;
    await writePki(join(repo.dir, '.pki'));
    servers.push(await startGitHttpServer(root, { basic: { username: 'bob', password } }));
    servers.push(await startGitHttpServer(root, { bearer: 'tok-3141592653' }));
    servers.push(
      await startGitHttpServer(root, 'none', {
        certFile: join(repo.dir, '.pki', 'apiserver.crt'),
        keyFile: join(repo.dir, '.pki', 'apiserver.key'),
      }),
    );
    sshd = await startSshd();
    shoal = await startShoal({
      kubeconfig: cp.kubeconfig,
      namespace: ns,
      extraArgs: ['--allow-insecure-http'],
    });
  });

  afterAll(async () => {
    await shoal?.stop();
    await Promise.all(servers.map((s) => s.close()));
    await sshd?.stop();
    await repo?.remove();
  });

  it('HTTPS basic auth: the right password fetches; a wrong one is AuthenticationFailed, shown nowhere', async () => {
    const [basic] = servers as [GitHttpServer];
    await o.secret('good', { username: 'bob', password });
    await o.secret('bad', { username: 'bob', password: `${password}-wrong` });
    await o.source('basic-good', {
      url: `${basic.url}${repoPath}`,
      secretRef: { name: 'good' },
      interval: '1m',
    });
    await o.source('basic-bad', {
      url: `${basic.url}${repoPath}`,
      secretRef: { name: 'bad' },
      interval: '1m',
    });
    await o.sourceAt('basic-good', await repo.head());
    const bad = await o.sourceReason('basic-bad', 'AuthenticationFailed');
    expect(bad.status?.artifact).toBeUndefined();
    const all = `${await o.everything()}${JSON.stringify(shoal.logs)}`;
    expect(all).not.toContain(password);
    expect(all).not.toContain(Buffer.from(`bob:${password}`).toString('base64'));
  });

  it('HTTPS bearer token', async () => {
    await o.secret('bearer', { bearerToken: 'tok-3141592653' });
    await o.source('bearer', {
      url: `${servers[1]?.url}${repoPath}`,
      secretRef: { name: 'bearer' },
      interval: '1m',
    });
    await o.sourceAt('bearer', await repo.head());
    expect(JSON.stringify(shoal.logs)).not.toContain('tok-3141592653');
  });

  it('a custom CA: trusted with ca.crt, refused without it', async () => {
    const { readFile } = await import('node:fs/promises');
    const ca = await readFile(join(repo.dir, '.pki', 'ca.crt'), 'utf8');
    await o.secret('ca', { 'ca.crt': ca });
    const url = `${servers[2]?.url}${repoPath}`.replace('http://', 'https://');
    await o.source('tls-ca', { url, secretRef: { name: 'ca' }, interval: '1m' });
    await o.source('tls-noca', { url, interval: '1m' });
    await o.sourceAt('tls-ca', await repo.head());
    const refused = await o.sourceReason('tls-noca', 'SourceUnavailable');
    expect(o.ready(refused)?.message).toMatch(/certificate/i);
  });

  it('SSH: a key with known_hosts fetches; an unknown host key is refused (strict checking)', async () => {
    await o.secret('ssh', { identity: sshd.identity, known_hosts: sshd.knownHosts });
    await o.secret('ssh-wrong-host', {
      identity: sshd.identity,
      known_hosts: `[127.0.0.1]:${sshd.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHNoYWxsIG5ldmVyIG1hdGNoIGEgcmVhbCBob3N0IGtleQ==\n`,
    });
    await o.secret('ssh-no-known-hosts', { identity: sshd.identity });
    await o.source('ssh', { url: sshd.urlFor(repo.dir), secretRef: { name: 'ssh' }, interval: '1m' });
    await o.source('ssh-wrong-host', {
      url: sshd.urlFor(repo.dir),
      secretRef: { name: 'ssh-wrong-host' },
      interval: '1m',
    });
    await o.source('ssh-no-kh', {
      url: sshd.urlFor(repo.dir),
      secretRef: { name: 'ssh-no-known-hosts' },
      interval: '1m',
    });
    await o.sourceAt('ssh', await repo.head());
    const wrong = await o.sourceReason('ssh-wrong-host', 'AuthenticationFailed');
    expect(o.ready(wrong)?.message).toMatch(/host key/i);
    const noKh = await o.sourceReason('ssh-no-kh', 'InvalidSpec');
    expect(noKh.status?.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('True');
    const all = `${await o.everything()}${JSON.stringify(shoal.logs)}`;
    expect(all).not.toContain(sshd.identity.split('\n')[1]);
  });
});

describe('unreachable and hostile sources leave the last applied state alone', () => {
  let ns: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  let blackHole: Server;
  const sockets: Socket[] = [];
  const closed = new Set<Socket>();
  let good: { lastAppliedRevision?: string; inventory?: unknown };

  beforeAll(async () => {
    ns = await newNamespace('hostile');
    o = shoalObjects(kube, ns);
    // Two groups use this repository, each with objects of its own (one object, one owner).
    repo = await gitRepo({ 'apps/a.yaml': cm('a', 'good'), 'private/p.yaml': cm('p', 'good') });
    blackHole = createServer((s) => {
      sockets.push(s);
      s.resume();
      s.on('close', () => closed.add(s));
    });
    await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r));
    shoal = await startShoal({
      kubeconfig: cp.kubeconfig,
      namespace: ns,
      extraArgs: ['--allow-file-urls', '--allow-insecure-http'],
    });
    await o.source('repo', { url: repo.url, interval: '1s' });
    await o.group('app', { sourceRef: { name: 'repo' }, path: 'apps', interval: '1h' });
    const g = await o.groupAt('app', await repo.head());
    good = { lastAppliedRevision: g.status?.lastAppliedRevision, inventory: g.status?.inventory };
  });

  afterAll(async () => {
    await shoal?.stop();
    for (const s of sockets) s.destroy();
    blackHole?.close();
    await repo?.remove();
  });

  it('wrong credentials or an unreachable host on a synced source keep the group as it was, secret-free', async () => {
    const server = await startGitHttpServer(join(repo.dir, '..'), {
      basic: { username: 'amy', password: 'right-pass-1' },
    });
    try {
      const url = `${server.url}${repo.dir.slice(join(repo.dir, '..').length)}/.git`;
      await o.secret('creds', { username: 'amy', password: 'right-pass-1' });
      await o.source('private', { url, secretRef: { name: 'creds' }, interval: '1s' });
      await o.group('private', { sourceRef: { name: 'private' }, path: 'private', interval: '2s' });
      const synced = await o.groupAt('private', await repo.head());
      const check = async () => {
        const g = await o.getGroup('private');
        expect(g?.status?.lastAppliedRevision).toBe(synced.status?.lastAppliedRevision);
        expect(g?.status?.inventory).toEqual(synced.status?.inventory);
        expect(o.ready(g)?.status).toBe('True');
      };
      await o.secret('creds', { username: 'amy', password: 'wrong-pass-2' });
      const denied = await o.sourceReason('private', 'AuthenticationFailed');
      expect(denied.status?.artifact?.revision).toBe(synced.status?.lastAppliedRevision);
      await new Promise((r) => setTimeout(r, 2_500));
      await check();
      await o.secret('creds', { username: 'amy', password: 'right-pass-1' });
      await o.source('private', {
        url: 'http://127.0.0.1:9/nowhere.git',
        secretRef: { name: 'creds' },
        interval: '1s',
      });
      await o.sourceReason('private', 'SourceUnavailable');
      await new Promise((r) => setTimeout(r, 2_500));
      await check();
      const all = `${await o.everything()}${JSON.stringify(shoal.logs)}`;
      expect(all).not.toContain('wrong-pass-2');
      expect(all).not.toContain('right-pass-1');
    } finally {
      await server.close();
    }
  });

  it('path: ../.. is refused by the API server; the stored group is unchanged', async () => {
    const before = await o.getGroup('app');
    await expect(
      o.group('app', { sourceRef: { name: 'repo' }, path: '../..', interval: '1h' }),
    ).rejects.toThrow(/path must be relative and must not contain \.\./);
    const after = await o.getGroup('app');
    expect(after?.spec.path).toBe('apps');
    expect(after?.status?.inventory).toEqual(before?.status?.inventory);
  });

  it('an unreachable host is SourceUnavailable', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    await o.source('unreachable', { url: `http://127.0.0.1:${port}/r.git`, interval: '1m' });
    const s = await o.sourceReason('unreachable', 'SourceUnavailable');
    expect(o.ready(s)?.message).toMatch(/connect|refused|unable to access/i);
  });

  it('a black-holed server is cut off at spec.timeout and the git process is killed', async () => {
    const port = (blackHole.address() as { port: number }).port;
    const started = Date.now();
    await o.source('blackhole', { url: `http://127.0.0.1:${port}/r.git`, interval: '1m', timeout: '2s' });
    const s = await o.sourceReason('blackhole', 'SourceUnavailable', 20_000);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(o.ready(s)?.message).toMatch(/abort|timed out|timeout/i);
    // git's helper (git-remote-http) is killed with git: the server sees the first connection close.
    await new Promise((r) => setTimeout(r, 500));
    expect(sockets.length).toBeGreaterThan(0);
    expect(closed.has(sockets[0] as Socket)).toBe(true);
  });

  it('a symlink to /etc/passwd is refused and its target appears nowhere', async () => {
    const bad = await repo.commit({ 'apps/passwd.yaml': { symlink: '/etc/passwd' } });
    const g = await o.groupReason('app', 'SecurityViolation');
    expect(o.ready(g)?.message).toContain('symlink passwd.yaml points outside the repository');
    expect(g.status?.lastAttemptedRevision).toContain(bad);
    expect(g.status?.lastAppliedRevision).toBe(good.lastAppliedRevision);
    expect(g.status?.inventory).toEqual(good.inventory);
    const all = `${await o.everything()}${JSON.stringify(shoal.logs)}`;
    expect(all).not.toContain('root:x:0:0');
    await repo.commit({ 'apps/passwd.yaml': null });
  });

  it('a 100 MB file is LimitExceeded, naming the file and the limit', async () => {
    await o.groupAt('app', await repo.head());
    const applied = (await o.getGroup('app'))?.status?.lastAppliedRevision;
    await repo.commit({ 'apps/huge.yaml': `# ${'x'.repeat(100 * 1024 * 1024)}\n` });
    const s = await o.sourceReason('repo', 'LimitExceeded', 60_000);
    expect(o.ready(s)?.message).toMatch(
      /file apps\/huge\.yaml is \d+ bytes, over the limit of 67108864 bytes per file/,
    );
    const g = await o.getGroup('app');
    expect(g?.status?.lastAppliedRevision).toBe(applied);
    expect(s.status?.artifact?.revision).toBe(applied);
    await repo.commit({ 'apps/huge.yaml': null });
  });
});
