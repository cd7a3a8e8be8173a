import { createHmac } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../support/cluster.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { scrapeMetric } from '../support/metrics.ts';
import { shoalObjects } from '../support/objects.ts';
import { startShoal } from '../support/shoal.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, newNamespace } = useCluster();
const TOKEN = 'webhook-secret-2718';
const hmac = (body: string, token = TOKEN) => createHmac('sha256', token).update(body).digest('hex');

type Signed = { headers: Record<string, string>; body: string };

/** A push payload in each provider's format, naming `url`, signed with `token`. */
const PUSHES: Record<string, (url: string, token?: string) => Signed> = {
  github: (url, token) => {
    const body = JSON.stringify({
      ref: 'refs/heads/main',
      after: 'f'.repeat(40),
      repository: { clone_url: url, full_name: 'acme/deploy' },
    });
    return {
      body,
      headers: { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${hmac(body, token)}` },
    };
  },
  gitlab: (url, token = TOKEN) => {
    const body = JSON.stringify({
      object_kind: 'push',
      ref: 'refs/heads/main',
      project: { git_http_url: url, path_with_namespace: 'acme/deploy' },
    });
    return { body, headers: { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': token } };
  },
  gitea: (url, token) => {
    const body = JSON.stringify({
      ref: 'refs/heads/main',
      repository: { clone_url: url, full_name: 'acme/deploy' },
    });
    return { body, headers: { 'x-gitea-event': 'push', 'x-gitea-signature': hmac(body, token) } };
  },
  bitbucket: (url, token) => {
    const body = JSON.stringify({
      push: { changes: [] },
      repository: { links: { html: { href: url } }, full_name: 'acme/none' },
    });
    return {
      body,
      headers: { 'x-event-key': 'repo:push', 'x-hub-signature': `sha256=${hmac(body, token)}` },
    };
  },
  generic: (url, token) => {
    const body = JSON.stringify({ repository: { url } });
    return { body, headers: { 'x-signature-256': `sha256=${hmac(body, token)}` } };
  },
};

describe('push webhooks', () => {
  let ns: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startShoal>>;
  let o: ReturnType<typeof shoalObjects>;

  const post = async (provider: string, s: Signed) => {
    const res = await fetch(`${shoal.webhookUrl}/hooks/${provider}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...s.headers },
      body: s.body,
    });
    return res.status;
  };
  const lsRemotes = () => scrapeMetric(shoal.metricsUrl, 'shoal_git_requests_total', 'operation="ls-remote"');

  beforeAll(async () => {
    ns = await newNamespace('hooks');
    o = shoalObjects(kube, ns);
    repo = await gitRepo({
      'apps/a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: "0"}\n',
    });
    shoal = await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    await o.secret('hook', { token: TOKEN });
    // A poll interval of an hour: anything that lands sooner came through the webhook.
    await o.source('repo', { url: repo.url, interval: '1h', webhookSecretRef: { name: 'hook' } });
    await o.group('app', { sourceRef: { name: 'repo' }, path: 'apps', interval: '1h' });
    await o.groupAt('app', await repo.head());
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.remove();
  });

  it.each(Object.keys(PUSHES))('a signed %s push lands at once (202)', async (provider) => {
    const commit = await repo.commit({
      'apps/a.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: "${provider}"}\n`,
    });
    expect(await post(provider, (PUSHES[provider] as (u: string) => Signed)(repo.url))).toBe(202);
    await o.groupAt('app', commit, 10_000);
  });

  it('routes by the normalised repository URL (trailing .git and slash, case)', async () => {
    const commit = await repo.commit({
      'apps/b.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n',
    });
    const variant = `FILE://${repo.dir.toUpperCase()}.git/`;
    expect(await post('github', (PUSHES.github as (u: string) => Signed)(variant))).toBe(202);
    await o.sourceAt('repo', commit, 10_000);
  });

  it('refuses what it cannot verify, and triggers nothing', async () => {
    const before = await lsRemotes();
    const revision = (await o.getSource('repo'))?.status?.artifact?.revision;
    await repo.commit({ 'apps/c.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n' });
    const github = PUSHES.github as (u: string, t?: string) => Signed;
    const wrong = github(repo.url, 'not-the-token');
    expect(await post('github', wrong)).toBe(401);
    const { 'x-hub-signature-256': _, ...unsigned } = github(repo.url).headers;
    expect(await post('github', { body: github(repo.url).body, headers: unsigned })).toBe(401);
    expect(await post('gitlab', (PUSHES.gitlab as (u: string, t?: string) => Signed)(repo.url, 'nope'))).toBe(
      401,
    );
    expect(await post('github', github('https://git.example.com/someone/else.git'))).toBe(404);
    expect(await post('nosuchprovider', github(repo.url))).toBe(404);
    expect(await post('github', { body: 'not json', headers: github(repo.url).headers })).toBe(400);
    const big = { repository: { clone_url: repo.url }, padding: 'x'.repeat(2 * 1024 * 1024) };
    const bigBody = JSON.stringify(big);
    expect(
      await post('github', { body: bigBody, headers: { 'x-hub-signature-256': `sha256=${hmac(bigBody)}` } }),
    ).toBe(413);
    // Give a wrongly triggered reconcile time to show up as an ls-remote.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await lsRemotes()).toBe(before);
    expect((await o.getSource('repo'))?.status?.artifact?.revision).toBe(revision);
  });

  it('answers a signed ping with 2xx and does nothing', async () => {
    const before = await lsRemotes();
    const body = JSON.stringify({ zen: 'Keep it logically awesome.', repository: { clone_url: repo.url } });
    const status = await post('github', {
      body,
      headers: { 'x-github-event': 'ping', 'x-hub-signature-256': `sha256=${hmac(body)}` },
    });
    expect(status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    expect(await lsRemotes()).toBe(before);
  });

  it('triggers only the sources whose branch or tag the push moved, and answers 200 to the rest', async () => {
    const before = await lsRemotes();
    const fetches = () => scrapeMetric(shoal.metricsUrl, 'shoal_git_requests_total', 'operation="fetch"');
    const fetchesBefore = await fetches();
    const ignored = () =>
      scrapeMetric(shoal.metricsUrl, 'shoal_webhook_requests_total', 'provider="github",result="ignored"');
    const ignoredBefore = await ignored();
    const revision = (await o.getSource('repo'))?.status?.artifact?.revision;
    const commit = await repo.commit({
      'apps/e.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: e}\n',
    });
    const push = (ref: string): Signed => {
      const body = JSON.stringify({ ref, repository: { clone_url: repo.url } });
      return { body, headers: { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${hmac(body)}` } };
    };
    // The source follows main (it names no ref): a feature branch or a tag does not move it.
    expect(await post('github', push('refs/heads/feature'))).toBe(200);
    expect(await post('github', push('refs/tags/v9'))).toBe(200);
    await new Promise((r) => setTimeout(r, 1_000));
    // A trigger would have fetched main at once (the push fast path), without an ls-remote.
    expect(await fetches()).toBe(fetchesBefore);
    expect(await lsRemotes()).toBe(before);
    expect((await o.getSource('repo'))?.status?.artifact?.revision).toBe(revision);
    expect(await ignored()).toBe(ignoredBefore + 2);
    expect(await post('github', push('refs/heads/main'))).toBe(202);
    await o.sourceAt('repo', commit, 10_000);
  });

  it('checks the declared body size before reading it', async () => {
    const url = new URL(shoal.webhookUrl);
    const answer = await new Promise<string>((resolve, reject) => {
      const sock = connect(Number(url.port), url.hostname, () => {
        sock.write(
          'POST /hooks/github HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{"a":',
        );
      });
      let data = '';
      sock.on('data', (b) => {
        data += b.toString();
        if (data.includes('\r\n\r\n')) {
          sock.destroy();
          resolve(data);
        }
      });
      sock.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
  });

  it('coalesces a burst of pushes into one fetch', async () => {
    const commit = await repo.commit({
      'apps/d.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n',
    });
    const fetchesBefore = await scrapeMetric(
      shoal.metricsUrl,
      'shoal_git_requests_total',
      'operation="fetch",result="success"',
    );
    const statuses = await Promise.all(
      Array.from({ length: 30 }, () => post('generic', (PUSHES.generic as (u: string) => Signed)(repo.url))),
    );
    expect(statuses.every((s) => s === 202)).toBe(true);
    await o.sourceAt('repo', commit, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(
      await scrapeMetric(shoal.metricsUrl, 'shoal_git_requests_total', 'operation="fetch",result="success"'),
    ).toBe(fetchesBefore + 1);
  });

  /** A request that never finishes its body, from `localAddress` (every 127/8 address is loopback). */
  const slowRequest = (localAddress: string) => {
    const url = new URL(shoal.webhookUrl);
    return new Promise<Socket>((resolve) => {
      const s = connect({ port: Number(url.port), host: url.hostname, localAddress }, () => {
        s.write('POST /hooks/generic HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{');
        resolve(s);
      });
      s.on('error', () => {});
    });
  };

  it('answers 429 when saturated, instead of queueing without bound', async () => {
    // 64 requests that never finish their bodies, from two hosts, hold every verification slot.
    const held: Socket[] = [];
    for (const host of ['127.0.0.2', '127.0.0.3'])
      for (let i = 0; i < 32; i++) held.push(await slowRequest(host));
    await new Promise((r) => setTimeout(r, 300));
    expect(await post('generic', (PUSHES.generic as (u: string) => Signed)(repo.url))).toBe(429);
    for (const s of held) s.destroy();
  });

  it('closes connections from one host beyond 32 at once, so one host cannot take every slot', async () => {
    const held: Socket[] = [];
    for (let i = 0; i < 40; i++) held.push(await slowRequest('127.0.0.4'));
    await waitFor('connections past the limit closed', () => held.filter((s) => s.destroyed).length >= 8);
    expect(held.filter((s) => s.destroyed)).toHaveLength(8);
    // Another host is still served.
    const commit = await repo.commit({
      'apps/a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: "per-host"}\n',
    });
    expect(await post('generic', (PUSHES.generic as (u: string) => Signed)(repo.url))).toBe(202);
    await o.groupAt('app', commit, 10_000);
    for (const s of held) s.destroy();
  });

  it('closes a connection that sends no headers within 10 s, checked every second', async () => {
    const s = await new Promise<Socket>((resolve) => {
      const url = new URL(shoal.webhookUrl);
      const c = connect({ port: Number(url.port), host: url.hostname }, () => {
        c.write('POST /hooks/generic HTTP/1.1\r\n');
        resolve(c);
      });
      c.resume(); // read the 408, so the close arrives
    });
    const opened = Date.now();
    const closedAt = await new Promise<number>((resolve) => s.on('close', () => resolve(Date.now())));
    // Node's default check interval (30 s) would keep it until about 30 s.
    expect(closedAt - opened).toBeLessThan(20_000);
  });
});
