import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../support/cluster.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { shoalObjects } from '../support/objects.ts';
import { startProxiedShoal } from '../support/shoal.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, newNamespace } = useCluster();

const many = (n: number) =>
  Array.from(
    { length: n },
    (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-${i}}\ndata: {v: "1"}\n`,
  ).join('---\n');

describe('what must fit in the status (catalogue D19)', () => {
  let ns: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startProxiedShoal>>;
  let o: ReturnType<typeof shoalObjects>;

  beforeAll(async () => {
    ns = await newNamespace('limits');
    o = shoalObjects(kube, ns);
    repo = await gitRepo({ 'huge/all.yaml': many(10_001), 'small/a.yaml': many(2) });
    shoal = await startProxiedShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    await o.source('repo', { url: repo.url, interval: '1s' });
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.remove();
  });

  it('a group that would track more than the inventory holds is LimitExceeded before any write', async () => {
    await o.group('huge', { sourceRef: { name: 'repo' }, path: 'huge', interval: '1h' });
    const g = await o.groupReason('huge', 'LimitExceeded', 60_000);
    expect(o.ready(g)?.message).toBe(
      'the group would track 10001 objects, over the limit of 10000 per AppGroup; nothing was applied',
    );
    expect(shoal.writes(`/namespaces/${ns}/configmaps`)).toEqual([]);
    expect(shoal.proxy.log.filter((r) => r.path.startsWith(`/api/v1/namespaces/${ns}/configmaps`))).toEqual(
      [],
    );
  });

  it('a status write the API server refuses is itself reported, and the next one lands', async () => {
    let refused = 0;
    const remove = shoal.proxy.rule((r) => {
      if (r.method === 'PATCH' && r.path.endsWith(`/appgroups/small/status`) && refused < 3) {
        refused++;
        return { status: 413, reason: 'RequestEntityTooLarge' };
      }
      return undefined;
    });
    await o.group('small', { sourceRef: { name: 'repo' }, path: 'small', interval: '1h' });
    const event = await waitFor('a StatusWriteFailed event', async () =>
      (
        await kube.list<{ reason: string; note: string }>('events.k8s.io/v1', 'Event', { namespace: ns })
      ).items.find((e) => e.reason === 'StatusWriteFailed'),
    );
    expect(event.note).toMatch(/^could not write the AppGroup's status \(413 RequestEntityTooLarge\)/);
    await o.groupAt('small', await repo.head());
    expect(refused).toBe(3);
    remove();
  });
});
