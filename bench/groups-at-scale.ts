// 1,000 AppGroups of 10 objects each on one Shoal replica: the cold start until all are Ready against
// the floor of applying the same objects with a plain concurrent server-side-apply loop (same run,
// same path to the API server), then the resident memory and API requests per minute at steady
// state, and how long a change by hand takes to be reverted. Shoal runs as its own process
// (`shoal run`), reaching the API server through a counting proxy (test/support/fault-proxy.ts).
//
//   npm run bench -- groups-at-scale [--groups 1000] [--objects 10] [--namespaces 10]
//     [--concurrency 4] [--interval 5m] [--window 120] [--drift-samples 30] [--json out.json]

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { AppGroup } from '../src/api/app-group.ts';
import { Kube, loadKubeConfig } from '../src/kube/client.ts';
import { mapLimit } from '../src/runtime/map-limit.ts';
import { FaultProxy, type ProxiedRequest } from '../test/support/fault-proxy.ts';
import { gitRepo } from '../test/support/git-repo.ts';
import { sumMetric } from '../test/support/metrics.ts';
import { shoalProcess } from '../test/support/shoal-cli.ts';
import { startCluster } from '../test/support/test-cluster.ts';
import { waitFor } from '../test/support/wait.ts';
import { percentile } from './stats.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    groups: { type: 'string', default: '1000' },
    objects: { type: 'string', default: '10' },
    namespaces: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '4' },
    'floor-concurrency': { type: 'string', default: '16' },
    interval: { type: 'string', default: '5m' },
    window: { type: 'string', default: '120' },
    'drift-samples': { type: 'string', default: '30' },
    json: { type: 'string' },
    /** Node flags for the operator process; the default is what manifests/deployment.yaml sets. */
    'node-options': { type: 'string', default: '--max-old-space-size=320' },
  },
});
const GROUPS = Number(values.groups);
const OBJECTS = Number(values.objects);
const NAMESPACES = Number(values.namespaces);
const say = (s: string) => process.stderr.write(`${s}\n`);

