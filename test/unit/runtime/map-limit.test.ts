import { describe, expect, it } from 'vitest';
import { mapLimit } from '../../../src/runtime/map-limit.ts';

describe('mapLimit', () => {
  it('keeps order with at most `limit` calls in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapLimit([1, 2, 3, 4, 5, 6], 2, async (n) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 7 - n));
      inFlight--;
      return n * 10;
    });
    expect(out).toEqual([10, 20, 30, 40, 50, 60]);
    expect(most).toBe(2);
  });

  it('starts nothing after a failure, and throws only once the calls in flight have finished', async () => {
    const started: number[] = [];
    let slowFinished = false;
    const run = mapLimit([1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      if (n === 1) throw new Error('first failed');
      await new Promise((r) => setTimeout(r, 20));
      slowFinished = true;
      return n;
    });
    await expect(run).rejects.toThrow('first failed');
    expect(started).toEqual([1, 2]);
    expect(slowFinished).toBe(true);
  });
});
