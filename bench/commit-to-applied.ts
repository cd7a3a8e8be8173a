// Commit-to-applied latency of a poll-triggered sync: commit to a real repository, then time until
// the AppGroup's status.lastAppliedRevision names the commit. Prints figures; never fails on them.
//
//   npm run bench -- commit-to-applied [--commits 20] [--interval 2s] [--json out.json]
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { AppGroup } from '../src/api/app-group.ts';
import { parseDuration } from '../src/api/duration.ts';
import { runOperator } from '../src/cli/run.ts';
import { parseRunConfig } from '../src/config.ts';
import { Kube, loadKubeConfig } from '../src/kube/client.ts';
import {
  ensureBinaries,
  installCrds,
  startControlPlane,
  stopControlPlane,
} from '../test/controlplane/control-plane.ts';
import { gitRepo } from '../test/support/git-repo.ts';
import { percentile } from './stats.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    commits: { type: 'string', default: '20' },
    interval: { type: 'string', default: '2s' },
    json: { type: 'string' },
  },
});
const commits = Number(values.commits);
const intervalMs = parseDuration(values.interval);
const say = (s: string) => process.stderr.write(`${s}\n`);

const dir = await mkdtemp(join(tmpdir(), 'shoal-bench-'));
const binDir = await ensureBinaries(say);
const cp = await startControlPlane({ dir, binDir, log: say });
const repo = await gitRepo({
  'apps/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bench}\ndata: {n: "0"}\n',
});
try {
  await installCrds(cp, resolve(import.meta.dirname, '..', 'crds'));
  const kube = new Kube(loadKubeConfig({ kubeconfig: cp.kubeconfig }));
  const ns = 'bench';
  await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const config = parseRunConfig(
    [
      '--kubeconfig',
      cp.kubeconfig,
      '--allow-file-urls',
      '--metrics-addr',
      '127.0.0.1:0',
      '--webhook-addr=',
      '--cache-dir',
      join(dir, 'cache'),
      '--log-level',
      'error',
    ],
    { PATH: process.env.PATH },
  );
  const operator = await runOperator(config, () => {});
  await kube.apply({
    apiVersion: 'shoal.dev/v1alpha1',
    kind: 'GitSource',
    metadata: { name: 'repo', namespace: ns },
    spec: { url: repo.url, interval: values.interval },
  });
  await kube.apply({
    apiVersion: 'shoal.dev/v1alpha1',
    kind: 'AppGroup',
    metadata: { name: 'app', namespace: ns },
    spec: { sourceRef: { name: 'repo' }, path: 'apps', interval: '10m' },
  });
  const appliedRevision = async () =>
    (
      await kube.get<AppGroup>({
        apiVersion: 'shoal.dev/v1alpha1',
        kind: 'AppGroup',
        namespace: ns,
        name: 'app',
      })
    )?.status?.lastAppliedRevision ?? '';
  const waitApplied = async (commit: string) => {
    for (;;) {
      if ((await appliedRevision()).endsWith(commit)) return;
      await sleep(20);
    }
  };
  await waitApplied(await repo.head());

  const latencies: number[] = [];
  for (let i = 1; i <= commits; i++) {
    // Commit at a random phase of the poll cycle, as real pushes are.
    await sleep(Math.random() * intervalMs);
    const commit = await repo.commit({
      'apps/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bench}\ndata: {n: "${i}"}\n`,
    });
    const t0 = performance.now();
    await waitApplied(commit);
    latencies.push(performance.now() - t0);
    say(`commit ${i}/${commits}: applied after ${latencies.at(-1)?.toFixed(0)} ms`);
  }
  await operator.stop();

  const result = {
    benchmark: 'commit-to-applied (poll)',
    pollIntervalMs: intervalMs,
    commits,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: Math.max(...latencies),
    meanMs: latencies.reduce((a, b) => a + b, 0) / latencies.length,
  };
  if (values.json) await writeFile(values.json, JSON.stringify(result, null, 2));
  process.stdout.write(
    `commit-to-applied (poll every ${values.interval}, ${commits} commits): p50 ${result.p50Ms.toFixed(0)} ms, ` +
      `p99 ${result.p99Ms.toFixed(0)} ms, max ${result.maxMs.toFixed(0)} ms, mean ${result.meanMs.toFixed(0)} ms ` +
      `(mean minus half the interval, the sync's own share: ${(result.meanMs - intervalMs / 2).toFixed(0)} ms)\n`,
  );
} finally {
  await stopControlPlane(cp);
  await repo.remove();
  await rm(dir, { recursive: true, force: true });
}
