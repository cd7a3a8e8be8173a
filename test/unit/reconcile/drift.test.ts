import { describe, expect, it } from 'vitest';
import {
  autoscalerScaled,
  driftAuthor,
  driftFingerprint,
  managerSignatures,
} from '../../../src/reconcile/drift.ts';

const entry = (manager: string, time: string, subresource?: string) => ({
  manager,
  operation: 'Update',
  time,
  ...(subresource ? { subresource } : {}),
});

describe('drift', () => {
  it('ignores status-only changes of objects with a generation', () => {
    const a = { metadata: { generation: 2, labels: { x: 'y' } }, status: { replicas: 1 } };
    const b = { metadata: { generation: 2, labels: { x: 'y' } }, status: { replicas: 3 } };
    expect(driftFingerprint(a)).toBe(driftFingerprint(b));
    expect(driftFingerprint(a)).not.toBe(
      driftFingerprint({ ...a, metadata: { ...a.metadata, generation: 3 } }),
    );
    expect(driftFingerprint(a)).not.toBe(
      driftFingerprint({ ...a, metadata: { ...a.metadata, labels: { x: 'z' } } }),
    );
  });

  it('counts data changes of objects without a generation, not resourceVersion or managedFields', () => {
    const a = { metadata: { resourceVersion: '1', managedFields: [] }, data: { v: '1' } };
    expect(driftFingerprint(a)).toBe(
      driftFingerprint({ ...a, metadata: { resourceVersion: '2', managedFields: [] } }),
    );
    expect(driftFingerprint(a)).not.toBe(driftFingerprint({ ...a, data: { v: '2' } }));
  });

  it.each([
    [
      'a hand edit after Shoal',
      [entry('shoal', '2026-01-01T00:00:00Z'), entry('kubectl-edit', '2026-01-01T00:01:00Z')],
      'kubectl-edit',
    ],
    [
      'Shoal last',
      [entry('kubectl-edit', '2026-01-01T00:00:00Z'), entry('shoal', '2026-01-01T00:01:00Z')],
      undefined,
    ],
    ['the autoscaler last', [entry('shoal-autoscaler', '2026-01-01T00:02:00Z')], undefined],
    [
      'a status write last',
      [
        entry('shoal', '2026-01-01T00:00:00Z'),
        entry('kube-controller-manager', '2026-01-01T00:05:00Z', 'status'),
      ],
      undefined,
    ],
  ])('driftAuthor: %s', (_, managedFields, author) => {
    expect(driftAuthor({ metadata: { managedFields } })).toBe(author);
  });

  it('an HPA writing the scale subresource is expected; kubectl scale and other HPA writes are not', () => {
    const hpa = {
      metadata: { managedFields: [entry('kube-controller-manager', '2026-01-01T00:00:00Z', 'scale')] },
    };
    expect(autoscalerScaled(hpa, driftAuthor(hpa) ?? '')).toBe(true);
    const scaled = { metadata: { managedFields: [entry('kubectl', '2026-01-01T00:00:00Z', 'scale')] } };
    expect(autoscalerScaled(scaled, driftAuthor(scaled) ?? '')).toBe(false);
    const edited = {
      metadata: { managedFields: [entry('kube-controller-manager', '2026-01-01T00:00:00Z')] },
    };
    expect(autoscalerScaled(edited, driftAuthor(edited) ?? '')).toBe(false);
  });

  it('driftAuthor: a hand edit in the same second as Shoal is told apart by what changed since the last version', () => {
    const before = { metadata: { managedFields: [entry('shoal', '2026-01-01T00:00:00Z')] } };
    const after = {
      metadata: {
        managedFields: [
          entry('shoal', '2026-01-01T00:00:00Z'),
          entry('kubectl-scale', '2026-01-01T00:00:00Z', 'scale'),
        ],
      },
    };
    expect(driftAuthor(after, managerSignatures(before))).toBe('kubectl-scale');
    // Without the previous version, a tie goes to the foreign manager.
    expect(driftAuthor(after)).toBe('kubectl-scale');
    // Shoal's own re-apply changes only Shoal's entry.
    const reapplied = { metadata: { managedFields: [entry('shoal', '2026-01-01T00:00:05Z')] } };
    expect(driftAuthor(reapplied, managerSignatures(before))).toBeUndefined();
  });
});
