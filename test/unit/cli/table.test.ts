import { describe, expect, it } from 'vitest';
import { age, table } from '../../../src/cli/groups.ts';

describe('table', () => {
  it('pads columns to the widest cell, three spaces apart, like kubectl', () => {
    expect(
      table(
        ['NAME', 'READY'],
        [
          ['app', 'True'],
          ['a-longer-name', 'False'],
        ],
      ),
    ).toBe('NAME            READY\napp             True\na-longer-name   False\n');
  });
});

describe('age', () => {
  const now = new Date('2026-01-10T00:00:00Z');
  it.each([
    ['2026-01-09T23:59:30Z', '30s'],
    ['2026-01-09T23:50:00Z', '10m'],
    ['2026-01-09T20:00:00Z', '4h'],
    ['2026-01-01T00:00:00Z', '9d'],
    [undefined, '<unknown>'],
  ])('%s -> %s', (created, expected) => expect(age(created, now)).toBe(expected));
});
