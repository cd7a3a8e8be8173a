import { describe, expect, it } from 'vitest';
import { LABELS } from '../../../src/api/group.ts';
import type { AppliedObject } from '../../../src/apply/apply-staged.ts';
import {
  type AppliedMemo,
  type CachedObjects,
  memoDigest,
  memoOf,
  unchangedSince,
} from '../../../src/apply/sync-memo.ts';
import type { Kube, KubernetesObject } from '../../../src/kube/client.ts';
import { statusToWrite } from '../../../src/reconcile/app-group-status-writer.ts';
import type { RenderedObject } from '../../../src/render/parse-manifests.ts';

const memo = (entries: [string, string, string][]): AppliedMemo =>
  new Map(entries.map(([id, hash, content]) => [id, { hash, resourceVersion: '1', content }]));

describe('memoDigest (pure)', () => {
  const a = memo([
    ['ns_a__ConfigMap', 'h1', '101'],
    ['ns_b__ConfigMap', 'h2', '102'],
  ]);
  const digest = memoDigest(a, 'deployer');

  it('is one sha256 whatever order the objects came in', () => {
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(memoDigest(new Map([...a.entries()].reverse()), 'deployer')).toBe(digest);
  });

  it('changes with any object, its desired hash, its live content, or the ServiceAccount; not with a resourceVersion', () => {
    const others = [
      memoDigest(memo([['ns_a__ConfigMap', 'h1', '101']]), 'deployer'),
      memoDigest(
        memo([
          ['ns_a__ConfigMap', 'h9', '101'],
          ['ns_b__ConfigMap', 'h2', '102'],
        ]),
        'deployer',
      ),
      memoDigest(
        memo([
          ['ns_a__ConfigMap', 'h1', '101'],
          ['ns_b__ConfigMap', 'h2', '103'],
        ]),
        'deployer',
      ),
      memoDigest(a, ''),
    ];
    expect(new Set([digest, ...others]).size).toBe(5);
    const moved = new Map([...a].map(([id, m]) => [id, { ...m, resourceVersion: '999' }]));
    expect(memoDigest(moved, 'deployer')).toBe(digest);
  });
});

describe('unchangedSince, from a watch cache (pure but for the reads it makes)', () => {
  const owner = { groupName: 'app', groupNamespace: 'shop' };
  const labels = { [LABELS.groupName]: 'app', [LABELS.groupNamespace]: 'shop' };
  const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' };
  const desired = (replicas?: { initial: number }): RenderedObject => ({
    object: { ...ref, metadata: { name: 'web', namespace: 'shop', labels }, spec: { template: { x: 1 } } },
    source: 'web.yaml',
    ...(replicas ? { replicas } : {}),
  });
  // The Deployment as the apply returned it (with apiVersion and kind, managedFields, status).
  const applied: KubernetesObject & Record<string, unknown> = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid: 'u1',
      resourceVersion: '10',
      generation: 1,
      labels,
      managedFields: [{ manager: 'shoal', operation: 'Apply', time: '2026-01-01T00:00:00Z' }],
    },
    spec: { replicas: 2, template: { x: 1 } },
    status: { replicas: 0 },
  };
  type Edit = (o: Record<string, unknown> & { metadata: Record<string, unknown> }) => void;
  /** The same object as a later watch event would hold it (no apiVersion or kind in a list), edited. */
  const later = (edit: Edit) => {
    const { apiVersion: _a, kind: _k, ...o } = structuredClone(applied) as Parameters<Edit>[0];
    o.metadata.resourceVersion = '11';
    edit(o);
    return o as KubernetesObject;
  };
  const cache = (o: KubernetesObject): CachedObjects => ({
    list: () => [o],
    get: () => o,
    watched: () => true,
  });
  // Every kind is cached here, so nothing is listed: a call would be a bug.
  const kube = new Proxy({}, { get: () => () => Promise.reject(new Error('no read expected')) }) as Kube;
  const check = (item: RenderedObject, edit: Edit) => {
    const left = memoOf(
      [item],
      [{ ref, version: 'v1', action: 'configured', live: applied } as AppliedObject],
    );
    return { left, result: unchangedSince(kube, [item], left, owner, cache(later(edit))) };
  };

  it('a status write moved the resourceVersion: unchanged, and the memo takes the new resourceVersion', async () => {
    const { left, result } = check(desired(), (o) => {
      o.status = { replicas: 2, readyReplicas: 2 };
      (o.metadata.managedFields as unknown[]).push({ manager: 'kcm', subresource: 'status' });
    });
    expect((await result)?.map((a) => a.action)).toEqual(['unchanged']);
    expect([...left.values()][0]?.resourceVersion).toBe('11');
  });

  it('a scale: unchanged only where another manager owns the replicas (the sync never sends them)', async () => {
    const scaled: Edit = (o) => {
      (o.spec as { replicas: number }).replicas = 5;
      o.metadata.generation = 2;
    };
    expect(await check(desired({ initial: 2 }), scaled).result).toHaveLength(1);
    expect(await check(desired(), scaled).result).toBeUndefined();
  });

  it.each<[string, Edit]>([
    ['the spec', (o) => ((o.spec as { template: unknown }).template = { x: 2 })],
    ['a label', (o) => (o.metadata.labels = { ...labels, tier: 'hacked' })],
    ['an annotation', (o) => (o.metadata.annotations = { note: 'hand' })],
    ['the object itself (deleted and created again)', (o) => (o.metadata.uid = 'u2')],
  ])('a change of %s: not unchanged', async (_what, edit) => {
    expect(await check(desired(), edit).result).toBeUndefined();
  });
});

describe('statusToWrite (pure)', () => {
  const previous = { lastAppliedRevision: 'main@sha1:1', appliedDigest: 'sha256:old' };

  it('keeps the old digest when the digest is all that changed: a moved digest alone writes nothing', () => {
    expect(statusToWrite(previous, { ...previous, appliedDigest: 'sha256:new' })).toEqual(previous);
  });

  it('carries the new digest with a write made for anything else', () => {
    const computed = { lastAppliedRevision: 'main@sha1:2', appliedDigest: 'sha256:new' };
    expect(statusToWrite(previous, computed)).toEqual(computed);
    expect(statusToWrite({}, { ...computed, appliedDigest: 'sha256:first' }).appliedDigest).toBe(
      'sha256:first',
    );
    // Nothing but a first digest: still no write of its own.
    expect(statusToWrite({}, { appliedDigest: 'sha256:first' }).appliedDigest).toBeUndefined();
  });
});
