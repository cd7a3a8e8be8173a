import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Kube, loadKubeConfig } from '../../src/kube/client.ts';
import { useCluster } from '../support/cluster.ts';
import { FaultProxy } from '../support/fault-proxy.ts';

const { cp, newNamespace } = useCluster();

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
});
