import { describe, expect, it } from 'vitest';
import { type Lease, mayAcquire } from '../../../src/runtime/leader-election.ts';

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
