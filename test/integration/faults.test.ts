import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppGroup } from '../../src/api/app-group.ts';
import { refFromInventory } from '../../src/api/object-key.ts';
import { useCluster } from '../support/cluster.ts';
import { FaultProxy, type ProxiedRequest } from '../support/fault-proxy.ts';
import { gitRepo } from '../support/git-repo.ts';
import { shoalObjects } from '../support/objects.ts';
import { startShoal } from '../support/shoal.ts';
import { namespaceShoalProcess } from '../support/shoal-cli.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, kubectl, newNamespace } = useCluster();

const cm = (name: string, v: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {v: "${v}"}\n`;
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `cm-${from + i}`);
const files = (names: string[], v: string) =>
  Object.fromEntries(names.map((n) => [`apps/${n}.yaml`, cm(n, v)]));
/** Revision 1: cm-0..cm-9. Revision 2 changes cm-0..cm-8, removes cm-9 and adds cm-10..cm-14. */
const REV1 = files(range(0, 10), '1');
const REV2 = { ...files([...range(0, 9), ...range(10, 15)], '2'), 'apps/cm-9.yaml': null };
const REV2_NAMES = [...range(0, 9), ...range(10, 15)].sort();

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

/**
 * A namespace with revision 1 synced by a Shoal that reaches the API server only through a fault
 * proxy. `run: 'process'` runs `shoal run` as a child process (to kill it); otherwise in-process.
 */
async function synced(prefix: string, run: 'in-process' | 'process' = 'in-process') {
  const ns = await newNamespace(prefix);
  const o = shoalObjects(kube, ns);
  const tmp = await mkdtemp(join(tmpdir(), 'shoal-fault-'));
  cleanups.push(() => rm(tmp, { recursive: true, force: true }));
  const repo = await gitRepo(REV1);
  cleanups.push(() => repo.remove());
  const proxy = await FaultProxy.start(cp.kubeconfig, { tag: prefix });
  cleanups.push(() => proxy.close());
  const kubeconfig = await proxy.kubeconfig(tmp);
  const startProcess = () => {
    const p = namespaceShoalProcess(kubeconfig, ns, join(tmp, 'cache'));
    cleanups.push(() => p.kill());
    return p;
  };
  let process_: ReturnType<typeof startProcess> | undefined;
  if (run === 'process') process_ = startProcess();
  else {
    const shoal = await startShoal({ kubeconfig, namespace: ns });
    cleanups.push(() => shoal.stop());
    if (process.env.DEBUG_FAULTS) cleanups.push(async () => console.log(prefix, JSON.stringify(shoal.logs)));
  }
  await o.source('repo', { url: repo.url, interval: '1s' });
  await o.group('app', { sourceRef: { name: 'repo' }, path: 'apps', interval: '1h', prune: true });
  await o.groupAt('app', await repo.head());
  /** Server-side applies (not dry runs) of the namespace's ConfigMaps. */
  const isApply = (r: ProxiedRequest) =>
    r.write && r.method === 'PATCH' && r.path.startsWith(`/api/v1/namespaces/${ns}/configmaps/`);
  const configMaps = async () =>
    (
      await kube.list<{ metadata: { name: string }; data?: { v?: string } }>('v1', 'ConfigMap', {
        namespace: ns,
      })
    ).items
      .filter((c) => c.metadata.name.startsWith('cm-'))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  return { ns, o, repo, proxy, isApply, configMaps, startProcess, process: process_ };
}

type Synced = Awaited<ReturnType<typeof synced>>;

/** Revision 2 landed whole: every object at v2 and in the inventory, and only cm-9 was ever deleted. */
async function expectRevision2(s: Synced, group: AppGroup) {
  const live = await s.configMaps();
  expect(live.map((c) => c.metadata.name)).toEqual(REV2_NAMES);
  expect(live.every((c) => c.data?.v === '2')).toBe(true);
  expect((group.status?.inventory ?? []).map((e) => refFromInventory(e).name).sort()).toEqual(REV2_NAMES);
  const deletes = s.proxy.log.filter((r) => r.method === 'DELETE' && r.path.includes(`/namespaces/${s.ns}/`));
  expect(deletes.map((r) => r.path.split('/').pop())).toEqual(['cm-9']);
  const lastApply = Math.max(...s.proxy.log.filter((r) => s.isApply(r) && r.status === 200).map((r) => r.at));
  expect(deletes[0]?.at).toBeGreaterThan(lastApply);
}

describe('faults between Shoal and the API server (through a fault-injecting proxy)', () => {
  it('the API server going away after 4 writes: the sync fails, then converges; only the removed object is pruned', async () => {
    const s = await synced('down');
    let applies = 0;
    let downUntil = 0;
    s.proxy.rule((r) => {
      if (Date.now() < downUntil) return 'drop';
      if (s.isApply(r) && ++applies === 5) {
        downUntil = Date.now() + 3_000;
        return 'drop';
      }
      return undefined;
    });
    const rev2 = await s.repo.commit(REV2);
    const group = await s.o.groupAt('app', rev2, 60_000);
    expect(s.proxy.requests((r) => r.fault === 'drop').length).toBeGreaterThan(1);
    await expectRevision2(s, group);
  });

  it('409 conflicts on the status write and on apply are retried; the status ends right, no event repeats', async () => {
    const s = await synced('conflict');
    let statusConflicts = 0;
    let applyConflicts = 0;
    s.proxy.rule((r) => {
      if (r.method === 'PATCH' && r.path.endsWith('/appgroups/app/status') && statusConflicts < 3) {
        statusConflicts++;
        return { status: 409, reason: 'Conflict' };
      }
      if (s.isApply(r) && applyConflicts < 2) {
        applyConflicts++;
        return { status: 409, reason: 'Conflict' };
      }
      return undefined;
    });
    const rev2 = await s.repo.commit(REV2);
    const group = await s.o.groupAt('app', rev2, 60_000);
    expect([statusConflicts, applyConflicts]).toEqual([3, 2]);
    expect(s.o.ready(group)?.status, JSON.stringify(group.status)).toBe('True');
    await expectRevision2(s, group);
    // The events follow the status write that groupAt saw.
    const notes = await waitFor('the event of the sync of rev2', async () => {
      const events = await kube.list<{ reason: string; note: string; regarding: { name: string } }>(
        'events.k8s.io/v1',
        'Event',
        { namespace: s.ns },
      );
      const all = events.items.filter((e) => e.regarding.name === 'app').map((e) => `${e.reason}: ${e.note}`);
      return all.some((n) => n.includes(rev2) && n.startsWith('ReconciliationSucceeded')) ? all : undefined;
    });
    expect(new Set(notes).size).toBe(notes.length);
    expect(notes.filter((n) => n.includes(rev2) && n.startsWith('ReconciliationSucceeded'))).toHaveLength(1);
  });

  it('429 and 503 with Retry-After are honoured: nothing is sent before the time asked, nothing is lost', async () => {
    const s = await synced('throttle');
    const answered: ProxiedRequest[] = [];
    s.proxy.rule((r) => {
      if (answered.length === 0 && s.isApply(r)) {
        answered.push(r);
        return { status: 503, reason: 'ServiceUnavailable', headers: { 'Retry-After': '2' } };
      }
      if (answered.length === 1 && r.method === 'PATCH' && r.path.endsWith('/appgroups/app/status')) {
        answered.push(r);
        return { status: 429, reason: 'TooManyRequests', headers: { 'Retry-After': '3' } };
      }
      return undefined;
    });
    const rev2 = await s.repo.commit(REV2);
    const group = await s.o.groupAt('app', rev2, 60_000);
    expect(answered.map((r) => r.status)).toEqual([503, 429]);
    // The reconcile failed on the 503; its status write got the 429 and Retry-After: 3. The group's
    // next request to its ConfigMaps (a dry run) waits those 3 s: no tight loop.
    const throttledAt = answered[1]?.answeredAt ?? 0;
    const next = s.proxy.requests(
      (r) => r.at > throttledAt && r.path.includes(`/namespaces/${s.ns}/configmaps`),
    );
    expect((next[0]?.at ?? 0) - throttledAt).toBeGreaterThanOrEqual(2_900);
    await expectRevision2(s, group);
  });

  it('an object a sync created but could not record (its status write failed) is pruned once Git drops it; a hand-labelled one is not', async () => {
    const s = await synced('orphan');
    // Made by hand and labelled as the group's: the labels alone must not get it deleted.
    await kubectl('-n', s.ns, 'create', 'configmap', 'copied', '--from-literal=v=1');
    await kubectl(
      '-n',
      s.ns,
      'label',
      'configmap',
      'copied',
      'shoal.dev/group-name=app',
      `shoal.dev/group-namespace=${s.ns}`,
    );
    let failing = true;
    let refused = 0;
    s.proxy.rule((r) => {
      if (failing && r.method === 'PATCH' && r.path.endsWith('/appgroups/app/status')) {
        refused++;
        return { status: 500, reason: 'InternalError' };
      }
      return undefined;
    });
    const rev2 = await s.repo.commit({ 'apps/cm-10.yaml': cm('cm-10', '1') });
    await waitFor(
      'cm-10 created, and the status write that would record it refused',
      async () => refused > 0 && (await s.configMaps()).some((c) => c.metadata.name === 'cm-10'),
    );
    expect((await s.o.getGroup('app'))?.status?.lastAppliedRevision).not.toContain(rev2);
    // Git drops it before any status write got through: cm-10 is in no inventory.
    const rev3 = await s.repo.commit({ 'apps/cm-10.yaml': null });
    await s.o.sourceAt('repo', rev3);
    failing = false;
    const group = await s.o.groupAt('app', rev3, 60_000);
    const names = range(0, 10).sort();
    expect((await s.configMaps()).map((c) => c.metadata.name)).toEqual(names);
    expect((group.status?.inventory ?? []).map((e) => refFromInventory(e).name).sort()).toEqual(names);
    const deletes = s.proxy.log.filter(
      (r) => r.method === 'DELETE' && r.path.includes(`/namespaces/${s.ns}/`),
    );
    expect(deletes.map((r) => r.path.split('/').pop())).toEqual(['cm-10']);
    expect(
      await kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: s.ns, name: 'copied' }),
    ).toBeDefined();
  });

  it('a deleted group prunes such an object too', async () => {
    const s = await synced('orphan-gone');
    s.proxy.rule((r) =>
      r.method === 'PATCH' && r.path.endsWith('/appgroups/app/status')
        ? { status: 500, reason: 'InternalError' }
        : undefined,
    );
    await s.repo.commit({ 'apps/cm-10.yaml': cm('cm-10', '1') });
    await waitFor('cm-10 created', async () =>
      (await s.configMaps()).some((c) => c.metadata.name === 'cm-10'),
    );
    await kubectl('-n', s.ns, 'delete', 'appgroup', 'app', '--wait=false');
    await waitFor('the group gone', async () => (await s.o.getGroup('app')) === undefined, {
      timeoutMs: 30_000,
    });
    expect(await s.configMaps()).toEqual([]);
  });

  it('a 410 Gone on the watches re-lists without treating anything as deleted; edits and drift still land', async () => {
    const s = await synced('gone');
    // The drift watch for ConfigMaps follows the inventory; let it start.
    await waitFor(
      'the ConfigMap drift watch',
      () => s.proxy.requests((r) => r.watch && r.path === '/api/v1/configmaps').length > 0,
    );
    const watched = (r: ProxiedRequest) => r.path.endsWith('/appgroups') || r.path === '/api/v1/configmaps';
    // A watch is open once the API server answered it, a moment after the request was seen.
    await waitFor('both watches open', () => s.proxy.openWatches(watched) >= 2);
    const t = Date.now();
    expect(s.proxy.expireWatches(watched)).toBeGreaterThanOrEqual(2);
    await waitFor('fresh lists', () => {
      const lists = s.proxy.requests((r) => r.at > t && !r.watch && r.method === 'GET' && watched(r));
      return (
        lists.some((r) => r.path.endsWith('/appgroups')) && lists.some((r) => r.path === '/api/v1/configmaps')
      );
    });
    await kubectl('-n', s.ns, 'patch', 'configmap', 'cm-0', '--type=merge', '-p', '{"data":{"v":"by-hand"}}');
    await waitFor('drift reverted', async () => (await s.configMaps())[0]?.data?.v === '1', {
      timeoutMs: 15_000,
    });
    await kubectl('-n', s.ns, 'patch', 'appgroup', 'app', '--type=merge', '-p', '{"spec":{"interval":"2h"}}');
    await waitFor('the edit reconciled', async () => {
      const g = await s.o.getGroup('app');
      return g?.status?.observedGeneration === g?.metadata.generation;
    });
    expect(s.proxy.requests((r) => r.method === 'DELETE')).toEqual([]);
    expect((await s.configMaps()).length).toBe(10);
  });

  it('a cut watch stream is re-established; edits and drift still land', async () => {
    const s = await synced('cut');
    await waitFor(
      'the ConfigMap drift watch',
      () => s.proxy.requests((r) => r.watch && r.path === '/api/v1/configmaps').length > 0,
    );
    const watched = (r: ProxiedRequest) => r.path.endsWith('/appgroups') || r.path === '/api/v1/configmaps';
    await waitFor('both watches open', () => s.proxy.openWatches(watched) >= 2);
    const t = Date.now();
    expect(s.proxy.dropWatches(watched)).toBeGreaterThanOrEqual(2);
    await waitFor('new watches', () => {
      const again = s.proxy.requests((r) => r.at > t && r.watch && watched(r));
      return (
        again.some((r) => r.path.endsWith('/appgroups')) && again.some((r) => r.path === '/api/v1/configmaps')
      );
    });
    await kubectl('-n', s.ns, 'delete', 'configmap', 'cm-3');
    await waitFor('recreated', async () => (await s.configMaps()).length === 10, { timeoutMs: 15_000 });
    await kubectl('-n', s.ns, 'patch', 'appgroup', 'app', '--type=merge', '-p', '{"spec":{"interval":"2h"}}');
    await waitFor('the edit reconciled', async () => {
      const g = await s.o.getGroup('app');
      return g?.status?.observedGeneration === g?.metadata.generation;
    });
  });

  it('Shoal killed (SIGKILL) after 4 writes and restarted: the same revision converges, the inventory is complete, nothing is pruned wrongly', async () => {
    const s = await synced('kill', 'process');
    let applies = 0;
    s.proxy.rule((r) => {
      if (s.isApply(r) && ++applies === 5) {
        void s.process?.kill();
        return 'drop';
      }
      return undefined;
    });
    const rev2 = await s.repo.commit(REV2);
    await waitFor('killed', () => s.process?.child.signalCode === 'SIGKILL');
    // Written before the crash: labelled as the group's, so no prune can mistake them for strangers.
    const early = (await s.configMaps()).filter((c) => c.data?.v === '2');
    expect(early.length).toBeGreaterThan(0);
    expect(early.length).toBeLessThan(REV2_NAMES.length);
    expect((await s.o.getGroup('app'))?.status?.lastAppliedRevision).not.toContain(rev2);
    const restarted = s.startProcess();
    // On a timeout, say what the restarted operator said.
    const group = await s.o.groupAt('app', rev2, 60_000).catch((err: Error) => {
      throw new Error(
        `${err.message}\n--- shoal run after the restart ---\n${restarted.output().slice(-6000)}`,
      );
    });
    await expectRevision2(s, group);
  });

  it('two replicas: one writes; cut off from its Lease, it stops before the other starts (no interleaved writes)', async () => {
    const ns = await newNamespace('two');
    const o = shoalObjects(kube, ns);
    const tmp = await mkdtemp(join(tmpdir(), 'shoal-fault-'));
    cleanups.push(() => rm(tmp, { recursive: true, force: true }));
    const repo = await gitRepo(REV1);
    cleanups.push(() => repo.remove());
    const log: ProxiedRequest[] = [];
    const replicas = await Promise.all(
      ['a', 'b'].map(async (tag) => {
        const proxy = await FaultProxy.start(cp.kubeconfig, { tag, log });
        cleanups.push(() => proxy.close());
        const r = { tag, proxy, lost: false };
        const shoal = await startShoal({
          kubeconfig: await proxy.kubeconfig(tmp),
          namespace: ns,
          leaderElect: true,
          onLostLease: () => {
            r.lost = true;
          },
          // One leader and a standby (sharding has tests of its own: shards.test.ts).
          extraArgs: ['--allow-file-urls', '--shards=off'],
        });
        cleanups.push(() => shoal.stop());
        return r;
      }),
    );
    await o.source('repo', { url: repo.url, interval: '1s' });
    await o.group('app', { sourceRef: { name: 'repo' }, path: 'apps', interval: '1h', prune: true });
    await o.groupAt('app', await repo.head());
    const isLease = (r: ProxiedRequest) => r.path.includes('/apis/coordination.k8s.io/');
    const writers = new Set(log.filter((r) => r.write && !isLease(r)).map((r) => r.tag));
    expect(writers.size).toBe(1);
    const leader = replicas.find((r) => writers.has(r.tag));
    const standby = replicas.find((r) => r !== leader);
    if (!leader || !standby) throw new Error('no leader');
    // A partition between the leader and the Lease: its renewals go unanswered (a black hole).
    leader.proxy.rule((r) => (isLease(r) ? 'hang' : undefined));
    // Commits keep coming, so that both replicas have writes to make throughout.
    let pushing = true;
    const pusher = (async () => {
      for (let v = 2; pushing; v++) {
        await repo.commit(files(range(0, 10), String(v)));
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    cleanups.push(async () => {
      pushing = false;
      await pusher;
    });
    await waitFor('the leader gave up', () => leader.lost, { timeoutMs: 15_000 });
    await waitFor(
      'the standby wrote',
      () => log.some((r) => r.tag === standby.tag && r.write && !isLease(r) && r.status === 200),
      { timeoutMs: 20_000 },
    );
    pushing = false;
    await pusher;
    const last = await repo.commit(files(range(0, 10), 'final'));
    await o.groupAt('app', last, 30_000);
    const writes = log.filter((r) => r.write && !isLease(r));
    const lastOfLeader = Math.max(...writes.filter((r) => r.tag === leader.tag).map((r) => r.at));
    const firstOfStandby = Math.min(...writes.filter((r) => r.tag === standby.tag).map((r) => r.at));
    expect(lastOfLeader).toBeLessThan(firstOfStandby);
    expect(
      (await kube.list<{ data: { v: string } }>('v1', 'ConfigMap', { namespace: ns })).items.filter(
        (c) => c.data?.v === 'final',
      ),
    ).toHaveLength(10);
  });

  it('a deleted group whose prune the API server refuses keeps its finalizer and objects, and finishes later', async () => {
    const s = await synced('final');
    const refuse = s.proxy.rule((r) =>
      r.method === 'DELETE' && r.path.startsWith(`/api/v1/namespaces/${s.ns}/configmaps/`)
        ? { status: 503, reason: 'ServiceUnavailable' }
        : undefined,
    );
    await kubectl('-n', s.ns, 'delete', 'appgroup', 'app', '--wait=false');
    await waitFor(
      'a refused delete',
      () => s.proxy.requests((r) => r.method === 'DELETE' && r.status === 503).length > 0,
    );
    const held = await s.o.getGroup('app');
    expect(held?.metadata.finalizers).toContain('shoal.dev/finalizer');
    expect((await s.configMaps()).length).toBe(10);
    refuse();
    await waitFor('the group gone', async () => (await s.o.getGroup('app')) === undefined, {
      timeoutMs: 30_000,
    });
    expect(await s.configMaps()).toEqual([]);
  });
});
