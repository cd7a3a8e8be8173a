// Normalise-and-diff throughput of the pure diff engine: 10,000 live/desired pairs, a tenth drifted.
//
//   npm run bench -- diff-throughput [--objects 10000] [--rounds 5] [--json out.json]
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { diffObject } from '../src/diff/object-diff.ts';
import { percentile } from './stats.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    objects: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '5' },
    json: { type: 'string' },
  },
});
const n = Number(values.objects);

function deployment(i: number, image: string, live: boolean) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: `app-${i}`,
      namespace: `ns-${i % 50}`,
      labels: { app: `app-${i}`, 'shoal.dev/group-name': 'g', 'shoal.dev/group-namespace': 'ns' },
      ...(live
        ? {
            resourceVersion: String(1000 + i),
            uid: `uid-${i}`,
            generation: 2,
            creationTimestamp: '2026-01-01T00:00:00Z',
            annotations: { 'deployment.kubernetes.io/revision': '2' },
            managedFields: [
              {
                manager: 'shoal',
                operation: 'Apply',
                fieldsV1: {
                  'f:spec': {
                    'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { 'f:image': {} } } } },
                  },
                },
              },
              {
                manager: 'kube-controller-manager',
                operation: 'Update',
                subresource: 'status',
                fieldsV1: { 'f:status': {} },
              },
            ],
          }
        : {}),
    },
    spec: {
      replicas: 3,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      selector: { matchLabels: { app: `app-${i}` } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: `app-${i}` } },
        spec: {
          containers: [
            {
              name: 'app',
              image,
              ports: [{ containerPort: 8080, protocol: 'TCP' }],
              resources: { requests: { cpu: '100m', memory: '64Mi' } },
              env: [
                { name: 'MODE', value: 'prod' },
                { name: 'INDEX', value: String(i) },
              ],
              terminationMessagePath: '/dev/termination-log',
              imagePullPolicy: 'IfNotPresent',
            },
          ],
          restartPolicy: 'Always',
          dnsPolicy: 'ClusterFirst',
          schedulerName: 'default-scheduler',
        },
      },
    },
    ...(live ? { status: { replicas: 3, availableReplicas: 3, observedGeneration: 2 } } : {}),
  };
}

const pairs = Array.from(
  { length: n },
  (_, i) => [deployment(i, 'app:1', true), deployment(i, i % 10 === 0 ? 'app:2' : 'app:1', false)] as const,
);
const rates: number[] = [];
let drifted = 0;
for (let r = 0; r < Number(values.rounds); r++) {
  const t0 = performance.now();
  drifted = 0;
  for (const [live, desired] of pairs) if (diffObject(live, desired).action === 'configured') drifted++;
  rates.push(n / ((performance.now() - t0) / 1000));
}
const result = {
  objects: n,
  drifted,
  objectsPerSecondP50: percentile(rates, 50),
  objectsPerSecondMax: Math.max(...rates),
  rounds: rates.length,
};
if (values.json) await writeFile(values.json, JSON.stringify(result, null, 2));
process.stdout.write(
  `normalise-and-diff: ${n} Deployments (${drifted} drifted) at ${Math.round(result.objectsPerSecondP50)} objects/s (median of ${rates.length} rounds; ` +
    `${((n / result.objectsPerSecondP50) * 1000).toFixed(0)} ms for all)\n`,
);
