// Git source figures on loopback: push-to-artifact latency through the webhook and through polling,
// what a push to another branch and a poll with nothing new cost, and what 100 GitSources on one
// repository cost.
//
//   npm run bench -- git-sources [--pushes 50] [--polled 20] [--interval 2s] [--sources 100] [--json out.json]

import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs, promisify } from 'node:util';
import { parseDuration } from '../src/api/duration.ts';
import type { GitSource } from '../src/api/git-source.ts';
import { startGitHttpServer } from '../test/support/git-http-server.ts';
import { sumMetric } from '../test/support/metrics.ts';
import { startOperator } from '../test/support/operator.ts';
import { startCluster } from '../test/support/test-cluster.ts';
import { waitFor } from '../test/support/wait.ts';
import { percentile } from './stats.ts';

const run = promisify(execFile);
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    pushes: { type: 'string', default: '50' },
    polled: { type: 'string', default: '20' },
    interval: { type: 'string', default: '2s' },
    sources: { type: 'string', default: '100' },
    json: { type: 'string' },
  },
});
const say = (s: string) => process.stderr.write(`${s}\n`);
const TOKEN = 'bench-token';

const dir = await mkdtemp(join(tmpdir(), 'shoal-bench-git-'));
const cluster = await startCluster({ log: say });
const serverRoot = join(dir, 'srv');
await mkdir(serverRoot, { recursive: true });
const bare = join(serverRoot, 'deploy.git');
const work = join(dir, 'work');
const git = (cwd: string, ...args: string[]) =>
  run('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@shoal.dev', ...args], { cwd }).then((r) =>
    r.stdout.trim(),
  );
await run('git', ['init', '-q', '--bare', '-b', 'main', bare]);
await run('git', ['init', '-q', '-b', 'main', work]);
await git(work, 'remote', 'add', 'origin', bare);
let n = 0;
/** Commits a change and pushes it to the served repository; returns the commit. */
const push = async () => {
  n++;
  await mkdir(join(work, 'apps'), { recursive: true });
  await writeFile(
    join(work, 'apps', 'cm.yaml'),
    `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bench}\ndata: {n: "${n}"}\n`,
  );
  await git(work, 'add', '-A');
  await git(work, 'commit', '-q', '-m', `change ${n}`);
  await git(work, 'push', '-q', 'origin', 'main');
  return git(work, 'rev-parse', 'HEAD');
};
await push();
const server = await startGitHttpServer(serverRoot, 'none');
const repoUrl = `${server.url}/deploy.git`;

