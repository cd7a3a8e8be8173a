import { describe, expect, it } from 'vitest';
import type { AppGroup } from '../../../src/api/app-group.ts';
import { csrfMatches } from '../../../src/dashboard/auth.ts';
import { AUTOSCALE_POINTS, DashboardMemory } from '../../../src/dashboard/memory.ts';
import { distribution, groupRow, objectTree, shortRevision, totals } from '../../../src/dashboard/views.ts';

const group = (status: AppGroup['status'], spec: Partial<AppGroup['spec']> = {}): AppGroup => ({
  apiVersion: 'shoal.dev/v1alpha1',
  kind: 'AppGroup',
  metadata: { name: 'web', namespace: 'shop' },
  spec: { sourceRef: { name: 'repo' }, ...spec },
  status,
});
const ready = (status: 'True' | 'False', reason: string) => ({
  conditions: [{ type: 'Ready', status, reason, message: 'm', lastTransitionTime: '2026-01-01T00:00:00Z' }],
});

describe('dashboard views', () => {
  it('says one state per row: ready, failing, waiting, suspended, unknown', () => {
    expect(groupRow(group(ready('True', 'ReconciliationSucceeded'))).state).toBe('Ready');
    expect(groupRow(group(ready('False', 'ParseFailed'))).state).toBe('Failing');
    expect(groupRow(group(ready('False', 'SourceNotReady'))).state).toBe('Progressing');
    expect(
      groupRow(group({ ...ready('True', 'ReconciliationSucceeded'), health: { status: 'Degraded' } })).state,
    ).toBe('Failing');
    expect(groupRow(group(ready('True', 'x'), { suspend: true })).state).toBe('Suspended');
    expect(groupRow(group(undefined)).state).toBe('Unknown');
    expect(totals([groupRow(group(undefined)), groupRow(group(ready('False', 'ParseFailed')))])).toEqual({
      Ready: 0,
      Failing: 1,
      Progressing: 0,
      Suspended: 0,
      Unknown: 1,
    });
  });

  it('shortens a Git revision to 12 hex digits and leaves others alone', () => {
    expect(shortRevision(`main@sha1:${'a1b2c3d4e5f6'}${'0'.repeat(28)}`)).toBe('main@a1b2c3d4e5f6');
    expect(shortRevision('podinfo@6.9.0')).toBe('podinfo@6.9.0');
  });

  it('builds the object tree from the inventory with health from the cached live object', () => {
    const g = group({
      inventory: [
        { id: 'shop_web_apps_Deployment', v: 'v1' },
        { id: 'shop_gone__ConfigMap', v: 'v1' },
        { id: 'shop_old__ConfigMap', v: 'v1', stale: true },
        { id: 'not an id', v: 'v1' },
      ],
    });
    const tree = objectTree(g, (ref) =>
      ref.kind === 'Deployment'
        ? {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: 'web', generation: 1 },
            spec: { replicas: 1 },
            status: {
              observedGeneration: 1,
              replicas: 1,
              updatedReplicas: 1,
              availableReplicas: 1,
              readyReplicas: 1,
              conditions: [{ type: 'Available', status: 'True' }],
            },
          }
        : ref.name === 'old'
          ? { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'old' } }
          : undefined,
    );
    expect(tree.map((n) => [n.ref.kind, n.ref.name, n.health, n.sync, n.expandable])).toEqual([
      ['Deployment', 'web', 'Current', 'in-sync', true],
      ['ConfigMap', 'gone', 'NotFound', 'missing', false],
      ['ConfigMap', 'old', 'Current', 'stale', false],
    ]);
    expect(objectTree(g, () => 'not-watched')[0]?.health).toBe('Unknown');
  });

  it('gives percentiles and a histogram of latencies', () => {
    const d = distribution([0.2, 0.3, 0.4, 2, 40]);
    expect(d).toMatchObject({ count: 5, p50: 0.4, max: 40 });
    expect(d.buckets.find((b) => b.le === 0.25)?.count).toBe(1);
    expect(d.buckets.find((b) => b.le === 0.5)?.count).toBe(2);
    expect(d.buckets.reduce((n, b) => n + b.count, 0)).toBe(5);
    expect(distribution([]).count).toBe(0);
  });

  it('compares CSRF tokens exactly', () => {
    expect(csrfMatches('abc', 'abc')).toBe(true);
    expect(csrfMatches('abd', 'abc')).toBe(false);
    expect(csrfMatches(undefined, 'abc')).toBe(false);
    expect(csrfMatches('ab', 'abc')).toBe(false);
  });
});

describe('dashboard memory', () => {
  const scaled = (current: number, desired: number, lastScaleTime?: string, cpu = '90%') =>
    group({
      apps: [
        {
          name: 'web',
          replicas: { current, desired },
          ...(lastScaleTime ? { lastScaleTime } : {}),
          reason: 'cpu above target',
          metrics: [{ type: 'Resource', name: 'cpu', current: cpu, target: '50%' }],
        },
      ],
      budget: { requested: { cpu: '2' }, allocated: { cpu: '1500m' } },
    });

  it('records a point per change, marks rescales, and keeps a bounded history', () => {
    let t = 0;
    const m = new DashboardMemory(() => ++t);
    m.observe(scaled(2, 2));
    m.observe(scaled(2, 2));
    m.observe(scaled(2, 4, '2026-01-01T00:00:10Z'));
    const points = m.autoscaling('shop/web').apps.web ?? [];
    expect(points.map((p) => [p.current, p.desired, p.rescale ?? ''])).toEqual([
      [2, 2, ''],
      [2, 4, 'cpu above target'],
    ]);
    expect(points[0]?.metrics['Resource/cpu']).toEqual([90, 50]);
    expect(m.autoscaling('shop/web').budget[0]?.resources.cpu).toEqual([2000, 1500]);
    for (let i = 0; i < AUTOSCALE_POINTS + 50; i++) m.observe(scaled(2, 4, '2026-01-01T00:00:10Z', `${i}%`));
    expect(m.autoscaling('shop/web').apps.web).toHaveLength(AUTOSCALE_POINTS);
    m.latency('shop/web', 0.3);
    m.forget('shop', 'web');
    expect(m.autoscaling('shop/web').apps).toEqual({});
    expect(m.latencies('shop/web')).toEqual([]);
  });

  it('caps a sync report: objects, diffs and operations', () => {
    const m = new DashboardMemory();
    const diff = {
      action: 'configured' as const,
      patch: Array.from({ length: 80 }, (_, i) => ({
        op: 'replace' as const,
        path: `/data/k${i}`,
        value: 'v',
      })),
      owners: {},
    };
    m.synced('shop/web', {
      at: 1,
      revision: 'r',
      durationMs: 5,
      succeeded: true,
      objects: Array.from({ length: 600 }, (_, i) => ({
        ref: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: `c${i}` },
        action: 'configured' as const,
        diff,
      })),
      more: 0,
    });
    const r = m.report('shop/web');
    expect(r?.objects).toHaveLength(500);
    expect(r?.more).toBe(100);
    expect(r?.objects.filter((o) => o.diff)).toHaveLength(50);
    expect(r?.objects[0]?.diff?.patch).toHaveLength(50);
  });
});
