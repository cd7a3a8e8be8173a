// On a behaving cluster (tier B: controller-manager, scheduler, KWOK nodes, metrics-server), the time
// from a change in pod CPU usage to the new replica count written, split in two: usage changed →
// metrics.k8s.io reports it (KWOK and metrics-server's 10 s resolution), and reported → the
// autoscaler wrote the scale subresource (at most one sync period). Usage alternates high and low;
// the app's scale-down window is 0 so both directions are measured. Prints figures; never fails on them.
//
//   npm run bench -- autoscale-tier-b [--changes 6] [--period 15s] [--json out.json]

import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { parseMilli } from '../src/api/quantity.ts';
import { listPodMetrics } from '../src/metrics/pod-metrics.ts';
import { kubectl } from '../test/controlplane/control-plane.ts';
import { USAGE_ANNOTATIONS } from '../test/controlplane/tier-b.ts';
import { gitRepo } from '../test/support/git-repo.ts';
import { shoalObjects } from '../test/support/objects.ts';
import { startOperator } from '../test/support/operator.ts';
import { startCluster } from '../test/support/test-cluster.ts';
import { waitFor } from '../test/support/wait.ts';
import { percentile } from './stats.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    changes: { type: 'string', default: '6' },
    period: { type: 'string', default: '15s' },
    json: { type: 'string' },
  },
});
const say = (s: string) => process.stderr.write(`${s}\n`);
const cluster = await startCluster({ log: say, tierB: true });
const cp = cluster.state;
const ns = await cluster.newNamespace('bench');
const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}, annotations: {${USAGE_ANNOTATIONS.cpu}: 250m}}
    spec: {containers: [{name: web, image: "nginx:1.27", resources: {requests: {cpu: 500m}}}]}
`;
const repo = await gitRepo({ 'apps/web.yaml': deployment });
try {
  const { kube } = cluster;
  const o = shoalObjects(kube, ns);
  const operator = await startOperator({
    kubeconfig: cp.kubeconfig,
    namespace: ns,
    kustomize: cluster.kustomize,
    logLevel: 'error',
    extraArgs: ['--allow-file-urls', `--autoscaler-sync-period=${values.period}`],
  });
  await o.source('repo', { url: repo.url, interval: '1h' });
  await o.group('app', {
    sourceRef: { name: 'repo' },
    path: 'apps',
    interval: '1h',
    apps: [
      {
        name: 'web',
        autoscaling: {
          minReplicas: 2,
          maxReplicas: 8,
          metrics: [
            {
              type: 'Resource',
              resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
            },
          ],
          behavior: { scaleDown: { stabilizationWindowSeconds: 0 } },
        },
      },
    ],
  });
  const replicas = async () =>
    (
      await kube.get<{ spec: { replicas: number } }>({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: ns,
        name: 'web',
      })
    )?.spec.replicas;
  const runningPods = async () =>
    (
      await kube.list<{ metadata: { name: string }; status?: { phase?: string } }>('v1', 'Pod', {
        namespace: ns,
        labelSelector: 'app=web',
      })
    ).items
      .filter((p) => p.status?.phase === 'Running')
      .map((p) => p.metadata.name);
  // Polled every 50 ms, so the figures' resolution is well under a second.
  const until = <T>(what: string, check: () => Promise<T | undefined | false>) =>
    waitFor(what, check, { timeoutMs: 180_000, intervalMs: 50 });
  await until('2 running pods', async () => (await replicas()) === 2 && (await runningPods()).length === 2);
  // Settle: the autoscaler sees the template's 250m (50 % of the request: on target).
  await sleep(25_000);

  const toMetrics: number[] = [];
  const toWrite: number[] = [];
  const total: number[] = [];
  for (let i = 0; i < Number(values.changes); i++) {
    const high = i % 2 === 0;
    const before = (await replicas()) ?? 0;
    const pods = await until('the pods of the new count running', async () => {
      const p = await runningPods();
      return p.length === before ? p : undefined;
    });
    // High: 200 % of the target (doubles, within the default scale-up policy); low: 20 % (back to 2).
    const cpu = high ? 500 : 50;
    const t0 = performance.now();
    await kubectl(cp, [
      '-n',
      ns,
      'annotate',
      '--overwrite',
      'pods',
      ...pods,
      `${USAGE_ANNOTATIONS.cpu}=${cpu}m`,
    ]);
    await until('metrics.k8s.io reports the new usage', async () => {
      const m = await listPodMetrics(kube, ns, 'app=web');
      const byPod = new Map(m.map((p) => [p.metadata.name, parseMilli(p.containers[0]?.usage.cpu ?? '0')]));
      return pods.every((p) => Math.abs((byPod.get(p) ?? -1) - cpu) < cpu * 0.05 + 1);
    });
    const t1 = performance.now();
    const after = await until('a new replica count', async () => {
      const r = await replicas();
      return r !== undefined && r !== before ? r : undefined;
    });
    const t2 = performance.now();
    toMetrics.push((t1 - t0) / 1000);
    toWrite.push((t2 - t1) / 1000);
    total.push((t2 - t0) / 1000);
    say(
      `change ${i + 1} (${high ? 'up' : 'down'}): ${before} → ${after} replicas; metrics ${((t1 - t0) / 1000).toFixed(1)} s, then written ${((t2 - t1) / 1000).toFixed(1)} s later`,
    );
  }
  const fig = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(1)} s, max ${Math.max(...xs).toFixed(1)} s`;
  console.log(`sync period ${values.period}, ${total.length} usage changes (alternating up and down):`);
  console.log(`  usage changed → metrics.k8s.io reports it: ${fig(toMetrics)}`);
  console.log(`  reported → replicas written by Shoal:      ${fig(toWrite)}`);
  console.log(`  usage changed → replicas written:          ${fig(total)}`);
  if (values.json)
    await writeFile(
      values.json,
      JSON.stringify({ period: values.period, toMetrics, toWrite, total }, null, 2),
    );
  await operator.stop();
} finally {
  await cluster.stop();
  await repo.remove();
}
