import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiError } from '../../src/kube/kube-api-error.ts';
import { useCluster } from '../support/cluster.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { scrapeMetric } from '../support/metrics.ts';
import { shoalObjects } from '../support/objects.ts';
import { postGenericPush } from '../support/push-hook.ts';
import { startShoal } from '../support/shoal.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, newNamespace } = useCluster();

describe('leader election on a Lease', () => {
  let ns: string;
  let repo: TestRepo;
  let o: ReturnType<typeof shoalObjects>;
  const replicas: { shoal: Awaited<ReturnType<typeof startShoal>>; lost: boolean; stopped: boolean }[] = [];
  const start = async () => {
    const r = { lost: false, stopped: false } as (typeof replicas)[number];
    r.shoal = await startShoal({
      kubeconfig: cp.kubeconfig,
      namespace: ns,
      leaderElect: true,
      onLostLease: () => {
        r.lost = true;
      },
      extraArgs: ['--allow-file-urls', '--shards=off', '--leader-election-id=shoal-test-leader'],
    });
    replicas.push(r);
    return r;
  };
  const leaders = async () => {
    const live = replicas.filter((r) => !r.stopped);
    const flags = await Promise.all(live.map((r) => scrapeMetric(r.shoal.metricsUrl, 'shoal_leader')));
    return live.filter((_, i) => flags[i] === 1);
  };

  beforeAll(async () => {
    ns = await newNamespace('leader');
    o = shoalObjects(kube, ns);
    repo = await gitRepo({
      'apps/a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: "1"}\n',
    });
    await start();
    await start();
  });

  afterAll(async () => {
    for (const r of replicas) if (!r.stopped) await r.shoal.stop();
    await repo?.remove();
  });

  it('exactly one replica leads, and only the leader reconciles', async () => {
    const [leader] = await waitFor('one leader', async () => {
      const l = await leaders();
      return l.length === 1 ? l : undefined;
    });
    await o.source('repo', { url: repo.url, interval: '1s' });
    await o.group('app', { sourceRef: { name: 'repo' }, path: 'apps', interval: '1h' });
    await o.groupAt('app', await repo.head());
    const standby = replicas.find((r) => r !== leader);
    // Neither lost the Lease on the way (a leader change would make the next check meaningless).
    expect(replicas.map((r) => r.lost)).toEqual([false, false]);
    expect(await scrapeMetric(leader?.shoal.metricsUrl ?? '', 'shoal_reconcile_total')).toBeGreaterThan(0);
    expect(await scrapeMetric(standby?.shoal.metricsUrl ?? '', 'shoal_reconcile_total')).toBe(0);
    expect((await leaders()).length).toBe(1);
  });

  it('a leader that stops releases the Lease; the standby takes over and syncs', async () => {
    const [leader] = await leaders();
    if (!leader) throw new Error('no leader');
    await leader.shoal.stop();
    leader.stopped = true;
    const [next] = await waitFor(
      'a new leader',
      async () => {
        const l = await leaders();
        return l.length === 1 ? l : undefined;
      },
      { timeoutMs: 10_000 },
    );
    const commit = await repo.commit({
      'apps/a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: "2"}\n',
    });
    await o.groupAt('app', commit);
    expect(await scrapeMetric(next?.shoal.metricsUrl ?? '', 'shoal_reconcile_total')).toBeGreaterThan(0);
  });

  it('a leader cut off from its Lease stops writing once the renew deadline passes', async () => {
    const [leader] = await leaders();
    if (!leader) throw new Error('no leader');
    // Another holder takes the Lease, as after a partition: renewals now fail for the old leader.
    // Read and replace again when a renewal came in between (409 Conflict).
    await waitFor('the Lease taken by someone else', async () => {
      const lease = await kube.get<{ metadata: object; spec: Record<string, unknown> }>({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        namespace: ns,
        name: 'shoal-test-leader',
      });
      try {
        await kube.replace({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          ...lease,
          spec: {
            ...lease?.spec,
            holderIdentity: 'someone-else',
            renewTime: new Date().toISOString().replace('Z', '000Z'),
            leaseDurationSeconds: 3600,
          },
        });
        return true;
      } catch (err) {
        if (KubeApiError.from(err).code === 409) return false;
        throw err;
      }
    });
    await waitFor('lost lease', () => leader.lost, { timeoutMs: 10_000 });
    expect(await scrapeMetric(leader.shoal.metricsUrl, 'shoal_leader')).toBe(0);
    const before = await scrapeMetric(leader.shoal.metricsUrl, 'shoal_reconcile_total');
    await repo.commit({
      'apps/a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: "3"}\n',
    });
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await scrapeMetric(leader.shoal.metricsUrl, 'shoal_reconcile_total')).toBe(before);
  });
});

describe('a push webhook received by a standby (catalogue D18)', () => {
  const TOKEN = 'standby-hook-1618';
  let ns: string;
  let repo: TestRepo;
  let o: ReturnType<typeof shoalObjects>;
  const replicas: Awaited<ReturnType<typeof startShoal>>[] = [];

  beforeAll(async () => {
    ns = await newNamespace('standby');
    o = shoalObjects(kube, ns);
    repo = await gitRepo({
      'apps/a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: "1"}\n',
    });
    for (let i = 0; i < 2; i++)
      replicas.push(
        await startShoal({
          kubeconfig: cp.kubeconfig,
          namespace: ns,
          leaderElect: true,
          extraArgs: ['--allow-file-urls', '--shards=off', '--leader-election-id=shoal-standby-test'],
        }),
      );
    await o.secret('hook', { token: TOKEN });
    // Polled once an hour: a commit that lands sooner came through the webhook.
    await o.source('repo', { url: repo.url, interval: '1h', webhookSecretRef: { name: 'hook' } });
    await o.group('app', { sourceRef: { name: 'repo' }, path: 'apps', interval: '1h' });
    await o.groupAt('app', await repo.head());
  });

  afterAll(async () => {
    for (const r of replicas) await r.stop();
    await repo?.remove();
  });

  it('is not dropped: the standby marks the source, the leader fetches and applies the commit', async () => {
    const flags = await Promise.all(replicas.map((r) => scrapeMetric(r.metricsUrl, 'shoal_leader')));
    const standby = replicas[flags.indexOf(0)];
    if (!standby || !flags.includes(1)) throw new Error(`expected one leader and one standby, got ${flags}`);
    const commit = await repo.commit({
      'apps/a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: "2"}\n',
    });
    expect(await postGenericPush(standby.webhookUrl, TOKEN, repo.url)).toBe(202);
    await o.groupAt('app', commit, 15_000);
    expect((await o.getSource('repo'))?.metadata.annotations?.['shoal.dev/requested-at']).toBeDefined();
    expect(await scrapeMetric(standby.metricsUrl, 'shoal_reconcile_total')).toBe(0);
  });
});
