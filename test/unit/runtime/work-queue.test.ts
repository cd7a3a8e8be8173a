import { describe, expect, it } from 'vitest';
import { KubeApiError } from '../../../src/kube/kube-api-error.ts';
import { FakeClock } from '../../../src/runtime/clock.ts';
import { runWorkers } from '../../../src/runtime/controller.ts';
import { ReconcileError } from '../../../src/runtime/errors/reconcile-error.ts';
import { StalledError } from '../../../src/runtime/errors/stalled-error.ts';
import { WaitingError } from '../../../src/runtime/errors/waiting-error.ts';
import { WorkQueue } from '../../../src/runtime/work-queue.ts';

const drain = async (q: WorkQueue) => {
  const keys: string[] = [];
  while (q.length > 0) {
    const k = (await q.get()) as string;
    keys.push(k);
    q.done(k);
  }
  return keys;
};

describe('WorkQueue', () => {
  it('holds a key once however often it is added', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add('a');
    q.add('b');
    q.add('a');
    expect(await drain(q)).toEqual(['a', 'b']);
  });

  it('hands a key re-added during processing out again only after done', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add('a');
    const k = await q.get();
    q.add('a');
    expect(q.length).toBe(0);
    q.done(k as string);
    expect(q.length).toBe(1);
  });

  it('backs off exponentially per key, up to the cap, and forget resets it', () => {
    const q = new WorkQueue({ clock: new FakeClock(), baseDelayMs: 100, maxDelayMs: 1000 });
    expect([1, 2, 3, 4, 5].map(() => q.addRateLimited('a'))).toEqual([100, 200, 400, 800, 1000]);
    expect(q.addRateLimited('b')).toBe(100);
    q.forget('a');
    expect(q.addRateLimited('a')).toBe(100);
  });

  it('adds after a delay on the injected clock, keeping the earliest timer per key', () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    q.addAfter('a', 1000);
    q.addAfter('a', 5000);
    q.addAfter('a', 500);
    clock.advance(499);
    expect(q.length).toBe(0);
    clock.advance(1);
    expect(q.length).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('runWorkers', () => {
  it('lets the error class decide: stalled stops, waiting requeues after its delay, others back off', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, baseDelayMs: 100, maxDelayMs: 1000 });
    const seen: string[] = [];
    const errors: [string, number | undefined][] = [];
    const done = runWorkers(
      q,
      2,
      async (key) => {
        seen.push(key);
        if (key === 'stalled') throw new StalledError('InvalidSpec', 'bad');
        if (key === 'waiting') throw new WaitingError('SourceNotReady', 'later', 5000);
        if (key === 'failing') throw new ReconcileError('ApplyFailed', 'boom');
        return { requeueAfterMs: 60_000 };
      },
      { onError: (key, _err, retry) => errors.push([key, retry]) },
    );
    for (const k of ['ok', 'stalled', 'waiting', 'failing']) q.add(k);
    await new Promise((r) => setImmediate(r));
    expect(errors).toEqual(
      expect.arrayContaining([
        ['stalled', undefined],
        ['waiting', 5000],
        ['failing', 100],
      ]),
    );
    clock.advance(100);
    await new Promise((r) => setImmediate(r));
    expect(seen.filter((k) => k === 'failing')).toHaveLength(2);
    clock.advance(60_000);
    await new Promise((r) => setImmediate(r));
    expect(seen.filter((k) => k === 'stalled')).toHaveLength(1);
    expect(seen.filter((k) => k === 'ok')).toHaveLength(2);
    expect(seen.filter((k) => k === 'waiting').length).toBeGreaterThanOrEqual(2);
    q.shutDown();
    await done;
  });

  it('waits as long as a throttling API server asks (Retry-After), not the shorter backoff', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, baseDelayMs: 100, maxDelayMs: 1000 });
    let calls = 0;
    const retries: (number | undefined)[] = [];
    const done = runWorkers(
      q,
      1,
      async () => {
        calls++;
        if (calls === 1) {
          throw new ReconcileError('ApplyFailed', 'throttled', {
            cause: new KubeApiError(429, 'TooManyRequests', 'slow down', { retryAfterSeconds: 7 }),
          });
        }
        return {};
      },
      { onError: (_key, _err, retry) => retries.push(retry) },
    );
    q.add('a');
    await new Promise((r) => setImmediate(r));
    expect(retries).toEqual([7000]);
    clock.advance(6_999);
    await new Promise((r) => setImmediate(r));
    expect(calls).toBe(1);
    clock.advance(1);
    await new Promise((r) => setImmediate(r));
    expect(calls).toBe(2);
    q.shutDown();
    await done;
  });
});
