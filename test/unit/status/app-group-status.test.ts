import { describe, expect, it } from 'vitest';
import { ReconcileError } from '../../../src/runtime/errors/reconcile-error.ts';
import { WaitingError } from '../../../src/runtime/errors/waiting-error.ts';
import { nextAppGroupStatus, type SyncOutcome } from '../../../src/status/app-group-status.ts';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T00:00:02Z');
const rev = 'main@sha1:abc';
const ok: SyncOutcome = {
  previous: {},
  generation: 3,
  startedAt: t0,
  now: t1,
  revision: rev,
  counts: { created: 2, configured: 0, deleted: 0 },
  inventory: [{ id: 'ns_a__ConfigMap', v: 'v1' }],
  health: { status: 'Healthy', message: '2 objects current' },
  adopted: [],
  pruneSkipped: [],
  invalidInventory: [],
};
const ready = (s: ReturnType<typeof nextAppGroupStatus>) =>
  s.status.conditions?.find((c) => c.type === 'Ready');

describe('nextAppGroupStatus (pure)', () => {
  it("records the apply's digest, and keeps the one before when a run has none (it failed before the apply finished)", () => {
    const first = nextAppGroupStatus({ ...ok, appliedDigest: 'sha256:aa' }).status;
    expect(first.appliedDigest).toBe('sha256:aa');
    const failed = nextAppGroupStatus({ ...ok, previous: first, failure: new Error('boom') }).status;
    expect(failed.appliedDigest).toBe('sha256:aa');
  });

  it('a first success: Ready, Synced, the inventory, one history entry and one event', () => {
    const next = nextAppGroupStatus(ok);
    expect(ready(next)).toMatchObject({
      status: 'True',
      reason: 'ReconciliationSucceeded',
      observedGeneration: 3,
    });
    expect(next.status).toMatchObject({
      lastAppliedRevision: rev,
      lastAttemptedRevision: rev,
      sync: { status: 'Synced', revision: rev },
      inventory: ok.inventory,
      observedGeneration: 3,
    });
    expect(next.status.history).toHaveLength(1);
    expect(next.events.map((e) => e.reason)).toEqual(['ReconciliationSucceeded']);
  });

  it('an unchanged re-sync adds no history and no event, and keeps the transition time', () => {
    const first = nextAppGroupStatus(ok).status;
    const again = nextAppGroupStatus({
      ...ok,
      previous: first,
      now: new Date('2026-01-01T01:00:00Z'),
      counts: { created: 0, configured: 0, deleted: 0 },
    });
    expect(again.status.history).toEqual(first.history);
    expect(again.events).toEqual([]);
    expect(ready(again)?.lastTransitionTime).toBe(ready({ status: first, events: [] })?.lastTransitionTime);
  });

  it('a failure: Ready=False with the reason, the old lastAppliedRevision, a Warning event', () => {
    const first = nextAppGroupStatus(ok).status;
    const failed = nextAppGroupStatus({
      ...ok,
      previous: first,
      revision: 'main@sha1:def',
      failure: new ReconcileError('OwnershipConflict', 'ConfigMap/ns/a belongs to AppGroup x/y'),
      counts: { created: 0, configured: 0, deleted: 0 },
    });
    expect(ready(failed)).toMatchObject({ status: 'False', reason: 'OwnershipConflict' });
    expect(failed.status.lastAppliedRevision).toBe(rev);
    expect(failed.status.lastAttemptedRevision).toBe('main@sha1:def');
    expect(failed.status.sync?.status).toBe('OutOfSync');
    expect(failed.events).toEqual([
      { type: 'Warning', reason: 'OwnershipConflict', message: 'ConfigMap/ns/a belongs to AppGroup x/y' },
    ]);
    // The same failure again adds no second history entry.
    const again = nextAppGroupStatus({
      ...ok,
      previous: failed.status,
      revision: 'main@sha1:def',
      failure: new ReconcileError('OwnershipConflict', 'ConfigMap/ns/a belongs to AppGroup x/y'),
    });
    expect(again.status.history).toEqual(failed.status.history);
  });

  it('waiting for something is Unknown, not OutOfSync, and no history', () => {
    const waiting = nextAppGroupStatus({
      ...ok,
      failure: new WaitingError('SourceNotReady', 'no artifact', 5000),
    });
    expect(waiting.status.sync?.status).toBe('Unknown');
    expect(waiting.status.history).toEqual([]);
  });

  it('objects kept because prune is off are named in Ready and in one event when they change', () => {
    const inventory = [
      ok.inventory[0] as { id: string; v: string },
      { id: 'ns_b__ConfigMap', v: 'v1', stale: true },
    ];
    const next = nextAppGroupStatus({ ...ok, inventory });
    expect(ready(next)?.message).toContain(
      '1 object(s) that left Git are kept because prune is off: ConfigMap/ns/b',
    );
    expect(next.events.map((e) => e.reason)).toContain('StaleObjects');
    const again = nextAppGroupStatus({
      ...ok,
      previous: next.status,
      inventory,
      counts: { created: 0, configured: 0, deleted: 0 },
    });
    expect(again.events.map((e) => e.reason)).not.toContain('StaleObjects');
  });

  it('malformed inventory entries are reported and named; adopted objects get an event', () => {
    const next = nextAppGroupStatus({
      ...ok,
      invalidInventory: ['id "junk" is not <namespace>_<name>_<group>_<kind>'],
      adopted: [{ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'a' }],
    });
    expect(next.events.find((e) => e.reason === 'InvalidInventory')?.message).toContain('id "junk"');
    expect(ready(next)?.message).toContain('dropped 1 malformed inventory entries');
    expect(next.events.find((e) => e.reason === 'Adopted')?.message).toBe(
      'adopted 1 existing object(s): ConfigMap/ns/a',
    );
  });

  it('leaves status.apps and status.budget to the autoscaler', () => {
    const next = nextAppGroupStatus({
      ...ok,
      previous: { apps: [{ name: 'web', replicas: {} }], budget: { limited: [] } },
    });
    expect(next.status.apps).toBeUndefined();
    expect(next.status.budget).toBeUndefined();
  });
});
