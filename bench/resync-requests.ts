// API requests for re-syncs of an unchanged 50-object AppGroup, counted by the API server itself
// (apiserver_request_total), against the cost of one dry-run per object. With --status-writes, a
// stand-in for the Deployment controller writes every Deployment's status each second meanwhile
// (tier A runs no controllers): what a re-sync costs when resourceVersions move but nothing the
// sync sends changed.
//
//   npm run bench -- resync-requests [--objects 50] [--window 30] [--status-writes] [--json out.json]

import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { kubectl } from '../test/controlplane/control-plane.ts';
import { gitRepo } from '../test/support/git-repo.ts';
import { sumMetric } from '../test/support/metrics.ts';
import { shoalObjects } from '../test/support/objects.ts';
import { startOperator } from '../test/support/operator.ts';
import { startCluster } from '../test/support/test-cluster.ts';
import { waitFor } from '../test/support/wait.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    objects: { type: 'string', default: '50' },
    window: { type: 'string', default: '30' },
    'status-writes': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const objects = Number(values.objects);
const say = (s: string) => process.stderr.write(`${s}\n`);

const kinds = [
  (i: number) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm${i}}\ndata: {i: "${i}"}\n`,
  (i: number) =>
    `apiVersion: v1\nkind: Service\nmetadata: {name: svc${i}}\nspec: {ports: [{port: 80}], selector: {app: a${i}}}\n`,
  (i: number) => `apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa${i}}\n`,
  (i: number) =>
    `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d${i}}\nspec:\n  selector: {matchLabels: {app: d${i}}}\n  template:\n    metadata: {labels: {app: d${i}}}\n    spec: {containers: [{name: c, image: "registry.invalid/d:1"}]}\n`,
  (i: number) => `apiVersion: v1\nkind: Secret\nmetadata: {name: s${i}}\nstringData: {k: v${i}}\n`,
];

const SHOAL_RESOURCES = new Set([
  'configmaps',
  'services',
  'serviceaccounts',
  'deployments',
  'secrets',
  'appgroups',
  'gitsources',
  'events',
]);

type Counts = { reads: number; writes: number; dryRuns: number; byVerb: Record<string, number> };

async function requests(cp: Parameters<typeof kubectl>[0]): Promise<Counts> {
  const text = (await kubectl(cp, ['get', '--raw', '/metrics'])).stdout;
  const c: Counts = { reads: 0, writes: 0, dryRuns: 0, byVerb: {} };
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{') || !line.includes('component="apiserver"')) continue;
    // Only the resources Shoal touches: the API server's own housekeeping (leases, flow control)
    // and the long-running watches are not the re-sync's.
    if (line.includes('verb="WATCH"')) continue;
    const resource = line.match(/resource="([^"]*)"/)?.[1] ?? '';
    if (!SHOAL_RESOURCES.has(resource)) continue;
    const verb = line.match(/verb="([A-Z]+)"/)?.[1] ?? '?';
    // The benchmark's own status writes (--status-writes): Shoal never writes a Deployment's status.
    if (resource === 'deployments' && line.includes('subresource="status"') && verb !== 'GET') continue;
    const dry = /dry_run="All"/.test(line);
    const n = Number(line.split(' ').pop());
    const key = `${verb}${dry ? '(dry-run)' : ''} ${line.match(/resource="([^"]*)"/)?.[1]}${line.match(/subresource="([^"]*)"/)?.[1] ? `/${line.match(/subresource="([^"]*)"/)?.[1]}` : ''}`;
    c.byVerb[key] = (c.byVerb[key] ?? 0) + n;
    if (dry) c.dryRuns += n;
    else if (['GET', 'LIST'].includes(verb)) c.reads += n;
    else c.writes += n;
  }
  return c;
}

const cluster = await startCluster({ log: say });
const cp = cluster.cp;
const files = Object.fromEntries(
  Array.from({ length: objects }, (_, i) => [
    `apps/o${i}.yaml`,
    (kinds[i % kinds.length] as (i: number) => string)(i),
  ]),
);
const repo = await gitRepo(files);
try {
  const ns = await cluster.newNamespace('bench');
  const o = shoalObjects(cluster.kube, ns);
  const operator = await startOperator({
    kubeconfig: cp.kubeconfig,
    kustomize: cluster.kustomize,
    logLevel: 'error',
  });
  const reconciles = async () =>
    sumMetric(
      await (await fetch(`${operator.metricsUrl}/metrics`)).text(),
      'shoal_reconcile_total',
      'kind="AppGroup",result="success"',
    );
  await o.source('repo', { url: repo.url, interval: '1h' });
  // Deployments never become available on tier A, which would keep the group re-checking health;
  // a 5 s interval makes periodic re-syncs the thing measured.
  await o.group('app', { sourceRef: { name: 'repo' }, path: 'apps', interval: '5s', timeout: '1s' });
  await waitFor(
    'the group applied and Degraded',
    async () => {
      const g = await o.getGroup('app');
      return g?.status?.lastAppliedRevision !== undefined && g.status.health?.status === 'Degraded';
    },
    { timeoutMs: 120_000, intervalMs: 200 },
  );
  await sleep(6_000);
  const firstRun = await requests(cp);
  const r0 = await reconciles();
  // The Deployments among the objects (kinds[3]: d3, d8, ...).
  const deploymentNames = Array.from({ length: objects }, (_, i) => i)
    .filter((i) => i % kinds.length === 3)
    .map((i) => `d${i}`);
  const deployments = deploymentNames.length;
  let statusWrites = 0;
  const writing = values['status-writes'] ? writeStatuses() : undefined;
  async function writeStatuses() {
    const until = Date.now() + Number(values.window) * 1000;
    for (let round = 1; Date.now() < until; round++) {
      await Promise.all(
        deploymentNames.map((name) =>
          cluster.kube.patchStatus(
            { group: 'apps', version: 'v1', plural: 'deployments', namespace: ns, name },
            { observedGeneration: 1, replicas: round, updatedReplicas: round, unavailableReplicas: round },
          ),
        ),
      );
      statusWrites += deployments;
      await sleep(1_000);
    }
  }
  await sleep(Number(values.window) * 1000);
  await writing;
  const after = await requests(cp);
  const runs = (await reconciles()) - r0;
  await operator.stop();
  const per = (n: number) => n / Math.max(1, runs);
  const byVerb = Object.fromEntries(
    Object.entries(after.byVerb)
      .map(([k, v]) => [k, per(v - (firstRun.byVerb[k] ?? 0))])
      .filter(([, v]) => (v as number) > 0),
  );
  const result = {
    objects,
    statusWrites,
    resyncs: runs,
    perResync: {
      reads: per(after.reads - firstRun.reads),
      writes: per(after.writes - firstRun.writes),
      dryRuns: per(after.dryRuns - firstRun.dryRuns),
      byVerb,
    },
    baselineOneDryRunPerObject: objects,
  };
  if (values.json) await writeFile(values.json, JSON.stringify(result, null, 2));
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(
    `re-sync of an unchanged ${objects}-object AppGroup (${runs} re-syncs` +
      `${statusWrites ? `, ${statusWrites} status writes of its ${deployments} Deployments meanwhile` : ''}): ` +
      `${result.perResync.writes.toFixed(1)} writes, ` +
      `${result.perResync.dryRuns} dry-runs, ${result.perResync.reads.toFixed(1)} reads per re-sync ` +
      `(one dry-run per object would be ${objects} requests)\n`,
  );
} finally {
  await cluster.stop();
  await repo.remove();
}
