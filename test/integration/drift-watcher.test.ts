import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Kube, loadKubeConfig } from '../../src/kube/client.ts';
import { DriftWatcher } from '../../src/reconcile/drift-watcher.ts';
import { FakeClock } from '../../src/runtime/clock.ts';
import type { Log } from '../../src/runtime/logger.ts';
import { useCluster } from '../support/cluster.ts';
import { FaultProxy, type ProxiedRequest, type Rule } from '../support/fault-proxy.ts';
import { waitFor } from '../support/wait.ts';

const { cp, newNamespace } = useCluster();

/**
 * DriftWatcher.started, which a reconcile awaits before it would list a group's objects itself: it
 * waits for a drift cache being filled, but not for one that cannot be (a list refused, or hanging).
 * The watcher's clock is a FakeClock, so only the test moves its backoff and its bound.
 */
describe('waiting for a drift cache being filled (the real API server through a fault proxy)', () => {
  let ns: string;
  let dir: string;
  let proxy: FaultProxy;
  let kube: Kube;
  const CM = { apiVersion: 'v1', kind: 'ConfigMap' };
  /** The drift watch's list of this namespace's managed ConfigMaps (cluster-wide, labelled). */
  const driftList = (r: ProxiedRequest) =>
    r.path === '/api/v1/configmaps' && !r.watch && (r.query.get('labelSelector') ?? '').includes(ns);
  /** A rule on the proxy for one test (afterEach removes it, whatever the test did). */
  const removers: (() => void)[] = [];
  const rule = (r: Rule) => {
    const remove = proxy.rule(r);
    removers.push(remove);
    return remove;
  };
  afterEach(() => {
    for (const remove of removers.splice(0)) remove();
  });
  const watcher = (clock: FakeClock, log: Log = () => {}) =>
    new DriftWatcher(kube, { clock, log, groupNamespace: ns, onDrift: () => {} });

  beforeAll(async () => {
    ns = await newNamespace('driftwatch');
    dir = await mkdtemp(join(tmpdir(), 'shoal-driftwatch-'));
    proxy = await FaultProxy.start(cp.kubeconfig, { tag: 'driftwatch' });
    kube = new Kube(loadKubeConfig({ kubeconfig: await proxy.kubeconfig(dir) }));
  });

  afterAll(async () => {
    await proxy?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a slow list: the reader gets the cache once it is filled', async () => {
    rule((r) => (driftList(r) ? { delayMs: 1_000 } : undefined));
    const w = watcher(new FakeClock());
    const syncing = w.sync([CM]);
    expect(w.watches(CM.apiVersion, CM.kind)).toBe(false);
    // The bound (60 s on a clock nobody moves) never passes: only the filled cache ends the wait.
    await w.started(CM.apiVersion, CM.kind, 60_000);
    expect(w.watches(CM.apiVersion, CM.kind)).toBe(true);
    expect(w.cached(CM.apiVersion, CM.kind, ns)).toEqual([]);
    await syncing;
    await w.stop();
  });

  it('a list refused (403): the reader goes on at once, and the watch starts once the list is allowed', async () => {
    const refuse = rule((r) => (driftList(r) ? { status: 403, reason: 'Forbidden' } : undefined));
    const clock = new FakeClock();
    const w = watcher(clock);
    const syncing = w.sync([CM]);
    await w.started(CM.apiVersion, CM.kind, 60_000);
    expect(w.watches(CM.apiVersion, CM.kind)).toBe(false);
    expect(proxy.requests(driftList).at(-1)?.status).toBe(403);
    // It keeps trying after its backoff (1 s on this clock); allowed now, it starts.
    refuse();
    clock.advance(1_000);
    await syncing;
    expect(w.watches(CM.apiVersion, CM.kind)).toBe(true);
    await w.stop();
  });

  it('a refused kind no inventory has any more is given up: it lists no more, and logs no more', async () => {
    rule((r) => (driftList(r) ? { status: 403, reason: 'Forbidden' } : undefined));
    const clock = new FakeClock();
    const logged: string[] = [];
    const w = watcher(clock, (l) => logged.push(String(l.msg)));
    const starting = w.sync([CM]);
    await w.started(CM.apiVersion, CM.kind, 60_000);
    const lists = () => proxy.requests(driftList).length;
    const before = lists();
    clock.advance(1_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(lists()).toBe(before + 1);
    // The kind left every inventory: the start still retrying is given up, not left to retry for ever.
    await w.sync([]);
    await starting;
    expect(w.kinds).toEqual([]);
    const logs = logged.length;
    for (let i = 0; i < 5; i++) clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(lists()).toBe(before + 1);
    expect(logged.slice(logs)).toEqual([]);
    expect(logged).not.toContain('cannot watch for drift');
  });

  it('a list that hangs: the reader goes on once its bound has passed', async () => {
    rule((r) => (driftList(r) ? 'hang' : undefined));
    const clock = new FakeClock();
    const w = watcher(clock);
    void w.sync([CM]);
    let released = false;
    const waiting = w.started(CM.apiVersion, CM.kind, 5_000).then(() => {
      released = true;
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(released).toBe(false);
    clock.advance(5_000);
    await waiting;
    expect(w.watches(CM.apiVersion, CM.kind)).toBe(false);
    // Stopped, it gives the start up, and the hanging list with it (its connection closed).
    await w.stop();
    expect(w.kinds).toEqual([]);
    const held = proxy.requests((r) => driftList(r) && r.fault === 'hang');
    expect(held.length).toBeGreaterThan(0);
    await waitFor('the hanging list given up', () => held.every((r) => r.abandonedAt !== undefined), {
      timeoutMs: 5_000,
    });
  });
});
