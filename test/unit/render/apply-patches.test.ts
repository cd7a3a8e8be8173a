import { describe, expect, it } from 'vitest';
import type { AppGroupPatch } from '../../../src/api/app-group.ts';
import { applyPatches } from '../../../src/render/apply-patches.ts';
import type { RenderedObject } from '../../../src/render/parse-manifests.ts';

const web: RenderedObject = {
  source: 'web.yaml',
  object: {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: { template: { spec: { containers: [{ name: 'web', image: 'web:1.0' }] } } },
  },
};
const cm: RenderedObject = {
  source: 'cm.yaml',
  object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web' } },
};

const patch = (
  p: AppGroupPatch['patch'],
  target: AppGroupPatch['target'] = { kind: 'Deployment', name: 'web' },
) => [{ target, patch: p }];

describe('applyPatches', () => {
  it('replaces a field on the targeted object only', () => {
    const out = applyPatches(
      [web, cm],
      patch([{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'web:1.4.2' }]),
    );
    expect(out[0]?.object).toMatchObject({
      spec: { template: { spec: { containers: [{ image: 'web:1.4.2' }] } } },
    });
    expect(out[1]?.object).toEqual(cm.object);
    expect(web.object).toMatchObject({
      spec: { template: { spec: { containers: [{ image: 'web:1.0' }] } } },
    });
  });

  it.each([
    ['/__proto__/polluted', { op: 'add', path: '/__proto__/polluted', value: 'yes' }],
    ['/constructor/prototype/polluted', { op: 'add', path: '/constructor/prototype/polluted', value: 'yes' }],
    ['/metadata/__proto__/polluted', { op: 'add', path: '/metadata/__proto__/polluted', value: 'yes' }],
  ] as const)('refuses the prototype-polluting path %s and Object.prototype stays clean', (_, op) => {
    expect(() => applyPatches([web], patch([op]))).toThrow(
      /patches\[0\] \(target kind=Deployment,name=web\) failed on Deployment\/web/,
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it.each([
    ['a missing path', [{ op: 'replace', path: '/spec/nope/x', value: 1 }]],
    ['a remove of a missing key', [{ op: 'remove', path: '/metadata/labels' }]],
    [
      'an index out of range',
      [{ op: 'replace', path: '/spec/template/spec/containers/5/image', value: 'x' }],
    ],
    ['a failing test operation', [{ op: 'test', path: '/metadata/name', value: 'api' }]],
    ['a removed kind', [{ op: 'remove', path: '/kind' }]],
  ] as [string, AppGroupPatch['patch']][])('fails with BuildFailed naming the patch on %s', (_, ops) => {
    expect(() => applyPatches([web], patch(ops))).toThrow(/patches\[0\] \(target kind=Deployment,name=web\)/);
  });

  it('fails when a patch matches no object', () => {
    expect(() => applyPatches([cm], patch([{ op: 'add', path: '/metadata/labels', value: {} }]))).toThrow(
      /matches no rendered object/,
    );
  });
});

describe('the RFC 6902 library (fast-json-patch)', () => {
  it('refuses a /__proto__/ write itself, instead of polluting Object.prototype', async () => {
    const fjp = (await import('fast-json-patch')).default;
    expect(() => fjp.applyPatch({}, [{ op: 'add', path: '/__proto__/polluted', value: 'yes' }])).toThrow(
      /banned for security reasons/,
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
