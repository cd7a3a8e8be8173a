import { describe, expect, it } from 'vitest';
import type { AppGroup } from '../../../src/api/app-group.ts';
import type { ChartSource } from '../../../src/api/chart-source.ts';
import type { GitSource } from '../../../src/api/git-source.ts';
import type { Kube } from '../../../src/kube/client.ts';
import { cachedReads } from '../../../src/reconcile/cached-reads.ts';
import type { InformerLike } from '../../../src/runtime/informer.ts';

/** A cache whose content and update events the test drives. */
function cache<T extends { metadata: { name?: string; namespace?: string } }>() {
  const objects = new Map<string, T>();
  const handlers: ((o: T) => void)[] = [];
  const informer = {
    on: (verb: string, cb: (o: T) => void) => {
      if (verb === 'add' || verb === 'update') handlers.push(cb);
    },
    get: (name: string, namespace?: string) => objects.get(`${namespace}/${name}`),
    list: () => [...objects.values()],
    start: async () => {},
    stop: async () => {},
  } as unknown as InformerLike<T>;
  const put = (o: T) => {
    objects.set(`${o.metadata.namespace}/${o.metadata.name}`, o);
    for (const h of handlers) h(o);
  };
  return { informer, put };
}

const group = (rv: string, revision: string): AppGroup =>
  ({
    metadata: { name: 'app', namespace: 'ns', resourceVersion: rv },
    spec: { sourceRef: { name: 'repo' }, path: '.' },
    status: { lastAppliedRevision: revision },
  }) as unknown as AppGroup;

describe('cachedReads', () => {
  const setup = () => {
    const groups = cache<AppGroup>();
    const sources = cache<GitSource>();
    const gets: string[] = [];
    let live: AppGroup | undefined;
    const kube = {
      get: async (ref: { name: string }) => {
        gets.push(ref.name);
        return live;
      },
    } as unknown as Kube;
    let now = 0;
    const reads = cachedReads(
      kube,
      { group: groups.informer, source: sources.informer, chartSource: cache<ChartSource>().informer },
      () => now,
    );
    return {
      groups,
      gets,
      reads,
      setLive: (g: AppGroup) => {
        live = g;
      },
      advance: (ms: number) => {
        now += ms;
      },
    };
  };

  it('reads from the cache, as a copy with apiVersion and kind, without a GET', async () => {
    const t = setup();
    t.groups.put(group('1', 'a'));
    const g = await t.reads.group('ns', 'app');
    expect(g).toMatchObject({
      apiVersion: 'shoal.dev/v1alpha1',
      kind: 'AppGroup',
      status: { lastAppliedRevision: 'a' },
    });
    (g as AppGroup).status = {};
    expect((await t.reads.group('ns', 'app'))?.status?.lastAppliedRevision).toBe('a');
    expect(t.gets).toEqual([]);
  });

  it('after its own write, reads live until the cache has delivered that version', async () => {
    const t = setup();
    t.groups.put(group('1', 'a'));
    const g = (await t.reads.group('ns', 'app')) as AppGroup;
    t.reads.wrote(g, '2');
    t.setLive(group('2', 'b'));
    expect((await t.reads.group('ns', 'app'))?.status?.lastAppliedRevision).toBe('b');
    expect(t.gets).toEqual(['app']);
    t.groups.put(group('2', 'b'));
    expect((await t.reads.group('ns', 'app'))?.status?.lastAppliedRevision).toBe('b');
    expect(t.gets).toEqual(['app']);
  });

  it('stops waiting for a version the cache may never show (a re-list skipped it) after a minute', async () => {
    const t = setup();
    t.groups.put(group('1', 'a'));
    t.reads.wrote((await t.reads.group('ns', 'app')) as AppGroup, '2');
    t.setLive(group('3', 'c'));
    await t.reads.group('ns', 'app');
    t.groups.put(group('3', 'c'));
    await t.reads.group('ns', 'app');
    expect(t.gets).toHaveLength(2);
    t.advance(60_001);
    expect((await t.reads.group('ns', 'app'))?.status?.lastAppliedRevision).toBe('c');
    expect(t.gets).toHaveLength(2);
  });

  it('an object not in the cache is read live', async () => {
    const t = setup();
    t.setLive(group('5', 'z'));
    expect((await t.reads.group('ns', 'app'))?.metadata.resourceVersion).toBe('5');
    expect(t.gets).toEqual(['app']);
  });
});
