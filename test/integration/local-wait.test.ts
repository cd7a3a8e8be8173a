import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../support/cluster.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { waitForApplyStep } from '../support/metrics.ts';
import { shoalObjects, watchAppGroups } from '../support/objects.ts';
import { startProxiedShoal, startShoal } from '../support/shoal.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, newNamespace } = useCluster();
const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {v: "1"}\n`;

/** Every Ready condition the namespace's AppGroups show, as `name:status/reason`, in order. */
async function watchReady(namespace: string) {
  const seen: string[] = [];
  const watch = await watchAppGroups(
    kube,
    (g) => {
      const ready = g.status?.conditions?.find((c) => c.type === 'Ready');
      if (ready) seen.push(`${g.metadata.name}:${ready.status}/${ready.reason}`);
    },
    namespace,
  );
  return { seen, stop: watch.stop };
}

const sourceNotReadyEvents = async (namespace: string) =>
  (
    await kube.list<{ reason: string; note: string }>('events.k8s.io/v1', 'Event', { namespace })
  ).items.filter((e) => e.reason === 'SourceNotReady');

/** Nothing a user sees said the group waited: every Ready its watch showed was True, no SourceNotReady event. */
async function expectNothingReported(seen: string[], namespace: string) {
  expect(seen.filter((s) => !s.endsWith('True/ReconciliationSucceeded'))).toEqual([]);
  expect(await sourceNotReadyEvents(namespace)).toEqual([]);
}

/**
 * A wait on the operator's own preparation is not the group's state: a new pod with an empty cache, or
 * a source created together with its groups, leaves the groups' status alone while it fetches.
 */
describe('waiting on this process, not on the group', () => {
  let ns: string;
  let repo: TestRepo;
  let o: ReturnType<typeof shoalObjects>;

  beforeAll(async () => {
    ns = await newNamespace('localwait');
    o = shoalObjects(kube, ns);
    // A few MB, so checking the revision out takes longer than a group's look at its source.
    repo = await gitRepo({
      'apps/a.yaml': cm('a'),
      'apps/b.yaml': cm('b'),
      'big/blob.txt': randomBytes(6 * 1024 * 1024).toString('base64'),
    });
  });

  afterAll(async () => {
    await repo?.remove();
  });

  it('a source created with its group: no Ready=False and no SourceNotReady before the first sync', async () => {
    const ready = await watchReady(ns);
    // Both before the operator starts, as an install with its first objects (or the benchmark) does.
    await o.source('repo', { url: repo.url, interval: '1h' });
    await o.group('app', { sourceRef: { name: 'repo' }, path: 'apps', interval: '1h' });
    const shoal = await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    try {
      await o.groupAt('app', await repo.head());
      // The group did look before the source had an artifact (else this test proves nothing).
      expect(
        shoal.logs.some((l) => l.kind === 'AppGroup' && l.reason === 'SourceNotReady'),
        JSON.stringify(shoal.logs.filter((l) => l.kind === 'AppGroup').slice(0, 5)),
      ).toBe(true);
      await expectNothingReported(ready.seen, ns);
    } finally {
      await Promise.all([shoal.stop(), ready.stop()]);
    }
  });

  it('a new operator with an empty cache: Ready stays True while it checks the revision out again, then it re-syncs', async () => {
    const before = await o.getGroup('app');
    expect(o.ready(before)?.status).toBe('True');
    const ready = await watchReady(ns);
    const shoal = await startProxiedShoal({ kubeconfig: cp.kubeconfig, namespace: ns, logLevel: 'debug' });
    try {
      // It syncs the group again once the artifact is here: its apply step runs, and finds by
      // status.appliedDigest that nothing changed (so it dry-runs nothing).
      await waitForApplyStep(shoal.metricsUrl);
      await waitFor('its reconcile is done', async () =>
        shoal.logs.some((l) => l.kind === 'AppGroup' && l.msg === 'reconciled' && l.key === `${ns}/app`),
      );
      expect(shoal.proxy.log.filter((r) => r.path.includes('/configmaps/'))).toEqual([]);
      expect(
        shoal.logs.some(
          (l) =>
            l.kind === 'AppGroup' && l.reason === 'SourceNotReady' && String(l.error).includes('checked out'),
        ),
        'the group looked before the revision was checked out here',
      ).toBe(true);
      await expectNothingReported(ready.seen, ns);
    } finally {
      await Promise.all([shoal.stop(), ready.stop()]);
    }
  });
});
