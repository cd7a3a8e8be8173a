import { describe, expect, it } from 'vitest';
import type { AppSpec } from '../../../src/api/app-group.ts';
import type { RenderedObject } from '../../../src/render/parse-manifests.ts';
import { assignReplicaOwnership } from '../../../src/render/replica-ownership.ts';

const deploy = (name: string, replicas?: number, kind = 'Deployment'): RenderedObject => ({
  source: `${name}.yaml`,
  object: {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name },
    spec: { ...(replicas === undefined ? {} : { replicas }), template: {} },
  },
});
const hpa = (target: string, min?: number, max = 10): RenderedObject => ({
  source: 'hpa.yaml',
  object: {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: target },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target },
      ...(min ? { minReplicas: min } : {}),
      maxReplicas: max,
    },
  },
});
const scaledObject = (target: string): RenderedObject => ({
  source: 'so.yaml',
  object: {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: target },
    spec: { scaleTargetRef: { name: target }, minReplicaCount: 0 },
  },
});

describe('assignReplicaOwnership', () => {
  it.each<[string, RenderedObject[], AppSpec[], number | undefined]>([
    [
      'autoscaled: the manifest count clamped down to max',
      [deploy('web', 10)],
      [{ name: 'web', autoscaling: { minReplicas: 2, maxReplicas: 5 } }],
      5,
    ],
    [
      'autoscaled: clamped up to min',
      [deploy('web', 1)],
      [{ name: 'web', autoscaling: { minReplicas: 2, maxReplicas: 5 } }],
      2,
    ],
    [
      'autoscaled without a manifest count: min',
      [deploy('web')],
      [{ name: 'web', autoscaling: { maxReplicas: 5 } }],
      1,
    ],
    ['a fixed count wins over the manifest', [deploy('web', 10)], [{ name: 'web', replicas: 3 }], 3],
    ['a StatefulSet', [deploy('db', 4, 'StatefulSet')], [{ name: 'db', replicas: 2 }], 2],
    ['an HPA in the set: the HPA minimum', [deploy('web'), hpa('web', 2, 4)], [], 2],
    ['an HPA in the set: the manifest count within range', [deploy('web', 3), hpa('web', 2, 4)], [], 3],
    ['a KEDA ScaledObject', [deploy('web', 1), scaledObject('web')], [], 1],
    ['listed without a policy: Git owns it', [deploy('web', 7)], [{ name: 'web' }], undefined],
    ['not listed: Git owns it', [deploy('web', 7)], [{ name: 'other', replicas: 1 }], undefined],
  ])('%s', (_, objects, apps, initial) => {
    const out = assignReplicaOwnership(objects, apps)[0] as RenderedObject;
    expect(out.replicas?.initial).toBe(initial);
    const spec = out.object.spec as { replicas?: number; template?: object };
    expect(spec.template).toEqual({});
    const manifest = (objects[0] as RenderedObject).object.spec as { replicas?: number };
    if (initial === undefined) expect(spec.replicas).toBe(manifest.replicas);
    else expect(spec).not.toHaveProperty('replicas');
  });
});
