import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contentDigest, slimManagedObject } from '../../src/api/cache-shapes.ts';
import type { KubernetesObject } from '../../src/api/object.ts';
import { Kube, loadKubeConfig } from '../../src/kube/client.ts';
import { KubeApiError } from '../../src/kube/kube-api-error.ts';
import { useCluster } from '../support/cluster.ts';
import { FaultProxy, type ProxiedRequest } from '../support/fault-proxy.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, newNamespace } = useCluster();

const cm = (namespace: string | undefined, name: string, data: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...(namespace ? { namespace } : {}) },
  data,
});
const deployment = (namespace: string, name: string, replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: 'web:1' }] } },
  },
});
const apply = { fieldManager: 'shoal-test', force: true, dryRun: false };

describe('the Kube client', () => {
  it('reuses its connections: 30 requests, not 30 connections (and TLS handshakes)', async () => {
    const ns = await newNamespace('pool');
    const dir = await mkdtemp(join(tmpdir(), 'shoal-pool-'));
    const proxy = await FaultProxy.start(cp.kubeconfig, { tag: 'pool' });
    try {
      const kube = new Kube(loadKubeConfig({ kubeconfig: await proxy.kubeconfig(dir) }));
      for (let i = 0; i < 30; i++) {
        await kube.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${i}`, namespace: ns } });
      }
      expect(proxy.requests((r) => r.method === 'PATCH').length).toBe(30);
      expect(proxy.connections).toBeLessThanOrEqual(3);
    } finally {
      await proxy.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a request the API server never answers ends at the timeout, a watch does not; the retry is answered', async () => {
    const ns = await newNamespace('reqtimeout');
    const dir = await mkdtemp(join(tmpdir(), 'shoal-reqtimeout-'));
    const proxy = await FaultProxy.start(cp.kubeconfig, { tag: 'reqtimeout' });
    const timeoutMs = 1_000;
    const kubeconfig = await proxy.kubeconfig(dir);
    const k = new Kube(loadKubeConfig({ kubeconfig }), { requestTimeoutMs: timeoutMs });
    // A client that has not looked up apps/v1 yet.
    const fresh = new Kube(loadKubeConfig({ kubeconfig }), { requestTimeoutMs: timeoutMs });
    const informer = k.informer(`/api/v1/namespaces/${ns}/configmaps`, 'v1', 'ConfigMap');
    try {
      await kube.apply(deployment(ns, 'web', 1), apply);
      const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'c' };
      const at = (method: string, suffix: string) => (r: ProxiedRequest) =>
        r.method === method && !r.watch && r.path.endsWith(suffix);
      // Every kind of request Shoal sends, each held once by the proxy and then sent again.
      const calls: [(r: ProxiedRequest) => boolean, () => Promise<unknown>][] = [
        [at('POST', '/configmaps'), () => k.create(cm(ns, 'c', { v: '1' }))],
        [at('GET', '/configmaps/c'), () => k.get(ref)],
        [at('GET', '/configmaps'), () => k.list('v1', 'ConfigMap', { namespace: ns })],
        [at('PATCH', '/configmaps/c'), () => k.apply(cm(ns, 'c', { v: '2' }), apply)],
        [
          at('PUT', '/configmaps/c'),
          async () =>
            k.replace({ ...(await k.get<KubernetesObject>(ref)), data: { v: '3' } } as KubernetesObject),
        ],
        [at('GET', '/deployments/web/scale'), () => k.getScale('Deployment', ns, 'web')],
        [
          at('PATCH', '/deployments/web/scale'),
          () =>
            k.applyScale({
              kind: 'Deployment',
              namespace: ns,
              name: 'web',
              replicas: 3,
              fieldManager: 'shoal-test',
            }),
        ],
        [at('DELETE', '/configmaps/c'), () => k.delete(cm(ns, 'c', {}))],
        [at('GET', '/version'), () => k.discovery()],
        [at('GET', '/apis/apps/v1'), () => fresh.isNamespaced('apps/v1', 'Deployment')],
      ];
      await informer.start();
      const started = Date.now();
      for (const [match, call] of calls) {
        const { held, remove } = proxy.hang(match);
        try {
          const error = await call().then(
            () => undefined,
            (err: unknown) => err,
          );
          expect(held).toHaveLength(1);
          const { method, path } = held[0] as ProxiedRequest;
          expect(error).toBeInstanceOf(KubeApiError);
          expect(error).toMatchObject({
            code: 0,
            reason: 'Timeout',
            message: `${method} ${path}: no answer within ${timeoutMs} ms`,
          });
          // Given up: its connection closed, so the retry cannot queue behind it.
          await waitFor('the held request abandoned', () => held[0]?.abandonedAt !== undefined);
          await call();
        } finally {
          remove();
        }
      }
      expect(await kube.getScale('Deployment', ns, 'web')).toMatchObject({ specReplicas: 3 });
      expect(await kube.get(ref)).toBeUndefined();
      // The watch opened before the first held request is still open, many timeouts later.
      expect(Date.now() - started).toBeGreaterThan(5 * timeoutMs);
      const watches = proxy.requests((r) => r.watch && r.path.endsWith('/configmaps'));
      expect(watches).toHaveLength(1);
      expect(watches[0]?.abandonedAt).toBeUndefined();
      await kube.apply(cm(ns, 'late', { v: '1' }), apply);
      await waitFor('the watch delivers a later object', () => informer.get('late', ns) !== undefined);
    } finally {
      await informer.stop();
      await proxy.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('applies straight to the API server: a dry run stores nothing, an apply stores and answers the object', async () => {
    const ns = await newNamespace('raw');
    const dry: KubernetesObject = await kube.apply(cm(ns, 'a', { v: '1' }), { ...apply, dryRun: true });
    expect(dry.metadata?.name).toBe('a');
    expect(await kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'a' })).toBeUndefined();
    const stored: KubernetesObject = await kube.apply(cm(ns, 'a', { v: '1' }), apply);
    expect(stored.metadata?.resourceVersion).toMatch(/^\d+$/);
    expect(stored.metadata?.managedFields?.[0]?.manager).toBe('shoal-test');
    const live = await kube.get<{ data: Record<string, string> }>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: ns,
      name: 'a',
    });
    expect(live?.data).toEqual({ v: '1' });
    // Cluster-scoped: no namespace in the path.
    const name = `${ns}-scoped`;
    const scoped: KubernetesObject = await kube.apply(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
      apply,
    );
    expect(scoped.metadata?.uid).toBeTruthy();
    await kube.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  });

  it("answers the API server's refusals as KubeApiError with its code, reason and message", async () => {
    const ns = await newNamespace('raw-errors');
    await kube.apply(cm(ns, 'owned', { v: '1' }), apply);
    const refused = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e,
      );
    // Another manager without force: a field conflict.
    const conflict = await refused(
      kube.apply(cm(ns, 'owned', { v: '2' }), { ...apply, fieldManager: 'other', force: false }),
    );
    expect(conflict).toBeInstanceOf(KubeApiError);
    expect((conflict as KubeApiError).code).toBe(409);
    expect((conflict as KubeApiError).reason).toBe('Conflict');
    expect((conflict as KubeApiError).message).toContain('.data.v');
    // A name the API server rejects.
    const invalid = (await refused(kube.apply(cm(ns, 'Not_Valid', {}), apply))) as KubeApiError;
    expect([invalid.code, invalid.reason]).toEqual([422, 'Invalid']);
    // A kind discovery does not know.
    const unknown = (await refused(
      kube.apply(
        { apiVersion: 'example.com/v1', kind: 'Nothing', metadata: { name: 'x', namespace: ns } },
        apply,
      ),
    )) as KubeApiError;
    expect(unknown.code).toBe(404);
    // Unreachable: no answer at all.
    const dir = await mkdtemp(join(tmpdir(), 'shoal-raw-'));
    const proxy = await FaultProxy.start(cp.kubeconfig, { tag: 'raw' });
    try {
      const through = new Kube(loadKubeConfig({ kubeconfig: await proxy.kubeconfig(dir) }));
      await through.apply(cm(ns, 'warm', {}), apply); // discovery cached
      await proxy.close();
      const gone = (await refused(through.apply(cm(ns, 'b', {}), apply))) as KubeApiError;
      expect(gone.reason).toBe('Unreachable');
    } finally {
      await proxy.close().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an informer keeps what its transform leaves, of listed and of watched objects alike', async () => {
    const ns = await newNamespace('transform');
    await kube.apply(
      {
        ...cm(ns, 'listed', { v: '1' }),
        metadata: {
          name: 'listed',
          namespace: ns,
          annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"copy"}', keep: 'me' },
        },
      },
      apply,
    );
    const informer = kube.informer(`/api/v1/namespaces/${ns}/configmaps`, 'v1', 'ConfigMap', {
      transform: slimManagedObject,
    });
    const seen: KubernetesObject[] = [];
    informer.on('add', (o) => seen.push(o as unknown as KubernetesObject));
    informer.on('update', (o) => seen.push(o as unknown as KubernetesObject));
    await informer.start();
    try {
      await kube.apply(cm(ns, 'watched', { v: '1' }), apply);
      await waitFor(
        'the watched ConfigMap in the cache',
        async () => informer.get('watched', ns) !== undefined,
      );
      for (const name of ['listed', 'watched']) {
        const o = informer.get(name, ns) as unknown as KubernetesObject;
        const entry = o.metadata?.managedFields?.[0];
        expect(entry?.manager).toBe('shoal-test');
        expect(typeof entry?.fieldsV1).toBe('string');
        expect(entry).not.toHaveProperty('fieldsType');
        expect(o.metadata?.annotations?.['kubectl.kubernetes.io/last-applied-configuration']).toBeUndefined();
      }
      expect((informer.get('listed', ns) as unknown as KubernetesObject).metadata?.annotations?.keep).toBe(
        'me',
      );
      // Handlers see the object as the cache keeps it.
      expect(seen.every((o) => typeof o.metadata?.managedFields?.[0]?.fieldsV1 === 'string')).toBe(true);
    } finally {
      await informer.stop();
    }
  });

  it('lists objects as the API server wrote them (as a GET answers them), in all namespaces without one, past 16 MiB', async () => {
    const ns = await newNamespace('list');
    // 18 ConfigMaps of ~0.95 MiB: a 17 MiB list, past the cap on a single object's answer.
    const big = 'x'.repeat(1_000_000);
    await Promise.all(
      Array.from({ length: 18 }, (_, i) =>
        kube.apply(
          {
            ...cm(ns, `big${i}`, { v: big }),
            metadata: { name: `big${i}`, namespace: ns, labels: { list: ns } },
          },
          apply,
        ),
      ),
    );
    const { items, resourceVersion } = await kube.list<KubernetesObject>('v1', 'ConfigMap', {
      namespace: ns,
    });
    expect(items.map((o) => o.metadata?.name).sort()).toEqual(
      Array.from({ length: 18 }, (_, i) => `big${i}`).sort(),
    );
    expect(resourceVersion).toMatch(/^\d+$/);
    const got = await kube.get<KubernetesObject>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: ns,
      name: 'big3',
    });
    const listed = items.find((o) => o.metadata?.name === 'big3');
    // Timestamps as the server wrote them (not Dates), and the same fields in the same order.
    expect(typeof listed?.metadata?.creationTimestamp).toBe('string');
    expect(listed?.metadata?.creationTimestamp).toBe(got?.metadata?.creationTimestamp);
    expect(Object.keys(listed?.metadata ?? {})).toEqual(Object.keys(got?.metadata ?? {}));
    expect(listed && contentDigest(listed)).toBe(got && contentDigest(got));
    // No namespace: every namespace (the label keeps it to this test's objects).
    const everywhere = await kube.list<KubernetesObject>('v1', 'ConfigMap', { labelSelector: `list=${ns}` });
    expect(everywhere.items).toHaveLength(18);
  });

  it('reads a whole list a page at a time, from one snapshot, and lists again when the snapshot expired mid-way', async () => {
    const ns = await newNamespace('pages');
    const names = Array.from({ length: 12 }, (_, i) => `p${String(i).padStart(2, '0')}`);
    await Promise.all(names.map((n) => kube.apply(cm(ns, n, { v: n }), apply)));
    const dir = await mkdtemp(join(tmpdir(), 'shoal-pages-'));
    const proxy = await FaultProxy.start(cp.kubeconfig, { tag: 'pages' });
    try {
      const paged = new Kube(loadKubeConfig({ kubeconfig: await proxy.kubeconfig(dir) }));
      const lists = () =>
        proxy.requests((r) => r.method === 'GET' && r.path.endsWith('/configmaps') && !r.watch);

      const all = await paged.list<KubernetesObject>('v1', 'ConfigMap', { namespace: ns, pageSize: 5 });
      expect(all.items.map((o) => o.metadata?.name)).toEqual(names);
      expect(lists().map((r) => [r.query.get('limit'), r.query.has('continue')])).toEqual([
        ['5', false],
        ['5', true],
        ['5', true],
      ]);
      // The list's resourceVersion is its snapshot's: a watch from it misses nothing written after.
      expect(all.resourceVersion).toMatch(/^\d+$/);

      // With a limit, one page of at most that many.
      const few = await paged.list<KubernetesObject>('v1', 'ConfigMap', { namespace: ns, limit: 4 });
      expect(few.items).toHaveLength(4);
      expect(lists()).toHaveLength(4);

      // The snapshot compacted away between two pages: the API server answers the next page 410
      // Expired (as after etcd's compaction, injected here). The list starts again, once.
      let expired = 0;
      proxy.rule((r) =>
        r.query.has('continue') && expired++ === 0 ? { status: 410, reason: 'Expired' } : undefined,
      );
      const again = await paged.list<KubernetesObject>('v1', 'ConfigMap', { namespace: ns, pageSize: 5 });
      expect(again.items.map((o) => o.metadata?.name)).toEqual(names);
      expect(
        lists()
          .slice(4)
          .map((r) => [r.query.has('continue'), r.status]),
      ).toEqual([
        [false, 200],
        [true, 410],
        [false, 200],
        [true, 200],
        [true, 200],
      ]);

      // Expired twice in a row: the list fails with the server's reason, not with a partial list.
      expired = 0;
      proxy.rule((r) => (r.query.has('continue') ? { status: 410, reason: 'Expired' } : undefined));
      const refused = await paged
        .list('v1', 'ConfigMap', { namespace: ns, pageSize: 5 })
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(KubeApiError);
      expect((refused as KubeApiError).code).toBe(410);
    } finally {
      await proxy.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("an informer's list reads pages through its transform, and a re-list keeps what the cache holds at the listed version", async () => {
    const ns = await newNamespace('pagedinf');
    const annotations = { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"copy"}' };
    const names = Array.from({ length: 7 }, (_, i) => `i${i}`);
    await Promise.all(
      names.map((n) =>
        kube.apply({ ...cm(ns, n, { v: n }), metadata: { name: n, namespace: ns, annotations } }, apply),
      ),
    );
    const dir = await mkdtemp(join(tmpdir(), 'shoal-pagedinf-'));
    const proxy = await FaultProxy.start(cp.kubeconfig, { tag: 'pagedinf' });
    const paged = new Kube(loadKubeConfig({ kubeconfig: await proxy.kubeconfig(dir) }));
    const lists = () => proxy.requests((r) => r.path.endsWith('/configmaps') && !r.watch);
    const seen: string[] = [];
    const informer = paged.informer(`/api/v1/namespaces/${ns}/configmaps`, 'v1', 'ConfigMap', {
      pageSize: 3,
      transform: (o) => {
        seen.push(o.metadata?.name ?? '');
        return slimManagedObject(o);
      },
    });
    try {
      await informer.start();
      expect(lists().map((r) => r.query.get('limit'))).toEqual(['3', '3', '3']);
      expect(seen.sort()).toEqual(names);
      for (const n of names) {
        const o = informer.get(n, ns) as unknown as KubernetesObject;
        expect((o as { data?: Record<string, string> }).data?.v).toBe(n);
        expect(o.metadata?.annotations?.['kubectl.kubernetes.io/last-applied-configuration']).toBeUndefined();
      }
      // The watch starts from the list's snapshot: a write after it reaches the cache.
      await kube.apply(cm(ns, 'later', { v: 'later' }), apply);
      await waitFor('the later ConfigMap in the cache', async () => informer.get('later', ns) !== undefined);

      // A re-list keeps what the cache holds at the listed version as it is: the same objects, not
      // transformed again (so a re-list does not build a second copy of the cache).
      const held = names.map((n) => informer.get(n, ns));
      const transformed = seen.length;
      informer.relist();
      // The informer watches again only once the whole list is in its cache: wait for that watch.
      await waitFor(
        'the re-list read and the watch open again',
        async () =>
          lists().length === 6 && proxy.requests((r) => r.watch).length === 2 && proxy.openWatches() === 1,
      );
      expect(names.map((n) => informer.get(n, ns))).toEqual(held);
      expect(names.every((n, i) => informer.get(n, ns) === held[i])).toBe(true);
      expect(seen.length).toBe(transformed);
    } finally {
      await informer.stop();
      await proxy.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
