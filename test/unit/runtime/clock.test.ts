import { afterEach, describe, expect, it, vi } from 'vitest';
import { clampTimerMs, MAX_TIMER_MS, realClock } from '../../../src/runtime/clock.ts';

afterEach(() => vi.useRealTimers());

describe('the real clock with delays past what one Node timer holds', () => {
  it('fires 1000 h after, once, not at once', () => {
    vi.useFakeTimers();
    let fired = 0;
    realClock.after(1000 * 3_600_000, () => fired++);
    vi.advanceTimersByTime(10_000);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(999 * 3_600_000);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(3_600_000);
    expect(fired).toBe(1);
    vi.advanceTimersByTime(10_000 * 3_600_000);
    expect(fired).toBe(1);
  });

  it('cancels a long delay in any part of its chain', () => {
    vi.useFakeTimers();
    let fired = 0;
    const cancel = realClock.after(2 * MAX_TIMER_MS, () => fired++);
    vi.advanceTimersByTime(MAX_TIMER_MS + 1);
    cancel();
    vi.advanceTimersByTime(2 * MAX_TIMER_MS);
    expect(fired).toBe(0);
  });

  it.each([
    [-5, 0],
    [1500, 1500],
    [1000 * 3_600_000, MAX_TIMER_MS],
    [Number.POSITIVE_INFINITY, MAX_TIMER_MS],
    [Number.NaN, MAX_TIMER_MS],
  ])('clamps %s ms to %s for one timer or abort signal', (ms, clamped) => {
    expect(clampTimerMs(ms)).toBe(clamped);
  });
});
