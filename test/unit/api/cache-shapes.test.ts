import { describe, expect, it } from 'vitest';
import {
  contentDigest,
  fieldSet,
  slimManagedObject,
  withoutManagedFields,
} from '../../../src/api/cache-shapes.ts';
import {
  autoscalerScaled,
  driftAuthor,
  driftFingerprint,
  managerSignatures,
} from '../../../src/reconcile/drift.ts';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const fields = { 'f:data': { 'f:v': {} } };
const object = () => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    name: 'c',
    namespace: 'n',
    resourceVersion: '7',
    labels: { app: 'x' },
    annotations: { [LAST_APPLIED]: '{"a":"very long copy"}', note: 'kept' },
    managedFields: [
      {
        manager: 'shoal',
        operation: 'Apply',
        apiVersion: 'v1',
        time: '2026-01-01T00:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: fields,
      },
      {
        manager: 'kube-controller-manager',
        operation: 'Update',
        subresource: 'scale',
        time: '2026-01-01T00:00:01Z',
        fieldsType: 'FieldsV1',
        fieldsV1: {},
      },
    ],
  },
  data: { v: '1' },
});

describe('what the caches keep of an object', () => {
  it('the drift caches: managedFields reduced to attribution, field sets as text, no last-applied copy', () => {
    const slim = slimManagedObject(object());
    expect(slim.metadata.managedFields).toEqual([
      {
        manager: 'shoal',
        operation: 'Apply',
        time: '2026-01-01T00:00:00Z',
        fieldsV1: JSON.stringify(fields),
      },
      {
        manager: 'kube-controller-manager',
        operation: 'Update',
        subresource: 'scale',
        time: '2026-01-01T00:00:01Z',
        fieldsV1: '{}',
      },
    ]);
    expect(slim.metadata.annotations).toEqual({ note: 'kept' });
    expect(slim.data).toEqual({ v: '1' });
    expect(slim.metadata.labels).toEqual({ app: 'x' });
    // The input is not changed (it may be shared), and slimming twice changes nothing more.
    expect(object().metadata.annotations[LAST_APPLIED]).toBeDefined();
    expect(slimManagedObject(slim)).toEqual(slim);
    expect(fieldSet(slim.metadata.managedFields[0] ?? {})).toEqual(fields);
    expect(fieldSet({ fieldsV1: fields })).toEqual(fields);
    expect(fieldSet({ fieldsV1: '{not json' })).toBeUndefined();
  });

  it('drift reads a slimmed object as it reads the full one', () => {
    const full = object();
    const slim = slimManagedObject(full);
    expect(driftAuthor(slim)).toBe(driftAuthor(full));
    expect(autoscalerScaled(slim, 'kube-controller-manager')).toBe(true);
    // The signatures differ in form, but an edit changes them alike.
    const edited = slimManagedObject({
      ...object(),
      metadata: {
        ...object().metadata,
        managedFields: [
          ...object().metadata.managedFields,
          { manager: 'kubectl-edit', operation: 'Update', time: '2026-01-01T00:00:05Z', fieldsV1: fields },
        ],
      },
    });
    expect(driftAuthor(edited, managerSignatures(slim))).toBe('kubectl-edit');
    expect(driftFingerprint(edited)).toBe(driftFingerprint(slim));
  });

  it("Shoal's own objects and events: no managedFields at all", () => {
    const o = object();
    const stripped = withoutManagedFields(o);
    expect(stripped.metadata).not.toHaveProperty('managedFields');
    expect(stripped.metadata.labels).toEqual({ app: 'x' });
    expect(o.metadata.managedFields).toHaveLength(2);
    const bare = { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e' } };
    expect(withoutManagedFields(bare)).toBe(bare);
  });

  it('contentDigest: the same for the object an apply returned, a list item and the slimmed cache copy', () => {
    const applied = object();
    const { apiVersion: _a, kind: _k, ...listItem } = object();
    const d = contentDigest(applied);
    expect(contentDigest(listItem)).toBe(d);
    expect(contentDigest(slimManagedObject(applied))).toBe(d);
    const statusOnly = {
      ...object(),
      metadata: { ...object().metadata, resourceVersion: '8' },
      status: { a: 1 },
    };
    expect(contentDigest(statusOnly)).toBe(d);
    const edited = { ...object(), data: { v: '2' } };
    expect(contentDigest(edited)).not.toBe(d);
    expect(
      contentDigest({ ...object(), metadata: { ...object().metadata, annotations: { note: 'other' } } }),
    ).not.toBe(d);
  });
});
