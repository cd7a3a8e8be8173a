import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeConfig } from '../../src/kube/client.ts';
import { KubeApiError } from '../../src/kube/kube-api-error.ts';
import { LeaseApi, leaseRequestTimeoutMs } from '../../src/kube/lease-api.ts';
import { realClock } from '../../src/runtime/clock.ts';
import { LeaderElector } from '../../src/runtime/leader-election.ts';
import type { Log } from '../../src/runtime/logger.ts';
import { ShardCoordinator } from '../../src/runtime/shard-coordinator.ts';
import { memberLeaseName, shardLeaseName } from '../../src/runtime/shards.ts';
import { useCluster } from '../support/cluster.ts';
import { FaultProxy, type ProxiedRequest } from '../support/fault-proxy.ts';
import { waitFor } from '../support/wait.ts';

const { cp, newNamespace } = useCluster();

/** Short timings, as the shard tests use: a 4 s renew deadline, retried every 500 ms. */
const TIMINGS = { leaseDurationMs: 6_000, renewDeadlineMs: 4_000, retryPeriodMs: 500 };
const TIMEOUT_MS = leaseRequestTimeoutMs(TIMINGS);

/**
 * A Lease request that never answers (a connection black-holed by a partition, a proxy or a load
 * balancer) costs one renewal, not the membership: each Lease request has a timeout of its own, and
 * the shards are renewed on a loop of their own, beside the member Lease and the list. The real API server through a fault proxy; the requests
 * the rules hold are never forwarded.
 */
