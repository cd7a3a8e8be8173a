/**
 * Charts on a behaving cluster (tier B): Helm hooks run as phases around the main apply, with the
 * controller-manager running the Jobs and KWOK completing their pods; the published podinfo chart
 * from an HTTP chart repository goes Healthy.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ChartSource } from '../../src/api/chart-source.ts';
import { startChartRepo } from '../support/chart-repo.ts';
import { useCluster } from '../support/cluster.ts';
import { CHARTS } from '../support/fixtures.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { shoalObjects } from '../support/objects.ts';
import { startShoal } from '../support/shoal.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, newNamespace } = useCluster();
const helm = inject('helm');

interface Condition {
  type: string;
  status: string;
  lastTransitionTime?: string;
}
interface Job {
  metadata: { creationTimestamp: string };
  status?: { completionTime?: string; conditions?: Condition[] };
}
interface Deployment {
  metadata: { creationTimestamp: string };
  status?: { conditions?: Condition[] };
}

async function chartFiles(dir: string, prefix: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out[`${prefix}/${path.slice(dir.length + 1)}`] = await readFile(path, 'utf8');
  }
  return out;
}

describe('charts on tier B', () => {
  let ns: string;
  let repo: TestRepo;
  let charts: Awaited<ReturnType<typeof startChartRepo>>;
  let shoal: Awaited<ReturnType<typeof startShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  const get = <T extends object>(kind: 'Job' | 'Deployment', name: string) =>
    kube.get<T>({ apiVersion: kind === 'Job' ? 'batch/v1' : 'apps/v1', kind, namespace: ns, name });

  beforeAll(async () => {
    ns = await newNamespace('e2e-charts');
    o = shoalObjects(kube, ns);
    repo = await gitRepo(await chartFiles(join(CHARTS, 'hooks'), 'charts/hooks'));
    charts = await startChartRepo(helm);
    await charts.publish(join(CHARTS, 'podinfo'), '6.9.0');
    shoal = await startShoal({
      kubeconfig: cp.kubeconfig,
      namespace: ns,
      extraArgs: ['--allow-insecure-http', '--allow-file-urls'],
    });
    await o.source('repo', { url: repo.url, interval: '1h' });
  });

  afterAll(async () => {
    await shoal?.stop();
    await charts?.close();
    await repo?.remove();
  });

  it('runs the pre-install Job to completion before the Deployment exists, the post-install Job after it is Healthy', async () => {
    // Watched as it happens: whenever the Deployment is seen, the pre-install Job must be Complete
    // already, and the post-install Job must not exist before the Deployment is Available.
    const seen: string[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const [pre, dep, post] = await Promise.all([
          get<Job>('Job', 'web-migrate'),
          get<Deployment>('Deployment', 'web-app'),
          get<Job>('Job', 'web-smoke'),
        ]);
        const complete = (j?: Job) =>
          j?.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True');
        const available = dep?.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True');
        const state = `pre=${pre ? (complete(pre) ? 'complete' : 'running') : '-'} deployment=${dep ? (available ? 'available' : 'created') : '-'} post=${post ? (complete(post) ? 'complete' : 'running') : '-'}`;
        if (seen.at(-1) !== state) seen.push(state);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await o.group('web', {
      sourceRef: { name: 'repo' },
      path: 'charts/hooks',
      interval: '1h',
      timeout: '2m',
    });
    const g = await waitFor(
      'Healthy with both hook phases done',
      async () => {
        const g = await o.getGroup('web');
        return g?.status?.health?.status === 'Healthy' && g.status.hooks?.post === 'Succeeded'
          ? g
          : undefined;
      },
      { timeoutMs: 120_000 },
    )
      .catch(async (err) => {
        console.log(
          JSON.stringify(
            { seen, status: (await o.getGroup('web'))?.status, source: (await o.getSource('repo'))?.status },
            null,
            1,
          ),
        );
        throw err;
      })
      .finally(() => {
        watching = false;
      });
    await watch;
    // The pre-install Job was seen on its own, with no Deployment yet.
    expect(seen.some((s) => !s.startsWith('pre=-') && s.includes('deployment=-'))).toBe(true);
    // Every state seen with a Deployment has the pre-install Job complete; none has the
    // post-install Job before the Deployment is available.
    expect(seen.filter((s) => !s.includes('deployment=-')).every((s) => s.startsWith('pre=complete'))).toBe(
      true,
    );
    expect(seen.filter((s) => !s.includes('post=-')).every((s) => s.includes('deployment=available'))).toBe(
      true,
    );
    expect(seen.at(-1)).toBe('pre=complete deployment=available post=complete');
    // And by the API server's clocks (second resolution).
    const pre = (await get<Job>('Job', 'web-migrate')) as Job;
    const dep = (await get<Deployment>('Deployment', 'web-app')) as Deployment;
    const post = (await get<Job>('Job', 'web-smoke')) as Job;
    const availableAt = dep.status?.conditions?.find((c) => c.type === 'Available')?.lastTransitionTime ?? '';
    expect(Date.parse(pre.status?.completionTime ?? '')).toBeLessThanOrEqual(
      Date.parse(dep.metadata.creationTimestamp),
    );
    expect(Date.parse(post.metadata.creationTimestamp)).toBeGreaterThanOrEqual(Date.parse(availableAt));
    // Hooks stay out of the inventory.
    expect(g.status?.inventory?.map((e) => e.id)).toEqual([`${ns}_web-app_apps_Deployment`]);
  });

  it('the published podinfo chart from an HTTP chart repository goes Healthy', async () => {
    await kube.apply({
      apiVersion: 'shoal.dev/v1alpha1',
      kind: 'ChartSource',
      metadata: { name: 'podinfo', namespace: ns },
      spec: { url: charts.url, chart: 'podinfo', version: '>=6.0.0', interval: '1h' },
    } satisfies ChartSource);
    await o.group('podinfo', {
      sourceRef: { kind: 'ChartSource', name: 'podinfo' },
      interval: '1h',
      timeout: '2m',
      helm: { values: { replicaCount: 2 } },
    });
    const g = await waitFor(
      'podinfo Healthy',
      async () => {
        const g = await o.getGroup('podinfo');
        return g?.status?.health?.status === 'Healthy' ? g : undefined;
      },
      { timeoutMs: 120_000 },
    );
    expect(g.status?.lastAppliedRevision).toBe('podinfo@6.9.0');
    const live = await kube.get<{ status?: { availableReplicas?: number } }>({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: ns,
      name: 'podinfo',
    });
    expect(live?.status?.availableReplicas).toBe(2);
  });
});
