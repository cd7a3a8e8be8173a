// Charts: (1) the podinfo chart rendered cold (helm template in a child process, then parsed in the
// worker) against a cached render (the digest of the inputs, then the render cache), with helm
// template alone for scale; (2) a chart of 1,000 objects from Git through the whole sync on a real
// API server: first sync, a re-sync of the same revision, and a commit that changes every object.
// Prints figures measured in this run; never fails on them.
//
//   npm run bench -- helm-charts [--renders 10] [--objects 1000]
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { renderChart } from '../src/render/chart.ts';
import { DEFAULT_HELM_OPTIONS, renderDigest } from '../src/render/helm.ts';
import { ManifestParser } from '../src/render/parse-in-worker.ts';
import { RenderCache } from '../src/render/render-cache.ts';
import { realClock } from '../src/runtime/clock.ts';
import { ensureHelm } from '../test/controlplane/control-plane.ts';
import { CHARTS } from '../test/support/fixtures.ts';
import { gitRepo } from '../test/support/git-repo.ts';
import { shoalObjects } from '../test/support/objects.ts';
import { startOperator } from '../test/support/operator.ts';
import { startCluster } from '../test/support/test-cluster.ts';
import { waitFor } from '../test/support/wait.ts';
import { percentile } from './stats.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { renders: { type: 'string', default: '10' }, objects: { type: 'string', default: '1000' } },
});
const renders = Number(values.renders);
const objects = Number(values.objects);
const say = (s: string) => process.stderr.write(`${s}\n`);
const ms = (t0: number) => performance.now() - t0;
const fmt = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms`;

// (1) podinfo: cold and cached renders.
const helm = await ensureHelm(say);
const work = await mkdtemp(join(tmpdir(), 'bench-helm-'));
const parser = new ManifestParser();
const cache = new RenderCache();
const podinfo = join(CHARTS, 'podinfo');
const input = {
  releaseName: 'podinfo',
  namespace: 'default',
  valuesFiles: ['values-prod.yaml'],
  values: ['hpa: {enabled: true, cpu: 80}\n'],
  includeCRDs: true,
  skipTests: true,
};
const deps = { parser, helm: { ...DEFAULT_HELM_OPTIONS, binary: helm, workDir: work }, clock: realClock };
const render = () =>
  renderChart(
    {
      ...input,
      chartDir: podinfo,
      root: podinfo,
      patches: [],
      fetchDependency: () => Promise.reject(new Error('podinfo has no dependencies')),
    },
    deps,
  );
const cold: number[] = [];
const cached: number[] = [];
const helmOnly: number[] = [];
let count = 0;
await render(); // warms the parser worker, as a running operator's is
for (let i = 0; i < renders; i++) {
  const t0 = performance.now();
  count = (await render()).length;
  cold.push(ms(t0));
  const t1 = performance.now();
  await promisify(execFile)(helm, ['template', 'podinfo', podinfo, '-f', join(podinfo, 'values-prod.yaml')], {
    env: { PATH: process.env.PATH, HELM_CACHE_HOME: work, HELM_CONFIG_HOME: work, HELM_DATA_HOME: work },
  });
  helmOnly.push(ms(t1));
}
const key = RenderCache.key('tree-digest', `.|chart|${renderDigest(input)}`, []);
await cache.get(key, render);
for (let i = 0; i < renders; i++) {
  const t0 = performance.now();
  await cache.get(RenderCache.key('tree-digest', `.|chart|${renderDigest(input)}`, []), render);
  cached.push(ms(t0));
}
await parser.close();
await rm(work, { recursive: true, force: true });
const ratio = percentile(cold, 50) / percentile(cached, 50);
process.stdout.write(
  `podinfo render (${count} objects, ${renders} renders): cold ${fmt(cold)} (helm template alone ${fmt(helmOnly)}); ` +
    `cached p50 ${(percentile(cached, 50) * 1000).toFixed(0)} µs, max ${(Math.max(...cached) * 1000).toFixed(0)} µs; ` +
    `cold/cached ${ratio.toFixed(0)}x\n`,
);

// (2) A chart of `objects` ConfigMaps from Git through the whole sync.
const chart = (n: number) => ({
  'chart/Chart.yaml': 'apiVersion: v2\nname: many\nversion: 1.0.0\n',
  'chart/values.yaml': `count: ${objects}\nn: ${n}\n`,
  'chart/templates/configmaps.yaml': [
    '{{- range $i := until (int .Values.count) }}',
    '---',
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: cm-{{ $i }}',
    'data:',
    '  n: {{ $.Values.n | quote }}',
    '  payload: {{ printf "%s-%d" $.Release.Name $i | quote }}',
    '{{- end }}',
    '',
  ].join('\n'),
});
const cluster = await startCluster({ log: say });
const repo = await gitRepo(chart(0));
try {
  const ns = await cluster.newNamespace('bench-chart');
  const o = shoalObjects(cluster.kube, ns);
  const operator = await startOperator({
    kubeconfig: cluster.cp.kubeconfig,
    namespace: ns,
    kustomize: cluster.kustomize,
    helm: cluster.helm,
    logLevel: 'error',
  });
  await o.source('repo', { url: repo.url, interval: '1h' });
  await o.sourceAt('repo', await repo.head());
  let t0 = performance.now();
  await o.group('many', { sourceRef: { name: 'repo' }, path: 'chart', interval: '1h', timeout: '10m' });
  await o.groupAt('many', await repo.head(), 600_000);
  const first = ms(t0);
  t0 = performance.now();
  await cluster.kubectl(
    '-n',
    ns,
    'annotate',
    '--overwrite',
    'appgroup',
    'many',
    'shoal.dev/requested-at=resync',
  );
  await waitFor(
    'the re-sync',
    async () => (await o.getGroup('many'))?.status?.lastHandledReconcileAt === 'resync',
    { timeoutMs: 600_000, intervalMs: 20 },
  );
  const resync = ms(t0);
  const commit = await repo.commit(chart(1));
  t0 = performance.now();
  await cluster.kubectl(
    '-n',
    ns,
    'annotate',
    '--overwrite',
    'gitsource',
    'repo',
    'shoal.dev/requested-at=pull',
  );
  await o.groupAt('many', commit, 600_000);
  const changed = ms(t0);
  await operator.stop();
  process.stdout.write(
    `a ${objects}-object chart from Git, whole sync: first ${(first / 1000).toFixed(2)} s, ` +
      `re-sync of the same revision ${(resync / 1000).toFixed(2)} s, ` +
      `a commit changing every object ${(changed / 1000).toFixed(2)} s (fetch included)\n`,
  );
} finally {
  await cluster.stop();
  await repo.remove();
}
