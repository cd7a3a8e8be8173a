import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/runtime/clock.ts';
import {
  LeaderElector,
  type Lease,
  type LeaseClient,
  mayAcquire,
} from '../../../src/runtime/leader-election.ts';

const lease = (holder: string | undefined, renewTime: string, seconds = 15): Lease => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name: 'l', namespace: 'n' },
  spec: {
    ...(holder === undefined ? {} : { holderIdentity: holder }),
    renewTime,
    leaseDurationSeconds: seconds,
  },
});
const now = new Date('2026-01-01T00:00:20Z');

describe('mayAcquire', () => {
  it.each([
    ['no lease yet', undefined, true],
    ['a released lease', lease('', '2026-01-01T00:00:19.000000Z'), true],
    ['our own lease', lease('me', '2026-01-01T00:00:19.000000Z'), true],
    ["another's fresh lease", lease('other', '2026-01-01T00:00:10.000000Z'), false],
    ["another's expired lease", lease('other', '2026-01-01T00:00:04.000000Z'), true],
  ])('%s: %s', (_, l, expected) => {
    expect(mayAcquire(l, 'me', now)).toBe(expected);
  });
});

describe('LeaderElector', () => {
  it('gives up at the renew deadline even when a renewal never answers (a black-holed partition)', async () => {
    const clock = new FakeClock();
    let stored: Lease | undefined;
    let hang = false;
    const never = new Promise<never>(() => {});
    const client: LeaseClient = {
      get: async () => (hang ? never : stored),
      create: async (l) => {
        stored = l;
        return l;
      },
      replace: async (l) => {
        stored = l;
        return l;
      },
    };
    const elector = new LeaderElector(client, {
      namespace: 'n',
      name: 'l',
      identity: 'me',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      clock,
      log: () => {},
    });
    const events: string[] = [];
    elector.run({
      onStartedLeading: () => events.push(`started@${clock.now().getTime()}`),
      onStoppedLeading: () => events.push(`stopped@${clock.now().getTime()}`),
    });
    const settle = () => new Promise((r) => setImmediate(r));
    await settle();
    const t0 = clock.now().getTime();
    expect(events).toEqual([`started@${t0}`]);
    clock.advance(2_000);
    await settle();
    hang = true;
    clock.advance(2_000);
    await settle();
    clock.advance(7_999);
    await settle();
    expect(events).toHaveLength(1);
    clock.advance(1);
    expect(events).toEqual([`started@${t0}`, `stopped@${t0 + 12_000}`]);
    expect(elector.leading).toBe(false);
  });
});
