// The dashboard at scale: 1,000 AppGroups (1 object each, 10 namespaces) on one operator in this
// process, its API server reached through a counting proxy. Measures, in one run: the overview's
// first render in a real browser (Debian's Chromium) and the API's response time, API-server
// requests caused per page view (a first view: the token review and one access review per
// namespace and kind; a second one within the caches' 30 s: none), and the memory the histories
// hold at capacity for 1,000 groups (every app's 360 points, every group's latencies and reports),
// measured by filling a DashboardMemory. Prints figures; never fails on them.
//
//   npm run bench -- dashboard [--groups 1000] [--namespaces 10] [--views 10]
import { parseArgs } from 'node:util';
import type { AppGroup } from '../src/api/app-group.ts';
import { AUTOSCALE_POINTS, DashboardMemory, LATENCY_SAMPLES } from '../src/dashboard/memory.ts';
import { mapLimit } from '../src/runtime/map-limit.ts';
import { startBrowser } from '../test/support/browser.ts';
import { gitRepo } from '../test/support/git-repo.ts';
import { startProxiedOperator } from '../test/support/operator.ts';
import { startCluster } from '../test/support/test-cluster.ts';
import { waitFor } from '../test/support/wait.ts';
import { percentile } from './stats.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    groups: { type: 'string', default: '1000' },
    namespaces: { type: 'string', default: '10' },
    views: { type: 'string', default: '10' },
    /** Only the histories' memory (no cluster, no browser). */
    'memory-only': { type: 'boolean', default: false },
  },
});
const GROUPS = Number(values.groups);
const NAMESPACES = Number(values.namespaces);
const VIEWS = Number(values.views);
const say = (s: string) => process.stderr.write(`${s}\n`);
const GV = 'shoal.dev/v1alpha1';

// (1) The histories at capacity, measured on a memory filled as 1,000 groups' updates would fill it.
function historiesAtCapacity(): { bytes: number; heapMiB: number; memory: DashboardMemory } {
  // Typed arrays live outside the V8 heap: count both.
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  globalThis.gc?.();
  const before = used();
  let t = 0;
  const memory = new DashboardMemory(() => ++t);
  for (let g = 0; g < GROUPS; g++) {
    const key = `ns/g${g}`;
    for (let i = 0; i < AUTOSCALE_POINTS; i++) {
      memory.observe({
        apiVersion: GV,
        kind: 'AppGroup',
        metadata: { name: `g${g}`, namespace: 'ns' },
        spec: { sourceRef: { name: 'repo' } },
        status: {
          apps: [
            {
              name: 'web',
              replicas: { current: 2 + (i % 5), desired: 2 + ((i + 1) % 5) },
              lastScaleTime: `2026-01-01T00:${String(i % 60).padStart(2, '0')}:00Z`,
              reason: 'cpu resource utilization (percentage of request) above target',
              metrics: [
                {
                  type: 'Resource',
                  name: 'cpu resource utilization (percentage of request)',
                  current: `${40 + (i % 50)}%`,
                  target: '50%',
                },
              ],
            },
          ],
          budget: { requested: { cpu: `${1000 + i}m` }, allocated: { cpu: `${900 + i}m` } },
        },
      } as AppGroup);
    }
    for (let i = 0; i < LATENCY_SAMPLES; i++) memory.latency(key, 0.2 + i / 1000);
    memory.synced(key, {
      at: 1,
      revision: 'main@sha1:0123456789abcdef0123456789abcdef01234567',
      durationMs: 12,
      succeeded: true,
      objects: Array.from({ length: 10 }, (_, o) => ({
        ref: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: `g${g}-o${o}` },
        action: 'unchanged' as const,
      })),
      more: 0,
    });
  }
  globalThis.gc?.();
  const heapMiB = (used() - before) / 2 ** 20;
  return { bytes: memory.approximateBytes(), heapMiB, memory };
}
const capacity = historiesAtCapacity();
const capacityLine =
  `histories at capacity for ${GROUPS} groups (${AUTOSCALE_POINTS} points per app, ${LATENCY_SAMPLES} latencies, a report each): ` +
  `${(capacity.bytes / 2 ** 20).toFixed(1)} MiB in their arrays and reports, ${capacity.heapMiB.toFixed(1)} MiB of heap and buffers`;
if (values['memory-only']) {
  process.stdout.write(`${capacityLine}\n`);
  process.exit(0);
}

