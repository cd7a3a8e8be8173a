// 1,000 AppGroups of 10 objects each on 1–3 Shoal replicas: the cold start until all are Ready
// against two floors measured in the same run through the same proxy — raw (one plain server-side
// apply per object) and validated (a dry run, then the apply, per object: Shoal validates before its
// first write) — each a plain concurrent loop, and a third, the validated floor plus the writes and
// watches of Shoal's product (writesFloor: owner labels, a status and an event per group, two
// watches), which splits what Shoal's own code costs from what its product asks of the API server;
// then resident memory and API requests per minute at steady state, how long a change by hand takes
// to be reverted; on one replica, a full re-list (every watch expired: its peak RSS) and a restart
// (until every group's apply step ran once more: what an upgrade costs); and, with --replicas above
// 1, the split of groups over the replicas and the handover after a SIGKILL of one. Shoal runs as
// its own processes (`shoal run`), each reaching the API server through a counting proxy of its own
// (test/support/fault-proxy.ts, one shared log).
//
//   npm run bench -- groups-at-scale [--groups 1000] [--objects 10] [--namespaces 10] [--replicas 1]
//     [--concurrency 4] [--interval 5m] [--window 120] [--drift-samples 30] [--json out.json]
//     [--no-finalizer-policy] [--no-writes-floor] [--writes-without labels,status,events,watches]
//     [--floors-only] [--no-restart] [--apiserver-profile DIR]   (then: go tool pprof -top kube-apiserver DIR/cold-start-*.pprof)

import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { buildOperator, OPERATOR_BUNDLE } from '../scripts/build-operator.ts';
import type { AppGroup } from '../src/api/app-group.ts';
import { KINDS } from '../src/api/group.ts';
import { describeRef, refOf } from '../src/api/object-key.ts';
import { entryOf } from '../src/diff/inventory.ts';
import { objectHealth } from '../src/health/rules.ts';
import { groupHealth } from '../src/health/summarize.ts';
import { Kube, loadKubeConfig } from '../src/kube/client.ts';
import { EventRecorder } from '../src/kube/events.ts';
import { realClock } from '../src/runtime/clock.ts';
import type { Lease } from '../src/runtime/leader-election.ts';
import { mapLimit } from '../src/runtime/map-limit.ts';
import { SHARD_ANNOTATIONS, SHARD_LABELS, shardOf } from '../src/runtime/shards.ts';
import { formatRevision } from '../src/source/revision.ts';
import { nextAppGroupStatus } from '../src/status/app-group-status.ts';
import { statusRefOf } from '../src/status/write-status.ts';
import { installFinalizerPolicy } from '../test/controlplane/control-plane.ts';
import { FaultProxy, type ProxiedRequest } from '../test/support/fault-proxy.ts';
import { gitRepo } from '../test/support/git-repo.ts';
import { applySteps, sumMetric } from '../test/support/metrics.ts';
import { watchAppGroups } from '../test/support/objects.ts';
import { shoalProcess } from '../test/support/shoal-cli.ts';
import { startCluster } from '../test/support/test-cluster.ts';
import { waitFor } from '../test/support/wait.ts';
import { percentile } from './stats.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    groups: { type: 'string', default: '1000' },
    replicas: { type: 'string', default: '1' },
    objects: { type: 'string', default: '10' },
    namespaces: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '4' },
    'floor-concurrency': { type: 'string', default: '16' },
    interval: { type: 'string', default: '5m' },
    window: { type: 'string', default: '120' },
    'drift-samples': { type: 'string', default: '30' },
    json: { type: 'string' },
    /** Node flags for the operator process; the default is what manifests/deployment.yaml sets. */
    'node-options': {
      type: 'string',
      default: '--max-old-space-size=320 --max-semi-space-size=1 --v8-pool-size=1',
    },
    /** glibc's malloc arenas for the operator process (MALLOC_ARENA_MAX, as deployed); '' leaves glibc's default. */
    'malloc-arena-max': { type: 'string', default: '2' },
    /** Run the sources (bin/shoal.js) instead of the bundle the image ships (dist/operator/shoal.mjs). */
    sources: { type: 'boolean', default: false },
    /** Leave manifests/finalizer-policy.yaml out (a cluster before 1.36): Shoal patches each group's finalizer. */
    'no-finalizer-policy': { type: 'boolean', default: false },
    /** Skip the third floor, the validated one plus the writes and watches of Shoal's product (writesFloor). */
    'no-writes-floor': { type: 'boolean', default: false },
    /**
     * Parts the writes floor leaves out, to weigh each (comma-separated: labels, status, events,
     * watches); with --floors-only, a run measures the floors and stops before Shoal starts.
     */
    'writes-without': { type: 'string', default: '' },
    'floors-only': { type: 'boolean', default: false },
    /** Skip the restart of the one replica after the steady state (restartOne). */
    'no-restart': { type: 'boolean', default: false },
    /** Write the API server's CPU profiles (pprof) of the validated floor and of the cold start here. */
    'apiserver-profile': { type: 'string' },
  },
});
const GROUPS = Number(values.groups);
const OBJECTS = Number(values.objects);
const NAMESPACES = Number(values.namespaces);
const REPLICAS = Number(values.replicas);
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

