import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Kube, loadKubeConfig } from '../../src/kube/client.ts';
import { WATCH_SILENCE_MS } from '../../src/kube/list-watch.ts';
import { useCluster } from '../support/cluster.ts';
import { FaultProxy, type ProxiedRequest } from '../support/fault-proxy.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, newNamespace } = useCluster();

const cm = (namespace: string, name: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace },
  data: { v: '1' },
});
const apply = { fieldManager: 'shoal-test', force: true, dryRun: false };

/** An informer of one namespace's ConfigMaps through a fault proxy, and its teardown. */
async function proxiedInformer(prefix: string, watchSilenceMs?: number) {
  const ns = await newNamespace(prefix);
  const dir = await mkdtemp(join(tmpdir(), `shoal-${prefix}-`));
  const proxy = await FaultProxy.start(cp.kubeconfig, { tag: prefix });
  const k = new Kube(loadKubeConfig({ kubeconfig: await proxy.kubeconfig(dir) }), { watchSilenceMs });
  const informer = k.informer(`/api/v1/namespaces/${ns}/configmaps`, 'v1', 'ConfigMap');
  const watches = () => proxy.requests((r) => r.watch && r.path.endsWith('/configmaps'));
  const close = async () => {
    await informer.stop();
    await proxy.close();
    await rm(dir, { recursive: true, force: true });
  };
  return { ns, proxy, informer, watches, close };
}

// The two run side by side: the first waits a minute for the API server's bookmark.
describe.concurrent("an informer's watch and silence", () => {
  it('a quiet watch is sent a bookmark well within the silence bound, so a live stream is not cut', async () => {
    const s = await proxiedInformer('quiet');
    try {
      await s.informer.start();
      const [watch] = await waitFor('the watch answered', () => {
        const w = s.watches();
        return w[0]?.answeredAt !== undefined && w;
      });
      // Nothing is written in this namespace: the first chunk is the server's timed bookmark.
      const first = await waitFor('a chunk on the quiet watch', () => watch?.chunksAt?.[0], {
        timeoutMs: WATCH_SILENCE_MS / 2,
        intervalMs: 500,
      });
      expect(first - (watch?.answeredAt ?? 0)).toBeLessThan(WATCH_SILENCE_MS / 2);
      expect(s.watches()).toHaveLength(1);
      expect(watch?.abandonedAt).toBeUndefined();
    } finally {
      await s.close();
    }
  });

  it('a watch gone silent without a reset is reopened from where it was, and delivers what changed meanwhile', async () => {
    const silenceMs = 2_000;
    const s = await proxiedInformer('frozen', silenceMs);
    try {
      await s.informer.start();
      await kube.apply(cm(s.ns, 'before'), apply);
      await waitFor('the watch delivers', () => s.informer.get('before', s.ns) !== undefined);
      expect(s.proxy.freezeWatches((r) => r.path.endsWith('/configmaps'))).toBe(1);
      const frozenAt = Date.now();
      const [frozen] = s.watches();
      await kube.apply(cm(s.ns, 'meanwhile'), apply);
      const meanwhile = () => s.informer.get('meanwhile', s.ns) !== undefined;
      await waitFor('the change made meanwhile delivered', meanwhile, { timeoutMs: 20_000 });
      // The client gave the silent stream up (its own timer, not the proxy) once silent long enough.
      const lastChunk = frozen?.chunksAt?.at(-1) ?? 0;
      expect(frozen?.abandonedAt).toBeGreaterThanOrEqual(lastChunk + silenceMs);
      // Reopened from the last resourceVersion it had: a watch, not a fresh list.
      const after = s.proxy.requests((r) => r.at >= frozenAt);
      expect(after.filter((r) => !r.watch)).toEqual([]);
      const reopened = after.filter((r: ProxiedRequest) => r.watch);
      expect(reopened.length).toBeGreaterThanOrEqual(1);
      expect(Number(reopened[0]?.query.get('resourceVersion'))).toBeGreaterThan(0);
      const names = s.informer.list(s.ns).map((c) => c.metadata?.name);
      expect(names.sort()).toEqual(['before', 'meanwhile']);
    } finally {
      await s.close();
    }
  });
});