const groupName = (g: number) => `g${String(g).padStart(4, '0')}`;
const cmName = (g: number, o: number) => `${groupName(g)}-o${o}`;
const cmYaml = (g: number, o: number) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${cmName(g, o)}}\ndata: {v: "from-git", o: "${o}"}\n`;
const nsOf = (g: number) => `bench-${g % NAMESPACES}`;

/** CPU seconds (user + system) a process has used, from /proc. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? Number.NaN);
  return kb / 1024;
}

const requestKey = (r: ProxiedRequest) => {
  const parts = r.path.split('/').filter(Boolean);
  const nsAt = parts.indexOf('namespaces');
  const resource = nsAt >= 0 && parts.length > nsAt + 2 ? parts[nsAt + 2] : parts[parts.length - 1];
  const verb = r.watch ? 'WATCH' : r.method;
  const dry = r.query.has('dryRun') ? ' (dry run)' : '';
  const sub = parts.at(-1) === 'status' ? '/status' : '';
  return `${verb} ${resource}${sub}${dry}`;
};

const dir = await mkdtemp(join(tmpdir(), 'shoal-bench-scale-'));
const cluster = await startCluster({ log: say });
const cp = cluster.state;
let operator: ReturnType<typeof shoalProcess> | undefined;
try {
  const direct = cluster.kube;
  const proxy = await FaultProxy.start(cp.kubeconfig, { tag: 'bench' });
  const viaProxy = new Kube(loadKubeConfig({ kubeconfig: await proxy.kubeconfig(dir) }));
  say(`writing a repository of ${GROUPS} directories x ${OBJECTS} ConfigMaps`);
  const files: Record<string, string> = {};
  for (let g = 0; g < GROUPS; g++)
    for (let o = 0; o < OBJECTS; o++) files[`groups/${groupName(g)}/o${o}.yaml`] = cmYaml(g, o);
  const repo = await gitRepo(files);

  // The floor: the same objects, one plain server-side apply each, concurrently, through the proxy.
  for (let n = 0; n < NAMESPACES; n++) {
    await direct.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `floor-${n}` } });
    await direct.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `bench-${n}` } });
  }
  const all = Array.from(
    { length: GROUPS * OBJECTS },
    (_, i) => [Math.floor(i / OBJECTS), i % OBJECTS] as const,
  );
  say(
    `floor: applying ${all.length} objects with ${values['floor-concurrency']} concurrent server-side applies`,
  );
  const f0 = performance.now();
  await mapLimit(all, Number(values['floor-concurrency']), ([g, o]) =>
    viaProxy.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: cmName(g, o), namespace: `floor-${g % NAMESPACES}` },
      data: { v: 'from-git', o: String(o) },
    }),
  );
  const floorSeconds = (performance.now() - f0) / 1000;
  say(`floor: ${floorSeconds.toFixed(1)} s`);

  for (let n = 0; n < NAMESPACES; n++) {
    await direct.apply({
      apiVersion: 'shoal.dev/v1alpha1',
      kind: 'GitSource',
      metadata: { name: 'repo', namespace: `bench-${n}` },
      spec: { url: repo.url, interval: '1m' },
    });
  }
  await mapLimit(
    Array.from({ length: GROUPS }, (_, g) => g),
    8,
    (g) =>
      direct.apply({
        apiVersion: 'shoal.dev/v1alpha1',
        kind: 'AppGroup',
        metadata: { name: groupName(g), namespace: nsOf(g) },
        spec: { sourceRef: { name: 'repo' }, path: `groups/${groupName(g)}`, interval: values.interval },
      }),
  );

  say(`starting shoal run (concurrency ${values.concurrency}) against ${GROUPS} groups`);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const cpu0 = {
    apiserver: await cpuSeconds(cp.pids['kube-apiserver'] ?? 0),
    etcd: await cpuSeconds(cp.pids.etcd ?? 0),
  };
  const t0 = performance.now();
  const requestsBefore = proxy.log.length;
  operator = shoalProcess(
    join(dir, 'bench.kubeconfig'),
    [
      '--allow-file-urls',
      `--metrics-addr=127.0.0.1:${port}`,
      '--webhook-addr=',
      '--leader-elect=false',
      `--concurrency=${values.concurrency}`,
      '--log-level=error',
    ],
    { SHOAL_CACHE_DIR: join(dir, 'cache'), NODE_OPTIONS: values['node-options'] },
  );
  const shoalPid = operator.child.pid;
  await waitFor(
    `all ${GROUPS} groups Ready`,
    async () =>
      (await direct.list<AppGroup>('shoal.dev/v1alpha1', 'AppGroup')).items.filter((g) =>
        g.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      ).length === GROUPS,
    { timeoutMs: 60 * 60_000, intervalMs: 1_000 },
  );
  const coldSeconds = (performance.now() - t0) / 1000;
  const coldRequests = proxy.log.slice(requestsBefore);
  const cpu = {
    shoal: await cpuSeconds(shoalPid ?? 0),
    apiserver: (await cpuSeconds(cp.pids['kube-apiserver'] ?? 0)) - cpu0.apiserver,
    etcd: (await cpuSeconds(cp.pids.etcd ?? 0)) - cpu0.etcd,
  };
  say(
    `cold start: all ${GROUPS} Ready after ${coldSeconds.toFixed(1)} s (${coldRequests.length} API requests)`,
  );

  // Steady state: let the cold start's tail settle, then count requests and sample memory.
  await sleep(20_000);
  const windowS = Number(values.window);
  const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const reconcilesBefore = sumMetric(await scrape(), 'shoal_reconcile_total', 'kind="AppGroup"');
  const w0 = proxy.log.length;
  const rss: number[] = [];
  const wEnd = performance.now() + windowS * 1000;
  while (performance.now() < wEnd) {
    rss.push(await rssMiB(shoalPid ?? 0));
    await sleep(5_000);
  }
  const steady = proxy.log.slice(w0);
  const reconcilesInWindow =
    sumMetric(await scrape(), 'shoal_reconcile_total', 'kind="AppGroup"') - reconcilesBefore;
  const perMinute = (steady.length / windowS) * 60;
  const byKind = (reqs: ProxiedRequest[], scale: number) =>
    Object.fromEntries(
      Object.entries(
        reqs.reduce<Record<string, number>>((acc, r) => {
          const k = requestKey(r);
          acc[k] = (acc[k] ?? 0) + 1;
          return acc;
        }, {}),
      )
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => [k, Math.round(n * scale * 10) / 10]),
    );

  // Drift: a change by hand (another field manager) to a random managed object, until reverted.
  const drift: number[] = [];
  for (let i = 0; i < Number(values['drift-samples']); i++) {
    const g = Math.floor(Math.random() * GROUPS);
    const o = Math.floor(Math.random() * OBJECTS);
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: nsOf(g), name: cmName(g, o) };
    const d0 = performance.now();
    await direct.apply(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: ref.name, namespace: ref.namespace },
        data: { v: 'by-hand' },
      },
      { fieldManager: 'bench-hand', force: true, dryRun: false },
    );
    await waitFor(
      `${ref.name} reverted`,
      async () => (await direct.get<{ data?: { v?: string } }>(ref))?.data?.v === 'from-git',
      { timeoutMs: 60_000, intervalMs: 20 },
    );
    drift.push((performance.now() - d0) / 1000);
    await sleep(300);
  }
  const metrics = await scrape();

  const result = {
    groups: GROUPS,
    objectsPerGroup: OBJECTS,
    concurrency: Number(values.concurrency),
    coldStart: {
      seconds: coldSeconds,
      floorSeconds,
      ratio: coldSeconds / floorSeconds,
      requests: coldRequests.length,
      floorRequests: all.length,
      cpuSeconds: cpu,
      requestsByKind: byKind(coldRequests, 1),
      appGroupReconcileSecondsMean:
        sumMetric(metrics, 'shoal_reconcile_duration_seconds_sum', 'kind="AppGroup"') /
        Math.max(1, sumMetric(metrics, 'shoal_reconcile_duration_seconds_count', 'kind="AppGroup"')),
    },
    steadyState: {
      interval: values.interval,
      windowSeconds: windowS,
      requestsPerMinute: perMinute,
      appGroupReconcilesPerMinute: (reconcilesInWindow / windowS) * 60,
      requestsPerMinuteByKind: byKind(steady, 60 / windowS),
      rssMiB: { mean: rss.reduce((a, b) => a + b, 0) / rss.length, max: Math.max(...rss) },
      heapUsedMiB: sumMetric(metrics, 'shoal_process_nodejs_heap_size_used_bytes') / 2 ** 20,
      heapTotalMiB: sumMetric(metrics, 'shoal_process_nodejs_heap_size_total_bytes') / 2 ** 20,
      externalMiB: sumMetric(metrics, 'shoal_process_nodejs_external_memory_bytes') / 2 ** 20,
    },
    driftToRevertedSeconds: { samples: drift.length, p50: percentile(drift, 50), p99: percentile(drift, 99) },
  };
  if (values.json) await writeFile(values.json, JSON.stringify(result, null, 2));
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(
    `${GROUPS} groups x ${OBJECTS} objects: cold start ${coldSeconds.toFixed(1)} s vs plain SSA loop ` +
      `${floorSeconds.toFixed(1)} s (ratio ${result.coldStart.ratio.toFixed(2)}); steady state ` +
      `${result.steadyState.rssMiB.mean.toFixed(0)} MiB RSS, ${perMinute.toFixed(0)} API requests/min for ` +
      `${result.steadyState.appGroupReconcilesPerMinute.toFixed(0)} re-syncs/min (interval ${values.interval}); drift reverted p50 ${result.driftToRevertedSeconds.p50.toFixed(2)} s, ` +
      `p99 ${result.driftToRevertedSeconds.p99.toFixed(2)} s\n`,
  );
  operator.child.kill('SIGTERM');
  await Promise.race([operator.exit, sleep(20_000)]);
  await proxy.close();
  await repo.remove();
} finally {
  await operator?.kill();
  await cluster.stop();
  await rm(dir, { recursive: true, force: true });
}