async function rssMiB(pid: number, field = 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = Number(status.match(new RegExp(`${field}:\\s+(\\d+)`))?.[1] ?? Number.NaN);
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

/** Requests counted by kind (requestKey), most first, each count times `scale`. */
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

/** The floors' server-side apply. */
const SSA = { fieldManager: 'bench-floor', force: true, dryRun: false };

/** Object `o` of group `g` as a floor applies it, in the floor's namespaces `<prefix>-<n>`. */
const floorObject = (prefix: string, g: number, o: number, labels?: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: cmName(g, o), namespace: `${prefix}-${g % NAMESPACES}`, ...(labels ? { labels } : {}) },
  data: { v: 'from-git', o: String(o) },
});

/** The AppGroups g0000… of the repository's directories, in `namespaceOf(g)`, 8 at a time. */
const applyGroups = (kube: Kube, namespaceOf: (g: number) => string, spec: Record<string, unknown> = {}) =>
  mapLimit(
    Array.from({ length: GROUPS }, (_, g) => g),
    8,
    (g) =>
      kube.apply<AppGroup>({
        apiVersion: 'shoal.dev/v1alpha1',
        kind: 'AppGroup',
        metadata: { name: groupName(g), namespace: namespaceOf(g) },
        spec: { sourceRef: { name: 'repo' }, path: `groups/${groupName(g)}`, ...spec },
      } as AppGroup),
  );

/** CPU seconds this process (the floors' loop, the proxies) has used. */
const benchCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const dir = await mkdtemp(join(tmpdir(), 'shoal-bench-scale-'));
if (values['apiserver-profile']) await mkdir(values['apiserver-profile'], { recursive: true });
if (!values.sources && (await buildOperator())) say(`bundled the operator into ${OPERATOR_BUNDLE}`);
const cluster = await startCluster({ log: say });
const cp = cluster.state;
const serverCpu = async () => ({
  apiserver: await cpuSeconds(cp.pids['kube-apiserver'] ?? 0),
  etcd: await cpuSeconds(cp.pids.etcd ?? 0),
});
/** A hand edit (another field manager) of one managed object, and the seconds until Shoal reverted it. */
async function editUntilReverted(kube: Kube, g: number, o: number): Promise<number> {
  const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: nsOf(g), name: cmName(g, o) };
  const d0 = performance.now();
  await kube.apply(
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
    async () => (await kube.get<{ data?: { v?: string } }>(ref))?.data?.v === 'from-git',
    { timeoutMs: 60_000, intervalMs: 20 },
  );
  return (performance.now() - d0) / 1000;
}

/**
 * With --apiserver-profile: the API server's CPU profile (its /debug/pprof, through kubectl as the
 * admin) in 5 s pieces, DIR/<name>-<n>.pprof, from now until the returned function is called (which
 * waits for the last piece); `go tool pprof` merges the pieces of a phase.
 */
function apiServerProfile(name: string): () => Promise<void> {
  const out = values['apiserver-profile'];
  if (!out) return async () => {};
  let running = true;
  const piece = async (n: number) => {
    const file = await open(join(out, `${name}-${String(n).padStart(3, '0')}.pprof`), 'w');
    const child = spawn(
      join(cp.binDir, 'kubectl'),
      ['--kubeconfig', cp.kubeconfig, 'get', '--raw', '/debug/pprof/profile?seconds=5'],
      { stdio: ['ignore', file.fd, 'inherit'] },
    );
    const code = await new Promise((resolve) => child.on('close', resolve));
    await file.close();
    if (code !== 0) say(`the API server's profile ${name}-${n} failed (kubectl exited ${code})`);
  };
  const loop = (async () => {
    for (let n = 0; running; n++) await piece(n);
  })();
  return async () => {
    running = false;
    await loop;
  };
}

/**
 * Resolves `all` when every one of `count` AppGroups has Ready=True, and records when (`at`, from
 * performance.now()): one watch on AppGroups, which the API server serves from the same encoded
 * events it sends Shoal. (A LIST of all groups every second, as before, cost the API server ~5 CPU-s
 * of a 50 s cold start, which the floors never paid, and rounded the time up to the next poll.)
 */