// (2) The operator with the dashboard, 1,000 groups, through the counting proxy.
const cluster = await startCluster({ log: say });
const name = (g: number) => `g${String(g).padStart(4, '0')}`;
// One ConfigMap of its own per group (two groups declaring one object is an ownership conflict).
const repo = await gitRepo(
  Object.fromEntries(
    Array.from({ length: GROUPS }, (_, g) => [
      `apps/${name(g)}/cm.yaml`,
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name(g)}}\ndata: {v: "1"}\n`,
    ]),
  ),
);
const browser = await startBrowser(say);
try {
  const { kube } = cluster;
  const namespaces = Array.from({ length: NAMESPACES }, (_, i) => `dash-bench-${i}`);
  for (const ns of namespaces) {
    await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await kube.apply({
      apiVersion: GV,
      kind: 'GitSource',
      metadata: { name: 'repo', namespace: ns },
      spec: { url: repo.url, interval: '1h' },
    });
  }
  const shoal = await startProxiedOperator({
    kubeconfig: cluster.cp.kubeconfig,
    kustomize: cluster.kustomize,
    helm: cluster.helm,
    logLevel: 'error',
    extraArgs: ['--allow-file-urls', '--dashboard-addr=127.0.0.1:0', '--concurrency=8'],
  });
  const url = shoal.dashboardUrl as string;
  await mapLimit(
    Array.from({ length: GROUPS }, (_, g) => g),
    16,
    (g) =>
      kube.apply({
        apiVersion: GV,
        kind: 'AppGroup',
        metadata: { name: name(g), namespace: namespaces[g % NAMESPACES] as string },
        spec: { sourceRef: { name: 'repo' }, path: `apps/${name(g)}`, interval: '1h' },
      }),
  );
  say(`waiting for ${GROUPS} groups to be Ready`);
  await waitFor(
    'every group Ready',
    async () =>
      (await kube.list<AppGroup>(GV, 'AppGroup')).items.filter((g) =>
        g.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      ).length >= GROUPS,
    { timeoutMs: 900_000, intervalMs: 2_000 },
  );
  await kube.apply({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'viewer', namespace: 'default' },
  });
  await kube.apply({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'dash-bench-viewer' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ kind: 'ServiceAccount', name: 'viewer', namespace: 'default' }],
  });
  const token = (await cluster.kubectl('create', 'token', 'viewer', '-n', 'default')).trim();

  // API requests the operator made while `f` ran, other than its own background (watches, leases).
  const apiRequestsDuring = async (f: () => Promise<void>) => {
    const before = shoal.proxy.log.length;
    await f();
    return shoal.proxy.log
      .slice(before)
      .filter(
        (r) => /tokenreviews|subjectaccessreviews|\/pods|\/replicasets|\/events/.test(r.path) && !r.watch,
      ).length;
  };
  const api = async () => {
    const t0 = performance.now();
    const res = await fetch(`${url}/api/overview`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { rows: unknown[] };
    return { ms: performance.now() - t0, rows: body.rows.length };
  };
  let rows = 0;
  const firstApiRequests = await apiRequestsDuring(async () => {
    rows = (await api()).rows;
  });
  const apiMs: number[] = [];
  for (let i = 0; i < VIEWS; i++) apiMs.push((await api()).ms);

  const renders: number[] = [];
  let pageRequests = 0;
  const { page } = await browser.page();
  await page.goto(url);
  await page.getByLabel('Kubernetes bearer token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('overview').waitFor({ timeout: 60_000 });
  for (let i = 0; i < VIEWS; i++) {
    const requests = await apiRequestsDuring(async () => {
      const t0 = performance.now();
      await page.reload();
      await page
        .locator('[data-testid="overview"] tbody tr')
        .nth(GROUPS - 1)
        .waitFor({ timeout: 60_000 });
      renders.push(performance.now() - t0);
    });
    pageRequests = Math.max(pageRequests, requests);
  }
  await shoal.stop();
  process.stdout.write(
    `dashboard, ${GROUPS} groups in ${NAMESPACES} namespaces (${rows} rows with the sources): ` +
      `GET /api/overview p50 ${percentile(apiMs, 50).toFixed(0)} ms, max ${Math.max(...apiMs).toFixed(0)} ms; ` +
      `first render in Chromium (reload to ${GROUPS} rows) p50 ${percentile(renders, 50).toFixed(0)} ms, max ${Math.max(...renders).toFixed(0)} ms; ` +
      `API-server requests per page view: first view ${firstApiRequests} (token and access reviews), later views ${pageRequests}; ` +
      `${capacityLine}\n`,
  );
} finally {
  await browser.close();
  await cluster.stop();
  await repo.remove();
}
