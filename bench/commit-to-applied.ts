// Commit-to-applied latency: commit to a real repository (changing every object of the group), then
// time until the AppGroup's status.lastAppliedRevision names the commit, triggered by the poll or by
// a signed push webhook. Prints figures; never fails on them.
//
// With --chart the group's path is a Helm chart (its values.yaml changes per commit; every object
// changes): the render goes through helm template.
//
//   npm run bench -- commit-to-applied [--commits 20] [--objects 1] [--interval 2s] [--webhook] [--chart] [--json out.json]
import { createHmac } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { parseDuration } from '../src/api/duration.ts';
import { gitRepo } from '../test/support/git-repo.ts';
import { shoalObjects } from '../test/support/objects.ts';
import { startOperator } from '../test/support/operator.ts';
import { startCluster } from '../test/support/test-cluster.ts';
import { waitFor } from '../test/support/wait.ts';
import { percentile } from './stats.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    commits: { type: 'string', default: '20' },
    objects: { type: 'string', default: '1' },
    interval: { type: 'string', default: '2s' },
    webhook: { type: 'boolean', default: false },
    chart: { type: 'boolean', default: false },
    /** Print where the time went: each reconcile step's mean duration over the measured commits. */
    profile: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const commits = Number(values.commits);
const intervalMs = parseDuration(values.interval);
const say = (s: string) => process.stderr.write(`${s}\n`);

const cluster = await startCluster({ log: say });
const objects = Number(values.objects);
const TOKEN = 'bench-token';
/** The group's files at change `n`: every object changes. */
const files = (n: number): Record<string, string> =>
  values.chart
    ? {
        'apps/Chart.yaml': 'apiVersion: v2\nname: bench\nversion: 1.0.0\n',
        'apps/values.yaml': `count: ${objects}\nn: ${n}\n`,
        'apps/templates/cm.yaml':
          '{{- range $i := until (int .Values.count) }}\n---\napiVersion: v1\nkind: ConfigMap\n' +
          'metadata: {name: bench{{ $i }}}\ndata: {n: {{ $.Values.n | quote }}}\n{{- end }}\n',
      }
    : Object.fromEntries(
        Array.from({ length: objects }, (_, k) => [
          `apps/cm${k}.yaml`,
          `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bench${k}}\ndata: {n: "${n}"}\n`,
        ]),
      );
const repo = await gitRepo(files(0));
try {
  const { kube } = cluster;
  const ns = await cluster.newNamespace('bench');
  const o = shoalObjects(kube, ns);
  const operator = await startOperator({
    kubeconfig: cluster.cp.kubeconfig,
    namespace: ns,
    kustomize: cluster.kustomize,
    helm: cluster.helm,
    logLevel: values.profile ? 'debug' : 'error',
  });
  await o.source('repo', {
    url: repo.url,
    interval: values.webhook ? '1h' : values.interval,
    webhookSecretRef: { name: 'hook' },
  });
  await o.secret('hook', { token: TOKEN });
  const push = async (commit: string) => {
    const body = JSON.stringify({
      ref: 'refs/heads/main',
      after: commit,
      repository: { clone_url: repo.url },
    });
    const signature = `sha256=${createHmac('sha256', TOKEN).update(body).digest('hex')}`;
    const res = await fetch(`${operator.webhookUrl}/hooks/github`, {
      method: 'POST',
      headers: { 'x-github-event': 'push', 'x-hub-signature-256': signature },
      body,
    });
    if (res.status !== 202) throw new Error(`webhook answered ${res.status}`);
  };
  await o.group('app', { sourceRef: { name: 'repo' }, path: 'apps', interval: '10m' });
  // Polled every 20 ms (the figure's resolution), with a deadline.
  const waitApplied = (commit: string) =>
    waitFor(
      `the group at ${commit.slice(0, 8)}`,
      async () => (await o.getGroup('app'))?.status?.lastAppliedRevision?.endsWith(commit),
      { timeoutMs: 60_000, intervalMs: 20 },
    );
  await waitApplied(await repo.head());

  const latencies: number[] = [];
  const logsFrom = operator.logs.length;
  for (let i = 1; i <= commits; i++) {
    // Commit at a random phase of the poll cycle, as real pushes are.
    if (!values.webhook) await sleep(Math.random() * intervalMs);
    const commit = await repo.commit(files(i));
    const t0 = performance.now();
    if (values.webhook) await push(commit);
    await waitApplied(commit);
    latencies.push(performance.now() - t0);
    say(`commit ${i}/${commits}: applied after ${latencies.at(-1)?.toFixed(0)} ms`);
  }
  await operator.stop();
  if (values.profile) {
    // Mean of each step per commit (sum over the run / commits), in the order they ran.
    const steps = new Map<string, number>();
    for (const l of operator.logs.slice(logsFrom))
      if (l.msg === 'step') {
        const k = `${String(l.kind)} ${String(l.step)}`;
        steps.set(k, (steps.get(k) ?? 0) + Number(l.ms));
      }
    for (const [k, ms] of steps) say(`  ${k.padEnd(36)} ${(ms / commits).toFixed(1)} ms per commit`);
  }

  const trigger = `${values.webhook ? 'webhook' : `poll every ${values.interval}`}${values.chart ? ', a Helm chart' : ''}`;
  const result = {
    benchmark: `commit-to-applied (${trigger})`,
    objects,
    pollIntervalMs: values.webhook ? null : intervalMs,
    commits,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: Math.max(...latencies),
    meanMs: latencies.reduce((a, b) => a + b, 0) / latencies.length,
  };
  if (values.json) await writeFile(values.json, JSON.stringify(result, null, 2));
  process.stdout.write(
    `commit-to-applied (${trigger}, ${objects} objects changed per commit, ${commits} commits): p50 ${result.p50Ms.toFixed(0)} ms, ` +
      `p99 ${result.p99Ms.toFixed(0)} ms, max ${result.maxMs.toFixed(0)} ms, mean ${result.meanMs.toFixed(0)} ms` +
      (values.webhook
        ? '\n'
        : ` (mean minus half the interval, the sync's own share: ${(result.meanMs - intervalMs / 2).toFixed(0)} ms)\n`),
  );
} finally {
  await cluster.stop();
  await repo.remove();
}
