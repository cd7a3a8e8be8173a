import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/runtime/clock.ts';
import { type InformerLike, StartAborted, startResilient } from '../../../src/runtime/informer.ts';

/** An informer whose start outcomes are scripted: 'list-fails', 'watch-fails' (after a good list), 'ok'. */
function scripted(outcomes: ('list-fails' | 'watch-fails' | 'ok')[]) {
  const handlers: ((err?: unknown) => void)[] = [];
  const calls = { start: 0, relist: 0 };
  const informer: InformerLike<object> = {
    on: (verb: string, cb: (err?: unknown) => void) => {
      if (verb === 'error') handlers.push(cb);
    },
    start: async () => {
      calls.start++;
      const outcome = outcomes.shift() ?? 'ok';
      if (outcome === 'list-fails') {
        for (const h of handlers) h(new Error('list failed'));
        throw new Error('list failed');
      }
      if (outcome === 'watch-fails') for (const h of handlers) h(new Error('watch failed'));
    },
    stop: async () => {},
    list: () => [],
    relist: () => {
      calls.relist++;
    },
  } as InformerLike<object>;
  return { informer, calls };
}

const settle = () => new Promise((r) => setImmediate(r));
const opts = (clock: FakeClock) => ({ clock, baseDelayMs: 100, maxDelayMs: 1000, log: () => {}, name: 't' });

describe('startResilient', () => {
  it('resolves only after a list succeeded, retrying failed lists with backoff', async () => {
    const clock = new FakeClock();
    const { informer, calls } = scripted(['list-fails', 'list-fails', 'ok']);
    let done = false;
    const started = startResilient(informer, opts(clock)).then(() => {
      done = true;
    });
    await settle();
    expect([calls.start, done]).toEqual([1, false]);
    clock.advance(100);
    await settle();
    clock.advance(200);
    await settle();
    await started;
    expect([calls.start, done]).toEqual([3, true]);
  });

  it('restarts a watch that failed right after the first good list', async () => {
    const clock = new FakeClock();
    const { informer, calls } = scripted(['watch-fails', 'ok']);
    await startResilient(informer, opts(clock));
    expect(calls.start).toBe(1);
    clock.advance(100);
    await settle();
    expect(calls.start).toBe(2);
  });

  it('re-lists on a period and stops doing so once stopped', async () => {
    const clock = new FakeClock();
    const { informer, calls } = scripted(['ok']);
    const stop = await startResilient(informer, { ...opts(clock), relistEveryMs: 60_000 });
    clock.advance(180_000);
    expect(calls.relist).toBe(3);
    await stop();
    clock.advance(180_000);
    expect(calls.relist).toBe(3);
  });

  it('gives up a start whose list keeps failing once its signal aborts: no list after that', async () => {
    const clock = new FakeClock();
    const { informer, calls } = scripted(['list-fails', 'list-fails', 'list-fails', 'ok']);
    const abort = new AbortController();
    const failures: unknown[] = [];
    const started = startResilient(informer, {
      ...opts(clock),
      signal: abort.signal,
      onListFailed: (err) => failures.push(err),
    });
    const outcome = started.then(
      () => 'started',
      (err: unknown) => err,
    );
    await settle();
    clock.advance(100);
    await settle();
    expect([calls.start, failures.length]).toEqual([2, 2]);
    // Aborted while it waits out its backoff: it stops waiting and never lists again.
    abort.abort();
    expect(await outcome).toBeInstanceOf(StartAborted);
    clock.advance(10_000);
    await settle();
    expect(calls.start).toBe(2);
  });

  it('an abort that comes while a list succeeds stops the informer it started', async () => {
    const clock = new FakeClock();
    const { informer } = scripted(['ok']);
    const abort = new AbortController();
    let stopped = 0;
    const start = informer.start.bind(informer);
    informer.start = async () => {
      await start();
      abort.abort();
    };
    informer.stop = async () => {
      stopped++;
    };
    await expect(startResilient(informer, { ...opts(clock), signal: abort.signal })).rejects.toBeInstanceOf(
      StartAborted,
    );
    expect(stopped).toBe(1);
  });

  it('an abort while the list hangs stops the informer, which ends the list', async () => {
    const clock = new FakeClock();
    const { informer } = scripted([]);
    const abort = new AbortController();
    let stopped = 0;
    let endList: ((err: Error) => void) | undefined;
    informer.start = () => new Promise<void>((_, reject) => (endList = reject));
    informer.stop = async () => {
      stopped++;
      endList?.(new Error('aborted'));
    };
    const starting = startResilient(informer, { ...opts(clock), signal: abort.signal });
    await Promise.resolve();
    expect(stopped).toBe(0);
    abort.abort();
    await expect(starting).rejects.toBeInstanceOf(StartAborted);
    expect(stopped).toBe(1);
  });
});
