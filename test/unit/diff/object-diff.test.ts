import { describe, expect, it } from 'vitest';
import { slimManagedObject } from '../../../src/api/cache-shapes.ts';
import { fieldOwners } from '../../../src/diff/field-owners.ts';
import { normalize } from '../../../src/diff/normalize.ts';
import { diffObject, MASK } from '../../../src/diff/object-diff.ts';

const deployment = (image: string, extra: object = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    namespace: 'shop',
    resourceVersion: '12',
    uid: 'u',
    generation: 3,
    creationTimestamp: '2026-01-01T00:00:00Z',
    annotations: { 'deployment.kubernetes.io/revision': '4' },
    managedFields: [
      {
        manager: 'shoal',
        operation: 'Apply',
        fieldsV1: {
          'f:spec': {
            'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"web"}': { '.': {}, 'f:name': {} } } } },
          },
        },
      },
      {
        manager: 'kubectl-edit',
        operation: 'Update',
        fieldsV1: {
          'f:spec': {
            'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"web"}': { 'f:image': {} } } } },
          },
        },
      },
    ],
    ...extra,
  },
  spec: { replicas: 2, template: { spec: { containers: [{ name: 'web', image }] } } },
  status: { availableReplicas: 2 },
});

describe('normalize', () => {
  it('drops status, server-owned metadata and server annotations', () => {
    expect(normalize(deployment('a'))).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { replicas: 2, template: { spec: { containers: [{ name: 'web', image: 'a' }] } } },
    });
  });
});

describe('diffObject', () => {
  it('unchanged when only server fields and status differ', () => {
    const live = deployment('a');
    const desired = { ...deployment('a', { resourceVersion: '99' }), status: {} };
    expect(diffObject(live, desired)).toEqual({ action: 'unchanged', patch: [], owners: {} });
  });

  it('configured: an RFC 6902 patch, and who owns each drifted field', () => {
    const d = diffObject(deployment('evil:1'), deployment('web:1.4'));
    expect(d.action).toBe('configured');
    expect(d.patch).toEqual([
      { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'web:1.4' },
    ]);
    expect(d.owners).toEqual({ '/spec/template/spec/containers/0/image': ['kubectl-edit (update)'] });
  });

  it('created and deleted', () => {
    expect(diffObject(undefined, deployment('a')).action).toBe('created');
    expect(diffObject(deployment('a'), undefined)).toEqual({
      action: 'deleted',
      patch: [{ op: 'remove', path: '' }],
      owners: {},
    });
  });

  it('never shows Secret values, whether created or changed', () => {
    const secret = (v: string) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      data: { password: Buffer.from(v).toString('base64') },
    });
    const created = diffObject(undefined, secret('hunter2'));
    const changed = diffObject(secret('hunter2'), secret('correct-horse'));
    const text = JSON.stringify([created, changed]);
    expect(text).not.toContain(Buffer.from('hunter2').toString('base64'));
    expect(text).not.toContain(Buffer.from('correct-horse').toString('base64'));
    expect(changed.patch).toEqual([{ op: 'replace', path: '/data/password', value: MASK }]);
    expect(created.patch[0]?.value).toMatchObject({ data: { password: MASK } });
  });
});

describe('fieldOwners', () => {
  it('matches keyed list items against the live list', () => {
    const live = deployment('a');
    expect(fieldOwners(live.metadata.managedFields, '/spec/template/spec/containers/0/name', live)).toEqual([
      'shoal',
    ]);
    // Nobody owns /spec/replicas here: both own other parts of spec, the deepest common part.
    expect(fieldOwners(live.metadata.managedFields, '/spec/replicas', live)).toEqual([
      'shoal',
      'kubectl-edit (update)',
    ]);
    expect(fieldOwners([], '/spec', live)).toEqual([]);
  });

  it('reads the same owners from a drift cache, where each field set is kept as JSON text', () => {
    const live = deployment('a');
    const cached = slimManagedObject(live);
    expect(typeof cached.metadata.managedFields[0]?.fieldsV1).toBe('string');
    for (const path of ['/spec/template/spec/containers/0/name', '/spec/replicas', '/metadata/labels'])
      expect(fieldOwners(cached.metadata.managedFields, path, cached)).toEqual(
        fieldOwners(live.metadata.managedFields, path, live),
      );
    // A diff of a cached object against a dry run names the same owners as one of the live object.
    const desired = deployment('b');
    expect(diffObject(cached, desired).owners).toEqual(diffObject(live, desired).owners);
  });
});