try {
  const { kube } = cluster;
  const operator = await startOperator({
    kubeconfig: cluster.cp.kubeconfig,
    kustomize: cluster.kustomize,
    logLevel: 'error',
    extraArgs: ['--allow-insecure-http', '--concurrency=8'],
  });
  const hookUrl = `${operator.webhookUrl}/hooks/github`;
  /** A GitHub push event for `ref` moved to `after`, signed with the source's webhook token. */
  const signedPush = (ref: string, after: string) => {
    const body = JSON.stringify({ ref, after, repository: { clone_url: repoUrl } });
    return fetch(hookUrl, {
      method: 'POST',
      headers: {
        'x-github-event': 'push',
        'x-hub-signature-256': `sha256=${createHmac('sha256', TOKEN).update(body).digest('hex')}`,
      },
      body,
    });
  };
  const metricsUrl = `${operator.metricsUrl}/metrics`;
  const gitCount = async (op: string) =>
    sumMetric(await (await fetch(metricsUrl)).text(), 'shoal_git_requests_total', `operation="${op}"`);
  const revisionOf = async (ns: string, name: string) =>
    (await kube.get<GitSource>({ apiVersion: 'shoal.dev/v1alpha1', kind: 'GitSource', namespace: ns, name }))
      ?.status?.artifact?.revision ?? '';
  // Polled every 5 ms (the figure's resolution), with a deadline.
  const waitRevision = (ns: string, name: string, commit: string) =>
    waitFor(
      `${ns}/${name} at ${commit.slice(0, 8)}`,
      async () => (await revisionOf(ns, name)).endsWith(commit),
      {
        timeoutMs: 120_000,
        intervalMs: 5,
      },
    );
  const source = (ns: string, name: string, interval: string) =>
    kube.apply({
      apiVersion: 'shoal.dev/v1alpha1',
      kind: 'GitSource',
      metadata: { name, namespace: ns },
      spec: { url: repoUrl, interval, webhookSecretRef: { name: 'hook' } },
    });

  // 1. Webhook: push, send a signed GitHub push event, time until status.artifact has the commit.
  await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'hook' } });
  await kube.apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'hook', namespace: 'hook' },
    stringData: { token: TOKEN },
  });
  await source('hook', 'repo', '1h');
  await waitRevision('hook', 'repo', await git(work, 'rev-parse', 'HEAD'));
  const webhook: number[] = [];
  for (let i = 0; i < Number(values.pushes); i++) {
    const commit = await push();
    const t0 = performance.now();
    const res = await signedPush('refs/heads/main', commit);
    if (res.status !== 202) throw new Error(`webhook answered ${res.status}`);
    await waitRevision('hook', 'repo', commit);
    webhook.push(performance.now() - t0);
  }
  say(`webhook: ${webhook.length} pushes, p50 ${percentile(webhook, 50).toFixed(0)} ms`);

  // 1b. Pushes to other branches (feature work, pull requests) move nothing the source follows: what
  // does each cost? Counted in git commands, with the source's poll an hour away; 200 ms apart, as a
  // burst is coalesced into one reconcile.
  const otherBefore = { ls: await gitCount('ls-remote'), fetch: await gitCount('fetch') };
  const otherAnswers = new Map<number, number>();
  for (let i = 0; i < Number(values.pushes); i++) {
    const res = await signedPush(`refs/heads/feature-${i}`, 'f'.repeat(40));
    otherAnswers.set(res.status, (otherAnswers.get(res.status) ?? 0) + 1);
    await sleep(200);
  }
  await sleep(1_000);
  const otherBranches = {
    pushes: Number(values.pushes),
    answers: Object.fromEntries(otherAnswers),
    lsRemotes: (await gitCount('ls-remote')) - otherBefore.ls,
    fetches: (await gitCount('fetch')) - otherBefore.fetch,
  };
  say(`pushes to other branches: ${JSON.stringify(otherBranches)}`);

  // 2. Polling: push at a random phase of the interval, time until the artifact has the commit.
  const intervalMs = parseDuration(values.interval);
  await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'poll' } });
  await kube.apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'hook', namespace: 'poll' },
    stringData: { token: TOKEN },
  });
  await kube.delete({
    apiVersion: 'shoal.dev/v1alpha1',
    kind: 'GitSource',
    metadata: { name: 'repo', namespace: 'hook' },
  });
  await source('poll', 'repo', values.interval);
  await waitRevision('poll', 'repo', await git(work, 'rev-parse', 'HEAD'));
  const polled: number[] = [];
  for (let i = 0; i < Number(values.polled); i++) {
    await sleep(Math.random() * intervalMs);
    const commit = await push();
    const t0 = performance.now();
    await waitRevision('poll', 'repo', commit);
    polled.push(performance.now() - t0);
  }
  say(`polling: ${polled.length} pushes, p50 ${percentile(polled, 50).toFixed(0)} ms`);

  // 3. A poll with nothing new: git commands and HTTP traffic per poll, over ten polls.
  const polls = 10;
  const before = {
    ls: await gitCount('ls-remote'),
    fetch: await gitCount('fetch'),
    requests: server.requests.length,
    bytes: server.bytesOut(),
  };
  await sleep(polls * intervalMs);
  const idle = {
    lsRemotePerPoll: ((await gitCount('ls-remote')) - before.ls) / polls,
    fetchesPerPoll: ((await gitCount('fetch')) - before.fetch) / polls,
    httpRequestsPerPoll: (server.requests.length - before.requests) / polls,
    bytesServedPerPoll: (server.bytesOut() - before.bytes) / polls,
  };
  say(`idle poll: ${JSON.stringify(idle)}`);

  // 4. 100 GitSources on one repository: cold start until all have the revision, then steady polls.
  await kube.delete({
    apiVersion: 'shoal.dev/v1alpha1',
    kind: 'GitSource',
    metadata: { name: 'repo', namespace: 'poll' },
  });
  const count = Number(values.sources);
  await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'many' } });
  await kube.apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'hook', namespace: 'many' },
    stringData: { token: TOKEN },
  });
  const head = await push();
  const manyBefore = {
    ls: await gitCount('ls-remote'),
    fetch: await gitCount('fetch'),
    requests: server.requests.length,
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: count }, (_, i) => source('many', `s${i}`, '10s')));
  for (let i = 0; i < count; i++) await waitRevision('many', `s${i}`, head);
  const coldMs = performance.now() - t0;
  const cold = {
    fetches: (await gitCount('fetch')) - manyBefore.fetch,
    lsRemotes: (await gitCount('ls-remote')) - manyBefore.ls,
    httpRequests: server.requests.length - manyBefore.requests,
  };
  const steadyBefore = { ls: await gitCount('ls-remote'), requests: server.requests.length };
  await sleep(30_000);
  const steady = {
    lsRemotesPerMinute: ((await gitCount('ls-remote')) - steadyBefore.ls) * 2,
    httpRequestsPerMinute: (server.requests.length - steadyBefore.requests) * 2,
  };
  const rssMb = process.memoryUsage().rss / 1024 / 1024;
  await operator.stop();

  const result = {
    webhook: {
      pushes: webhook.length,
      p50Ms: percentile(webhook, 50),
      p99Ms: percentile(webhook, 99),
      maxMs: Math.max(...webhook),
    },
    otherBranches,
    polling: {
      intervalMs,
      pushes: polled.length,
      p50Ms: percentile(polled, 50),
      p99Ms: percentile(polled, 99),
      meanMs: polled.reduce((a, b) => a + b, 0) / polled.length,
    },
    idlePoll: idle,
    hundredSources: { sources: count, coldMs, ...cold, ...steady, processRssMb: rssMb },
  };
  if (values.json) await writeFile(values.json, JSON.stringify(result, null, 2));
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(
    `git sources: webhook push-to-artifact p50 ${result.webhook.p50Ms.toFixed(0)} ms / p99 ${result.webhook.p99Ms.toFixed(0)} ms ` +
      `(${webhook.length} pushes); ${otherBranches.pushes} pushes to other branches: ${otherBranches.lsRemotes} ls-remote, ${otherBranches.fetches} fetch; poll every ${values.interval}: p50 ${result.polling.p50Ms.toFixed(0)} ms / p99 ${result.polling.p99Ms.toFixed(0)} ms; ` +
      `idle poll: ${idle.lsRemotePerPoll} ls-remote, ${idle.fetchesPerPoll} fetch, ${idle.httpRequestsPerPoll} HTTP requests, ` +
      `${idle.bytesServedPerPoll.toFixed(0)} bytes; ` +
      `${count} sources on one repo: ${cold.fetches} fetch, ready in ${(coldMs / 1000).toFixed(1)} s, ` +
      `${steady.lsRemotesPerMinute} ls-remote/min at a 10s interval\n`,
  );
} finally {
  await server.close();
  await cluster.stop();
  await rm(dir, { recursive: true, force: true });
}
