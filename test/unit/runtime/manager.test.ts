import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/runtime/clock.ts';
import { guard } from '../../../src/runtime/guard.ts';
import { type Elector, Manager, type Runnable, type RunnableGroup } from '../../../src/runtime/manager.ts';
import {
  annotationChanged,
  anyOf,
  created,
  deletionStarted,
  generationChanged,
} from '../../../src/runtime/predicates.ts';

const silent = () => {};

function recorder() {
  const order: string[] = [];
  const runnable = (name: string, group: RunnableGroup, extra: Partial<Runnable> = {}): Runnable => {
    let release: () => void = () => {};
    return {
      name,
      group,
      start: async () => {
        order.push(`start ${name}`);
        if (group === 'leader') await new Promise<void>((r) => (release = r));
      },
      stop: async () => {
        order.push(`stop ${name}`);
        release();
      },
      ...extra,
    };
  };
  return { order, runnable };
}

class ManualElector implements Elector {
  callbacks?: { onStartedLeading: () => void; onStoppedLeading: () => void };
  released = false;
  run(callbacks: { onStartedLeading: () => void; onStoppedLeading: () => void }) {
    this.callbacks = callbacks;
  }
  async release() {
    this.released = true;
  }
}

describe('Manager', () => {
  it('starts servers, then caches, then the always-on runnables, then (as leader) the writers; stops in reverse', async () => {
    const { order, runnable } = recorder();
    const m = new Manager({ clock: new FakeClock(), log: silent, shutdownGraceMs: 1000 });
    m.add(runnable('workers', 'leader'));
    m.add(runnable('webhooks', 'always'));
    m.add(runnable('caches', 'caches'));
    m.add(runnable('health', 'servers'));
    await m.start();
    expect(order).toEqual(['start health', 'start caches', 'start webhooks', 'start workers']);
    expect(m.ready()).toBe(true);
    order.length = 0;
    await m.stop();
    expect(order).toEqual(['stop webhooks', 'stop workers', 'stop caches', 'stop health']);
    expect(m.ready()).toBe(false);
  });

  it('runs the writers only while leading, and releases the Lease on stop', async () => {
    const { order, runnable } = recorder();
    const elector = new ManualElector();
    let lost = 0;
    const m = new Manager({
      clock: new FakeClock(),
      log: silent,
      shutdownGraceMs: 1000,
      elector,
      onLostLease: () => lost++,
    });
    m.add(runnable('workers', 'leader'));
    await m.start();
    expect(order).toEqual([]);
    expect(m.leading).toBe(false);
    elector.callbacks?.onStartedLeading();
    expect(order).toEqual(['start workers']);
    elector.callbacks?.onStoppedLeading();
    expect(lost).toBe(1);
    await m.stop();
    expect(elector.released).toBe(true);
  });

  it('is unhealthy when the writers stop while it leads, or when start-up fails', async () => {
    const m = new Manager({ clock: new FakeClock(), log: silent, shutdownGraceMs: 1000 });
    m.add({ name: 'workers', group: 'leader', start: async () => {}, stop: async () => {} });
    await m.start();
    await new Promise((r) => setImmediate(r));
    expect(m.unhealthy()).toBe('workers stopped while this process leads');

    const broken = new Manager({ clock: new FakeClock(), log: silent, shutdownGraceMs: 1000 });
    broken.add({
      name: 'caches',
      group: 'caches',
      start: () => Promise.reject(new Error('no list')),
      stop: async () => {},
    });
    await expect(broken.start()).rejects.toThrow('no list');
    expect(broken.unhealthy()).toBe('start-up failed: no list');
    expect(broken.ready()).toBe(false);
  });

  it('abandons writers that outlive the grace period', async () => {
    const clock = new FakeClock();
    let abandoned = false;
    const m = new Manager({ clock, log: silent, shutdownGraceMs: 1000, onAbandon: () => (abandoned = true) });
    m.add({ name: 'stuck', group: 'leader', start: () => new Promise(() => {}), stop: async () => {} });
    await m.start();
    const stopping = m.stop();
    await new Promise((r) => setImmediate(r));
    clock.advance(1000);
    await stopping;
    expect(abandoned).toBe(true);
  });
});

describe('guard', () => {
  it('keeps a throw or a rejection in a callback from escaping, and reports it', async () => {
    const reported: string[] = [];
    const report = (where: string, err: unknown) => reported.push(`${where}: ${(err as Error).message}`);
    expect(() =>
      guard(
        'timer',
        () => {
          throw new Error('bad entry');
        },
        report,
      )(),
    ).not.toThrow();
    guard(
      'handler',
      async () => {
        throw new Error('later');
      },
      report,
    )();
    await new Promise((r) => setImmediate(r));
    expect(reported).toEqual(['timer: bad entry', 'handler: later']);
  });
});

describe('predicates', () => {
  const meta = (
    generation: number,
    annotations: Record<string, string> = {},
    deletionTimestamp?: string,
  ) => ({
    metadata: { generation, annotations, ...(deletionTimestamp ? { deletionTimestamp } : {}) },
  });
  type Meta = ReturnType<typeof meta>;
  const p = anyOf<Meta>(
    created,
    generationChanged,
    annotationChanged('shoal.dev/requested-at'),
    deletionStarted,
  );
  it.each([
    ['created', undefined, meta(1), true],
    ['a status-only write', meta(1), meta(1), false],
    ['a spec change', meta(1), meta(2), true],
    ['a manual trigger', meta(1), meta(1, { 'shoal.dev/requested-at': 'now' }), true],
    ['a deletion', meta(1), meta(1, {}, '2026-01-01T00:00:00Z'), true],
  ] as const)('%s -> %s', (_, previous, current, expected) => {
    expect(p(previous, current)).toBe(expected);
  });
});