async function watchReadiness(kube: Kube, count: number) {
  const ready = new Set<string>();
  const state: { at?: number } = {};
  let resolve: () => void = () => {};
  const all = new Promise<void>((r) => {
    resolve = r;
  });
  const watch = await watchAppGroups(kube, (g) => {
    const key = `${g.metadata.namespace}/${g.metadata.name}`;
    if (g.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ready.add(key);
    else ready.delete(key);
    if (ready.size === count && state.at === undefined) {
      state.at = performance.now();
      resolve();
    }
  });
  return {
    all,
    get at() {
      return state.at;
    },
    stop: watch.stop,
  };
}

/** CPU seconds the whole machine has spent busy (all cores, every process), from /proc/stat. */
async function machineCpu(): Promise<number> {
  const cpu =
    (await readFile('/proc/stat', 'utf8')).split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  // user nice system idle iowait irq softirq steal: all but idle and iowait
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
  return (user + nice + system + irq + softirq + steal) / 100;
}

/**
 * The third floor: the validated floor plus what Shoal's product writes and watches beyond each
 * object's own dry run and apply, as a plain loop shaped like Shoal's sync (groups at --concurrency,
 * 8 requests in flight in each, every dry run of a group before its first apply): the two owner
 * labels on every object (under floor.dev/, keys as long as shoal.dev/'s, so that Shoal's selector
 * never matches them), one status patch per group with the status Shoal's own nextAppGroupStatus
 * computes for a first sync, the events it asks for through Shoal's EventRecorder, and the two watches
 * Shoal holds (a label-selected one on the objects, one on the groups), every event decoded. Shoal
 * against this floor is its own overhead; this floor against the validated one is what the status,
 * the events, the labels and the watches cost the API server. Its AppGroups are deleted afterwards,
 * before Shoal starts; its ConfigMaps stay, so the cold start runs on a cluster 10,000 objects fuller.
 */
async function writesFloor(
  viaProxy: Kube,
  direct: Kube,
  repo: { head(): Promise<string> },
  proxy: FaultProxy,
) {
  const LABEL = { name: 'floor.dev/group-name', namespace: 'floor.dev/group-namespace' };
  const without = new Set(values['writes-without'].split(',').filter(Boolean));
  for (const part of without)
    if (!['labels', 'status', 'events', 'watches'].includes(part))
      throw new Error(`--writes-without: no part "${part}"`);
  const nsOfW = (g: number) => `writes-${g % NAMESPACES}`;
  const groups = await applyGroups(direct, nsOfW);
  const revision = formatRevision('main', await repo.head());
  const events = new EventRecorder(viaProxy, {
    clock: realClock,
    instance: 'bench-floor',
    dedupeWindowMs: 60_000,
    log: () => {},
  });
  // Shoal's two watches, through the proxy; every event decoded and counted.
  let seen = 0;
  const count = () => {
    seen++;
  };
  const watches: { stop(): Promise<void> }[] = [];
  if (!without.has('watches')) {
    const objects = viaProxy.informer('/api/v1/configmaps', 'v1', 'ConfigMap', {
      labelSelector: without.has('labels') ? 'floor.dev/none' : LABEL.name,
    });
    objects.on('add', count);
    objects.on('update', count);
    await objects.start();
    watches.push(objects, await watchAppGroups(viaProxy, count));
  }
  const statusSizes: number[] = [];
  const before = proxy.log.length;
  const c0 = { ...(await serverCpu()), client: benchCpu(), machine: await machineCpu() };
  seen = 0;
  const t0 = performance.now();
  await mapLimit(groups, Number(values.concurrency), async (group) => {
    const g = Number(group.metadata.name?.slice(1));
    const labels = { [LABEL.name]: groupName(g), [LABEL.namespace]: nsOfW(g) };
    const objects = Array.from({ length: OBJECTS }, (_, o) =>
      floorObject('writes', g, o, without.has('labels') ? undefined : labels),
    );
    const startedAt = new Date();
    await mapLimit(objects, 8, (o) => viaProxy.apply(o, { ...SSA, dryRun: true }));
    const applied = await mapLimit(objects, 8, (o) => viaProxy.apply(o, SSA));
    const next = nextAppGroupStatus({
      previous: {},
      generation: group.metadata.generation ?? 1,
      startedAt,
      now: new Date(),
      revision,
      counts: { created: OBJECTS, configured: 0, deleted: 0 },
      inventory: objects.map((o) => entryOf(refOf(o), 'v1')),
      health: groupHealth(
        applied.map((a) => ({ name: describeRef(refOf(a)), health: objectHealth(a) })),
        0,
        300_000,
      ),
      adopted: [],
      pruneSkipped: [],
      invalidInventory: [],
    });
    statusSizes.push(JSON.stringify({ status: next.status }).length);
    if (!without.has('status'))
      await viaProxy.patchStatus(statusRefOf(KINDS.AppGroup.plural, group), next.status);
    if (!without.has('events'))
      for (const e of next.events) await events.emit(group, e.type, e.reason, e.message);
  });
  // The last status patches' watch events, as Shoal's cold start ends at the last group's Ready.
  const expected =
    watches.length === 0
      ? 0
      : GROUPS * (without.has('labels') ? 0 : OBJECTS) + (without.has('status') ? 0 : GROUPS);
  await waitFor('the writes floor watched', async () => seen >= expected, {
    timeoutMs: 120_000,
    intervalMs: 10,
  });
  const seconds = (performance.now() - t0) / 1000;
  const c1 = { ...(await serverCpu()), client: benchCpu(), machine: await machineCpu() };
  const requestsByKind = byKind(proxy.log.slice(before), 1);
  for (const w of watches) await w.stop();
  await mapLimit(groups, 8, (group) => direct.delete(group));
  await waitFor(
    "the writes floor's groups deleted",
    async () => (await direct.list('shoal.dev/v1alpha1', 'AppGroup', {})).items.length === 0,
    { timeoutMs: 120_000, intervalMs: 200 },
  );
  return {
    seconds,
    cpu: {
      apiserver: c1.apiserver - c0.apiserver,
      etcd: c1.etcd - c0.etcd,
      clientAndProxy: c1.client - c0.client,
      machine: c1.machine - c0.machine,
    },
    requestsByKind,
    statusBytes: percentile(statusSizes, 50),
  };
}

/** Thrown after the floors with --floors-only. */
class FloorsDone extends Error {}

const LEASE_ID = 'shoal-bench';
const operators: { process: ReturnType<typeof shoalProcess>; port: number; pid: number }[] = [];
const extraProxies: FaultProxy[] = [];

/** `shoal run` as replica `r` through `kubeconfig` (its proxy), with a metrics port of its own. */
function startReplica(r: number, kubeconfig: string): (typeof operators)[number] {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const process_ = shoalProcess(
    kubeconfig,
    [
      '--allow-file-urls',
      `--metrics-addr=127.0.0.1:${port}`,
      '--webhook-addr=',
      // One replica as the figures before sharding were taken; more: sharded over Leases.
      ...(REPLICAS === 1
        ? ['--leader-elect=false']
        : ['--leader-election-namespace=default', `--leader-election-id=${LEASE_ID}`]),
      `--concurrency=${values.concurrency}`,
      '--log-level=error',
    ],
    {
      SHOAL_CACHE_DIR: join(dir, `cache-${r}`),
      NODE_OPTIONS: values['node-options'],
      ...(values['malloc-arena-max'] ? { MALLOC_ARENA_MAX: values['malloc-arena-max'] } : {}),
      POD_NAME: `bench-r${r}`,
    },
    values.sources ? undefined : OPERATOR_BUNDLE,
  );
  return { process: process_, port, pid: process_.child.pid ?? 0 };
}

/** The dry runs (`dry`) or the applies of ConfigMaps among `requests`. Pure. */
const configMapPatches = (requests: readonly ProxiedRequest[], dry: boolean) =>
  requests.filter(
    (r) => r.method === 'PATCH' && r.path.includes('/configmaps/') && r.query.has('dryRun') === dry,
  ).length;

/**
 * A restart of the one replica (an upgrade, a rescheduled pod), on the groups of the cold start:
 * SIGTERM, then the same command with the same cache directory. Nothing changed meanwhile; the new
 * process has no memo of its predecessor's syncs, only what status says. Measured until its apply
 * step has run for every group (shoal_reconcile_step_duration_seconds_count, step="apply", polled
 * every 100 ms): the seconds, the requests until then (with the dry runs and applies among them),
 * and the new process's CPU and RSS at that moment.
 */
async function restartOne(log: ProxiedRequest[]) {
  const old = operators[0];
  if (!old) return undefined;
  old.process.child.kill('SIGTERM');
  await Promise.race([old.process.exit, sleep(20_000)]);
  await old.process.kill();
  const from = log.length;
  const t0 = performance.now();
  const fresh = startReplica(0, join(dir, 'bench.kubeconfig'));
  operators[0] = fresh;
  let exitCode: number | null | undefined;
  void fresh.process.exit.then((code) => {
    exitCode = code;
  });
  // Until its metrics port is up, the scrape fails: none yet.
  while ((await applySteps(`http://127.0.0.1:${fresh.port}`).catch(() => 0)) < GROUPS) {
    if (exitCode !== undefined)
      throw new Error(
        `shoal run exited (${exitCode}) after the restart:\n${fresh.process.output().slice(-2000)}`,
      );
    if (performance.now() - t0 > 30 * 60_000) throw new Error('restart: not every group applied in 30 min');
    await sleep(100);
  }
  const seconds = (performance.now() - t0) / 1000;
  const requests = log.slice(from);
  return {
    seconds,
    requests: requests.length,
    dryRuns: configMapPatches(requests, true),
    applies: configMapPatches(requests, false),
    requestsByKind: byKind(requests, 1),
    shoalCpuSeconds: await cpuSeconds(fresh.pid),
    rssMiB: await rssMiB(fresh.pid),
    peakRssMiB: await rssMiB(fresh.pid, 'VmHWM'),
  };
}

/**
 * A full re-list of replica 0, as after etcd compacted its watches' resourceVersion or on its
 * periodic safety net (every 10 min): the proxy ends every open watch with 410 Gone, and each
 * informer lists its kind afresh (the managed ConfigMaps among them) before it watches again. The
 * peak RSS is the kernel's high-water mark (VmHWM), reset just before: what a memory limit must
 * allow for. Measured until every watch is open again; then the RSS for 30 s while it settles.
 */
async function relistOne(proxy: FaultProxy) {
  const o = operators[0];
  if (!o) return undefined;
  await writeFile(`/proc/${o.pid}/clear_refs`, '5');
  const from = proxy.log.length;
  const cpu0 = await cpuSeconds(o.pid);
  const t0 = performance.now();
  const cut = proxy.expireWatches();
  while (proxy.openWatches() < cut) {
    if (performance.now() - t0 > 10 * 60_000)
      throw new Error('relist: the watches did not come back in 10 min');
    await sleep(50);
  }
  const seconds = (performance.now() - t0) / 1000;
  const lists = proxy.log.slice(from).filter((r) => r.method === 'GET' && !r.watch);
  const shoalCpuSeconds = (await cpuSeconds(o.pid)) - cpu0;
  const rssAfterMiB = await rssMiB(o.pid);
  // What stays once the process is idle again: the RSS every 5 s for 30 s after.
  const settling: number[] = [];
  for (let i = 0; i < 6; i++) {
    await sleep(5_000);
    settling.push(Math.round(await rssMiB(o.pid)));
  }
  return {
    seconds,
    watches: cut,
    listRequests: lists.length,
    configMapListRequests: lists.filter((r) => r.path.endsWith('/configmaps')).length,
    shoalCpuSeconds,
    peakRssMiB: await rssMiB(o.pid, 'VmHWM'),
    rssAfterMiB,
    rssSettlingMiB: settling,
  };
}

/**
 * SIGKILL of replica 0: for each shard it held, how long until another live replica holds its Lease
 * (polled every 100 ms); how long until the new owners have run the apply step of each of its
 * groups, and the dry runs and applies they sent for them (none while nothing changed: the groups'
 * status.appliedDigest); then a hand edit of an object of one of its groups, until reverted.
 */
async function killOne(log: ProxiedRequest[]) {
  const victim = operators[0];
  if (!victim) return undefined;
  const survivorSteps = async () =>
    (await Promise.all(operators.slice(1).map((o) => applySteps(`http://127.0.0.1:${o.port}`)))).reduce(
      (a, b) => a + b,
      0,
    );
  const shardLeases = async () =>
    (
      await cluster.kube.list<Lease>('coordination.k8s.io/v1', 'Lease', {
        namespace: 'default',
        labelSelector: `${SHARD_LABELS.memberOf}=${LEASE_ID},${SHARD_LABELS.role}=shard`,
      })
    ).items;
  const holderOf = (l: Lease) => l.spec.holderIdentity ?? '';
  const its = (await shardLeases()).filter((l) => holderOf(l).startsWith('bench-r0_'));
  const names = new Set(its.map((l) => l.metadata.name));
  const victimShards = new Set(its.map((l) => Number(l.metadata.annotations?.[SHARD_ANNOTATIONS.shard])));
  const count = Number(its[0]?.metadata.annotations?.[SHARD_ANNOTATIONS.count] ?? 12);
  const orphaned = Array.from({ length: GROUPS }, (_, g) => g).filter((g) =>
    victimShards.has(shardOf(`${nsOf(g)}/${groupName(g)}`, count)),
  );
  const steps0 = await survivorSteps();
  const from = log.length;
  const k0 = performance.now();
  await victim.process.kill();
  const taken = new Map<string, number>();
  while (taken.size < names.size && performance.now() - k0 < 120_000) {
    for (const l of await shardLeases())
      if (
        names.has(l.metadata.name) &&
        !taken.has(l.metadata.name) &&
        holderOf(l) &&
        !holderOf(l).startsWith('bench-r0_')
      )
        taken.set(l.metadata.name, (performance.now() - k0) / 1000);
    await sleep(100);
  }
  const seconds = [...taken.values()];
  // The new owners re-sync what they took over (the apply step of each of its groups).
  while ((await survivorSteps()) - steps0 < orphaned.length && performance.now() - k0 < 300_000)
    await sleep(100);
  const resyncedSeconds = (performance.now() - k0) / 1000;
  const resync = log.slice(from);
  // A hand edit of an object of an orphaned group is reverted by its new owner.
  const orphan = orphaned[0];
  const revertedSeconds = orphan === undefined ? undefined : await editUntilReverted(cluster.kube, orphan, 0);
  operators.shift();
  return {
    shards: names.size,
    takenOver: taken.size,
    leaseTakeoverSecondsP50: percentile(seconds, 50),
    leaseTakeoverSecondsP99: percentile(seconds, 99),
    groups: orphaned.length,
    resyncedSeconds,
    resyncDryRuns: configMapPatches(resync, true),
    resyncApplies: configMapPatches(resync, false),
    orphanDriftRevertedSeconds: revertedSeconds,
  };
}
try {
  const direct = cluster.kube;
  const proxy = await FaultProxy.start(cp.kubeconfig, { tag: 'bench' });
  const viaProxy = new Kube(loadKubeConfig({ kubeconfig: await proxy.kubeconfig(dir) }));
  say(`writing a repository of ${GROUPS} directories x ${OBJECTS} ConfigMaps`);
  const files: Record<string, string> = {};
  for (let g = 0; g < GROUPS; g++)
    for (let o = 0; o < OBJECTS; o++) files[`groups/${groupName(g)}/o${o}.yaml`] = cmYaml(g, o);
  const repo = await gitRepo(files);

  // The floors: the same objects, concurrently, through the proxy: raw (one server-side apply each)
  // and validated (a dry run, then the apply, each), into namespaces of their own.
  for (let n = 0; n < NAMESPACES; n++) {
    for (const prefix of ['floor', 'validated', 'writes', 'bench'])
      await direct.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `${prefix}-${n}` } });
  }
  const all = Array.from(
    { length: GROUPS * OBJECTS },
    (_, i) => [Math.floor(i / OBJECTS), i % OBJECTS] as const,
  );
  say(`floors: ${all.length} objects with ${values['floor-concurrency']} concurrent requests`);
  const f0 = performance.now();
  await mapLimit(all, Number(values['floor-concurrency']), ([g, o]) =>
    viaProxy.apply(floorObject('floor', g, o), SSA),
  );
  const floorSeconds = (performance.now() - f0) / 1000;
  const v0 = performance.now();
  const vCpu0 = { ...(await serverCpu()), client: benchCpu(), machine: await machineCpu() };
  const validatedProfile = apiServerProfile('validated');
  await mapLimit(all, Number(values['floor-concurrency']), async ([g, o]) => {
    await viaProxy.apply(floorObject('validated', g, o), { ...SSA, dryRun: true });
    await viaProxy.apply(floorObject('validated', g, o), SSA);
  });
  const validatedSeconds = (performance.now() - v0) / 1000;
  const vCpu1 = { ...(await serverCpu()), machine: await machineCpu() };
  await validatedProfile();
  // Where the floor's CPU went: the API server and etcd, and this process (the loop and the proxy).
  const validatedCpu = {
    apiserver: vCpu1.apiserver - vCpu0.apiserver,
    etcd: vCpu1.etcd - vCpu0.etcd,
    clientAndProxy: benchCpu() - vCpu0.client,
    machine: vCpu1.machine - vCpu0.machine,
  };
  say(`floors: raw ${floorSeconds.toFixed(1)} s, validated ${validatedSeconds.toFixed(1)} s`);
  const writes = values['no-writes-floor'] ? undefined : await writesFloor(viaProxy, direct, repo, proxy);
  if (writes) say(`floors: with Shoal's writes ${writes.seconds.toFixed(1)} s`);
  if (values['floors-only']) {
    const floors = {
      floorSeconds,
      validatedFloorSeconds: validatedSeconds,
      validatedFloorCpuSeconds: validatedCpu,
      writes,
    };
    if (values.json) await writeFile(values.json, JSON.stringify(floors, null, 2));
    process.stdout.write(`${JSON.stringify(floors, null, 2)}\n`);
    await proxy.close();
    await repo.remove();
    throw new FloorsDone();
  }

  // As installed (manifests/): AppGroups get the finalizer from the API server as they are created.
  if (!values['no-finalizer-policy'])
    await installFinalizerPolicy(
      cp,
      resolve(import.meta.dirname, '..', 'manifests', 'finalizer-policy.yaml'),
    );
  for (let n = 0; n < NAMESPACES; n++) {
    await direct.apply({
      apiVersion: 'shoal.dev/v1alpha1',
      kind: 'GitSource',
      metadata: { name: 'repo', namespace: `bench-${n}` },
      spec: { url: repo.url, interval: '1m' },
    });
  }
  await applyGroups(direct, nsOf, { interval: values.interval });

  const readiness = await watchReadiness(direct, GROUPS);
  say(`starting ${REPLICAS} shoal run (concurrency ${values.concurrency}) against ${GROUPS} groups`);
  const cpu0 = { ...(await serverCpu()), proxy: benchCpu(), machine: await machineCpu() };
  const t0 = performance.now();
  const coldProfile = apiServerProfile('cold-start');
  const requestsBefore = proxy.log.length;
  for (let r = 0; r < REPLICAS; r++) {
    // Replica 0 goes through the proxy made above; the others through proxies of their own, one log.
    const own = r === 0 ? proxy : await FaultProxy.start(cp.kubeconfig, { tag: `r${r}`, log: proxy.log });
    if (r > 0) extraProxies.push(own);
    const kubeconfig = r === 0 ? join(dir, 'bench.kubeconfig') : await own.kubeconfig(dir);
    operators.push(startReplica(r, kubeconfig));
  }
  // An operator that exits during the cold start (a refused flag, a crash) fails the run at once.
  let coldStarting = true;
  const exited = new Promise<never>((_, reject) => {
    for (const o of operators)
      void o.process.exit.then((code) => {
        if (coldStarting)
          reject(
            new Error(
              `shoal run exited (${code}) during the cold start:\n${o.process.output().slice(-2000)}`,
            ),
          );
      });
  });
  await Promise.race([
    exited,
    readiness.all,
    // Unreferenced: a pending hour must not keep the process alive once the benchmark is done.
    sleep(60 * 60_000, undefined, { ref: false }).then(() =>
      Promise.reject(new Error('not all Ready in an hour')),
    ),
  ]);
  coldStarting = false;
  const coldSeconds = ((readiness.at ?? performance.now()) - t0) / 1000;
  await readiness.stop();
  const coldRequests = proxy.log.slice(requestsBefore);
  const cpu1 = { ...(await serverCpu()), machine: await machineCpu() };
  await coldProfile();
  const cpu = {
    shoal: await Promise.all(operators.map((o) => cpuSeconds(o.pid))),
    apiserver: cpu1.apiserver - cpu0.apiserver,
    etcd: cpu1.etcd - cpu0.etcd,
    // This process meanwhile: the counting proxy (and the 1 s Ready poll).
    proxy: benchCpu() - cpu0.proxy,
    // Every process on the machine (git and other children of Shoal's are not in its own figure).
    machine: cpu1.machine - cpu0.machine,
  };
  // The size of the status Shoal wrote, beside the writes floor's (the same computation, so ~equal).
  const sample = await direct.get<AppGroup>({
    apiVersion: 'shoal.dev/v1alpha1',
    kind: 'AppGroup',
    namespace: nsOf(0),
    name: groupName(0),
  });
  const shoalStatusBytes = JSON.stringify({ status: sample?.status }).length;
  say(
    `cold start: all ${GROUPS} Ready after ${coldSeconds.toFixed(1)} s (${coldRequests.length} API requests)`,
  );

  // Steady state: let the cold start's tail settle, then count requests and sample memory.
  await sleep(20_000);
  const windowS = Number(values.window);
  const scrapeOne = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const scrapeAll = () => Promise.all(operators.map((o) => scrapeOne(o.port)));
  const reconciles = async () =>
    (await scrapeAll()).reduce(
      (n, text) => n + sumMetric(text, 'shoal_reconcile_total', 'kind="AppGroup"'),
      0,
    );
  const reconcilesBefore = await reconciles();
  const w0 = proxy.log.length;
  const cpuW0 = await Promise.all(operators.map((o) => cpuSeconds(o.pid)));
  const rss: number[][] = operators.map(() => []);
  const wEnd = performance.now() + windowS * 1000;
  while (performance.now() < wEnd) {
    for (const [i, o] of operators.entries()) rss[i]?.push(await rssMiB(o.pid));
    await sleep(5_000);
  }
  const steady = proxy.log.slice(w0);
  const cpuInWindow = (await Promise.all(operators.map((o) => cpuSeconds(o.pid)))).map(
    (c, i) => c - (cpuW0[i] ?? 0),
  );
  const reconcilesInWindow = (await reconciles()) - reconcilesBefore;
  const groupsPerReplica = (await scrapeAll()).map((text) =>
    REPLICAS === 1 ? GROUPS : sumMetric(text, 'shoal_shard_groups'),
  );
  const perMinute = (steady.length / windowS) * 60;

  // Drift: a change by hand (another field manager) to a random managed object, until reverted.
  const drift: number[] = [];
  for (let i = 0; i < Number(values['drift-samples']); i++) {
    const g = Math.floor(Math.random() * GROUPS);
    const o = Math.floor(Math.random() * OBJECTS);
    drift.push(await editUntilReverted(direct, g, o));
    await sleep(300);
  }
  const metrics = (await scrapeAll())[0] ?? '';
  const breakdown = {
    rssAnonMiB: await rssMiB(operators[0]?.pid ?? 0, 'RssAnon'),
    rssFileMiB: await rssMiB(operators[0]?.pid ?? 0, 'RssFile'),
    threads: (await rssMiB(operators[0]?.pid ?? 0, 'Threads')) * 1024,
  };
  const relist = REPLICAS === 1 ? await relistOne(proxy) : undefined;
  if (relist)
    say(
      `relist: ${relist.watches} watches expired, back ${relist.seconds.toFixed(1)} s after (${relist.listRequests} lists), peak RSS ${relist.peakRssMiB.toFixed(0)} MiB`,
    );
  const handover = REPLICAS > 1 ? await killOne(proxy.log) : undefined;
  const restart = REPLICAS === 1 && !values['no-restart'] ? await restartOne(proxy.log) : undefined;
  if (restart)
    say(
      `restart: every group's apply step run again ${restart.seconds.toFixed(1)} s after (${restart.requests} API requests, ${restart.dryRuns} dry runs, ${restart.applies} applies)`,
    );

  const result = {
    groups: GROUPS,
    objectsPerGroup: OBJECTS,
    concurrency: Number(values.concurrency),
    coldStart: {
      seconds: coldSeconds,
      floorSeconds,
      validatedFloorSeconds: validatedSeconds,
      validatedFloorCpuSeconds: validatedCpu,
      ratio: coldSeconds / floorSeconds,
      ratioToValidated: coldSeconds / validatedSeconds,
      ...(writes
        ? {
            writesFloorSeconds: writes.seconds,
            writesFloorCpuSeconds: writes.cpu,
            writesFloorRequestsByKind: writes.requestsByKind,
            writesFloorStatusBytes: writes.statusBytes,
            shoalStatusBytes,
            ratioToWrites: coldSeconds / writes.seconds,
            writesOverValidated: writes.seconds / validatedSeconds,
          }
        : {}),
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
      // Every 5 s from 20 s after the cold start: the first sample may still hold the parse
      // workers, which stop after 15 s without work.
      rssMiB: rss.map((r) => ({
        mean: r.reduce((a, b) => a + b, 0) / r.length,
        max: Math.max(...r),
        samples: r.map((v) => Math.round(v)),
      })),
      cpuPercent: cpuInWindow.map((c) => (c / windowS) * 100),
      // Of replica 0 at the end of the window: what the RSS is made of.
      ...breakdown,
      heapUsedMiB: sumMetric(metrics, 'shoal_process_nodejs_heap_size_used_bytes') / 2 ** 20,
      heapTotalMiB: sumMetric(metrics, 'shoal_process_nodejs_heap_size_total_bytes') / 2 ** 20,
      externalMiB: sumMetric(metrics, 'shoal_process_nodejs_external_memory_bytes') / 2 ** 20,
    },
    driftToRevertedSeconds: { samples: drift.length, p50: percentile(drift, 50), p99: percentile(drift, 99) },
    ...(relist ? { relist } : {}),
    ...(restart ? { restart } : {}),
    replicas: {
      count: REPLICAS,
      groups: groupsPerReplica,
      maxOverMin: Math.max(...groupsPerReplica) / Math.max(1, Math.min(...groupsPerReplica)),
      ...(handover ? { handoverAfterSigkill: handover } : {}),
    },
  };
  if (values.json) await writeFile(values.json, JSON.stringify(result, null, 2));
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(
    `${GROUPS} groups x ${OBJECTS} objects on ${REPLICAS} replica(s): cold start ${coldSeconds.toFixed(1)} s vs ` +
      `raw floor ${floorSeconds.toFixed(1)} s (${result.coldStart.ratio.toFixed(2)}x), validated floor ` +
      `${validatedSeconds.toFixed(1)} s (${result.coldStart.ratioToValidated.toFixed(2)}x)` +
      (writes
        ? `, floor with Shoal's writes ${writes.seconds.toFixed(1)} s (${(coldSeconds / writes.seconds).toFixed(2)}x; ` +
          `${(writes.seconds / validatedSeconds).toFixed(2)}x the validated floor)`
        : '') +
      `; steady state ` +
      `${result.steadyState.rssMiB.map((r) => r.mean.toFixed(0)).join('/')} MiB RSS, ${perMinute.toFixed(0)} API requests/min for ` +
      `${result.steadyState.appGroupReconcilesPerMinute.toFixed(0)} re-syncs/min (interval ${values.interval}); drift reverted p50 ${result.driftToRevertedSeconds.p50.toFixed(2)} s, ` +
      `p99 ${result.driftToRevertedSeconds.p99.toFixed(2)} s` +
      (relist
        ? `; a full re-list ${relist.seconds.toFixed(1)} s, peak RSS ${relist.peakRssMiB.toFixed(0)} MiB, ${relist.rssSettlingMiB.at(-1)} MiB 30 s after`
        : '') +
      (restart
        ? `; restart ${restart.seconds.toFixed(1)} s (${restart.requests} API requests, ${restart.dryRuns + restart.applies} dry runs and applies)`
        : '') +
      (handover
        ? `; after a SIGKILL, ${handover.takenOver} shards taken over at p50 ${handover.leaseTakeoverSecondsP50.toFixed(1)} s, ` +
          `its ${handover.groups} groups re-synced ${handover.resyncedSeconds.toFixed(1)} s after it ` +
          `(${handover.resyncDryRuns + handover.resyncApplies} dry runs and applies)`
        : '') +
      '\n',
  );
  for (const o of operators) o.process.child.kill('SIGTERM');
  await Promise.race([Promise.all(operators.map((o) => o.process.exit)), sleep(20_000)]);
  for (const p of [proxy, ...extraProxies]) await p.close();
  await repo.remove();
} catch (err) {
  // --floors-only ends here, through the same clean-up.
  if (!(err instanceof FloorsDone)) throw err;
} finally {
  for (const o of operators) await o.process.kill();
  await cluster.stop();
  await rm(dir, { recursive: true, force: true });
}