describe('Lease requests that never answer (the real API server through a fault proxy)', () => {
  let ns: string;
  let dir: string;
  let proxy: FaultProxy;
  let leases: LeaseApi;
  const removers: (() => void)[] = [];
  /** Holds the first `times` requests matching `match` for ever (removed after each test). */
  const hang = (match: (r: ProxiedRequest) => boolean, times = 1) => {
    const { held, remove } = proxy.hang(match, times);
    removers.push(remove);
    return held;
  };
  afterEach(() => {
    for (const remove of removers.splice(0)) remove();
  });
  const leasePut = (name: string) => (r: ProxiedRequest) =>
    r.method === 'PUT' && r.path.endsWith(`/leases/${name}`);
  const leaseList = (r: ProxiedRequest) => r.method === 'GET' && r.path.endsWith('/leases');

  /** One member of a sharded installation, in this process, on the real clock. */
  const member = (id: string) => {
    const log: Parameters<Log>[0][] = [];
    const m = {
      log,
      lost: false,
      coordinator: new ShardCoordinator(leases, {
        namespace: ns,
        id,
        identity: `${id}-a`,
        shardCount: 4,
        ...TIMINGS,
        clock: realClock,
        log: (e) => log.push(e),
      }),
    };
    m.coordinator.run({ onStartedLeading: () => {}, onStoppedLeading: () => (m.lost = true) });
    return m;
  };

  beforeAll(async () => {
    ns = await newNamespace('leasetimeout');
    dir = await mkdtemp(join(tmpdir(), 'shoal-leasetimeout-'));
    proxy = await FaultProxy.start(cp.kubeconfig, { tag: 'leases' });
    leases = new LeaseApi(loadKubeConfig({ kubeconfig: await proxy.kubeconfig(dir) }), {
      timeoutMs: TIMEOUT_MS,
    });
  });

  afterAll(async () => {
    await proxy?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the timeout lets two tries fit in the renew deadline', () => {
    expect(TIMEOUT_MS).toBe(1_750);
    expect(leaseRequestTimeoutMs({ renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })).toBe(4_000);
    expect(2 * TIMEOUT_MS + TIMINGS.retryPeriodMs).toBeLessThanOrEqual(TIMINGS.renewDeadlineMs);
  });

  /** Resolves at the renew deadline counted from `at`, and one second past it. */
  const pastDeadline = (at: number) => sleep(Math.max(0, at + TIMINGS.renewDeadlineMs + 1_000 - Date.now()));

  it('a shard renewal that never answers is abandoned and retried on a new connection; the member keeps its shards', async () => {
    const m = member('hung-shard');
    try {
      await waitFor('all four shards held', () => m.coordinator.held().length === 4, { timeoutMs: 15_000 });
      const name = shardLeaseName('hung-shard', m.coordinator.held()[0] ?? 0);
      const connections = proxy.connections;
      const held = hang(leasePut(name));
      const at = (await waitFor('a renewal held', () => held[0]))?.at;
      // A renewal of that shard answered after the held one: a later try, on a connection of its own.
      await waitFor(
        'a renewal answered after the held one',
        () => m.lost || proxy.requests(leasePut(name)).some((r) => r.at > at && r.status === 200),
      );
      expect(m.lost).toBe(false);
      expect(proxy.connections).toBeGreaterThan(connections);
      await pastDeadline(at);
      expect({ lost: m.lost, held: m.coordinator.held().length }).toEqual({ lost: false, held: 4 });
      expect(m.log.filter((e) => e.level === 'error')).toEqual([]);
    } finally {
      await m.coordinator.release();
    }
  });

  it('a member renewal and three lists that never answer do not hold up the shard renewals', async () => {
    const m = member('hung-list');
    try {
      await waitFor('all four shards held', () => m.coordinator.held().length === 4, { timeoutMs: 15_000 });
      const heldPut = hang(leasePut(memberLeaseName('hung-list', 'hung-list-a')));
      const heldLists = hang(leaseList, 3);
      const at = (await waitFor('a member renewal held', () => heldPut[0]))?.at;
      await waitFor('three lists held', () => m.lost || heldLists.length === 3, { timeoutMs: 15_000 });
      expect(m.lost).toBe(false);
      const last = heldLists[2]?.at ?? 0;
      // While the member Lease and the lists hung, every shard was renewed.
      for (const k of m.coordinator.held())
        expect(
          proxy.requests(leasePut(shardLeaseName('hung-list', k))).some((r) => r.at > at && r.status === 200),
        ).toBe(true);
      await pastDeadline(last);
      expect({ lost: m.lost, held: m.coordinator.held().length }).toEqual({ lost: false, held: 4 });
      expect(m.log.some((e) => e.level === 'warn' && /no answer within 1750 ms/.test(String(e.error)))).toBe(
        true,
      );
    } finally {
      await m.coordinator.release();
    }
  });

  it('a leader whose renewal never answers stays the leader', async () => {
    let lost = false;
    let leading = false;
    const name = 'hung-leader';
    const elector = new LeaderElector(leases, {
      namespace: ns,
      name,
      identity: 'leader-a',
      ...TIMINGS,
      clock: realClock,
      log: () => {},
    });
    elector.run({ onStartedLeading: () => (leading = true), onStoppedLeading: () => (lost = true) });
    try {
      await waitFor('leading', () => leading);
      const held = hang((r) => r.method === 'GET' && r.path.endsWith(`/leases/${name}`));
      const at = (await waitFor('a renewal held', () => held[0]))?.at;
      await waitFor(
        'a renewal answered after the held one',
        () => lost || proxy.requests(leasePut(name)).some((r) => r.at > at && r.status === 200),
      );
      expect(lost).toBe(false);
      await pastDeadline(at);
      expect({ lost, leading: elector.leading }).toEqual({ lost: false, leading: true });
    } finally {
      await elector.release();
    }
  });

  it('a Lease renewed since it was read is not deleted (the clean-up of a dead member)', async () => {
    const name = 'renewed-member';
    const created = await leases.create({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace: ns },
      spec: { holderIdentity: 'm', leaseDurationSeconds: 6 },
    });
    const renewed = await leases.replace({
      ...created,
      spec: { ...created.spec, renewTime: '2026-01-01T00:00:00.000000Z' },
    });
    const refused = await leases.delete(created).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(KubeApiError);
    expect((refused as KubeApiError).code).toBe(409);
    expect(await leases.get({ name, namespace: ns })).toBeDefined();
    await leases.delete(renewed);
    expect(await leases.get({ name, namespace: ns })).toBeUndefined();
  });
});
