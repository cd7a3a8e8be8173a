import { describe, expect, it } from 'vitest';
import { autoscalingSchema } from '../../src/api/schema/app-group-schema.ts';
import { KubeApiError } from '../../src/kube/kube-api-error.ts';
import { fullAppGroup, fullGitSource } from '../fixtures/full-objects.ts';
import { useCluster } from '../support/cluster.ts';

const { kube, kubectl, newNamespace } = useCluster();

const gitSource = (ns: string, spec: Record<string, unknown>) => ({
  apiVersion: 'shoal.dev/v1alpha1',
  kind: 'GitSource',
  metadata: { name: 'src', namespace: ns },
  spec,
});
const appGroup = (ns: string, spec: Record<string, unknown>) => ({
  apiVersion: 'shoal.dev/v1alpha1',
  kind: 'AppGroup',
  metadata: { name: 'grp', namespace: ns },
  spec: { sourceRef: { name: 'src' }, ...spec },
});

async function rejection(obj: object): Promise<string> {
  try {
    await kube.apply(obj, { fieldManager: 'test', force: true, dryRun: true });
  } catch (err) {
    if (err instanceof KubeApiError && err.code === 422) return err.message;
    throw err;
  }
  return 'accepted';
}

describe('CRD validation on the real API server', () => {
  it.each([
    [
      'two ref kinds',
      { url: 'https://h/r.git', ref: { branch: 'main', tag: 'v1' } },
      /exactly one of branch, tag, semver or commit/,
    ],
    ['an empty ref', { url: 'https://h/r.git', ref: {} }, /exactly one of branch/],
    ['credentials in the URL', { url: 'https://bob:tok@h/r.git' }, /credentials must not be part of the URL/],
    ['an option as URL', { url: '--upload-pack=x' }, /spec\.url/],
    ['ext:: transport', { url: 'ext::sh -c x' }, /spec\.url/],
    ['a zero timeout', { url: 'https://h/r.git', timeout: '0s' }, /must be greater than zero/],
    ['a malformed interval', { url: 'https://h/r.git', interval: '5 minutes' }, /spec\.interval/],
    ['a short commit', { url: 'https://h/r.git', ref: { commit: 'abc' } }, /spec\.ref\.commit/],
  ])('GitSource refuses %s', async (_, spec, message) => {
    const ns = await newNamespace('crd');
    expect(await rejection(gitSource(ns, spec))).toMatch(message);
  });

  it.each([
    ['path with ..', { path: '../other' }, /must not contain \.\./],
    ['path escaping in the middle', { path: 'a/../../etc' }, /must not contain \.\./],
    ['an absolute path', { path: '/etc' }, /must be relative/],
    [
      'min above max',
      { apps: [{ name: 'web', autoscaling: { minReplicas: 5, maxReplicas: 2 } }] },
      /minReplicas must be <= maxReplicas/,
    ],
    [
      'replicas and autoscaling together',
      { apps: [{ name: 'web', replicas: 2, autoscaling: { maxReplicas: 3 } }] },
      /not both/,
    ],
    [
      'a Utilization target without a percentage',
      {
        apps: [
          {
            name: 'web',
            autoscaling: {
              maxReplicas: 3,
              metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization' } } }],
            },
          },
        ],
      },
      /Utilization needs averageUtilization/,
    ],
    ['a negative interval', { interval: '-5m' }, /spec\.interval/],
  ])('AppGroup refuses %s', async (_, spec, message) => {
    const ns = await newNamespace('crd');
    expect(await rejection(appGroup(ns, spec))).toMatch(message);
  });

  it('accepts the DESIGN.md examples and fills in the defaults', async () => {
    const ns = await newNamespace('crd');
    const src = await kube.apply(gitSource(ns, { url: 'git@github.com:acme/deploy.git' }), {
      fieldManager: 'test',
      force: true,
      dryRun: false,
    });
    expect((src as { spec?: unknown }).spec).toEqual({
      url: 'git@github.com:acme/deploy.git',
      ref: { branch: 'main' },
      interval: '1m',
      timeout: '60s',
      suspend: false,
    });
    const grp = await kube.apply(appGroup(ns, { apps: [{ name: 'web', autoscaling: { maxReplicas: 4 } }] }), {
      fieldManager: 'test',
      force: true,
      dryRun: false,
    });
    expect((grp as { spec?: unknown }).spec).toMatchObject({
      path: '.',
      interval: '5m',
      prune: false,
      allowEmpty: false,
      suspend: false,
      apps: [{ name: 'web', autoscaling: { minReplicas: 1, maxReplicas: 4, weight: 1, priority: 0 } }],
    });
  });

  it('stores every field of the TypeScript types without pruning any (spec and status)', async () => {
    const ns = await newNamespace('crd');
    const { tag: _t, semver: _s, commit: _c, ...ref } = fullGitSource.spec.ref;
    const cases = [
      {
        plural: 'gitsources',
        obj: { ...gitSource(ns, { ...fullGitSource.spec, ref }) },
        status: fullGitSource.status,
        spec: { ...fullGitSource.spec, ref },
      },
      {
        plural: 'appgroups',
        obj: appGroup(ns, {
          ...fullAppGroup.spec,
          apps: [{ ...fullAppGroup.spec.apps[0], replicas: undefined }],
        }),
        status: fullAppGroup.status,
        spec: { ...fullAppGroup.spec, apps: [{ ...fullAppGroup.spec.apps[0], replicas: undefined }] },
      },
    ];
    for (const c of cases) {
      const clean = JSON.parse(JSON.stringify(c.obj));
      // One valid metric per type: the fixture sets every source to cover the schema.
      if (c.plural === 'appgroups') {
        clean.spec.apps[0].autoscaling.metrics = [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } },
          },
          { type: 'Prometheus', prometheus: { query: 'q', target: { type: 'Value', value: '10' } } },
          { type: 'Pods', pods: { query: 'q', target: { type: 'AverageValue', averageValue: '5' } } },
        ];
      }
      await kube.apply(clean, { fieldManager: 'test', force: true, dryRun: false });
      await kube.patchStatus(
        {
          group: 'shoal.dev',
          version: 'v1alpha1',
          plural: c.plural,
          namespace: ns,
          name: clean.metadata.name,
        },
        c.status,
      );
      const stored = await kube.get<{ spec: unknown; status: unknown }>({
        apiVersion: 'shoal.dev/v1alpha1',
        kind: clean.kind,
        namespace: ns,
        name: clean.metadata.name,
      });
      expect(stored?.spec).toEqual(clean.spec);
      expect(stored?.status).toEqual(c.status);
    }
  });
});

describe('kubectl explain', () => {
  it('documents every field of appgroup.spec.apps.autoscaling', async () => {
    const out = await kubectl('explain', 'appgroup.spec.apps.autoscaling', '--recursive');
    for (const field of Object.keys(autoscalingSchema.properties ?? {})) expect(out).toContain(field);
    const plain = await kubectl('explain', 'appgroup.spec.apps.autoscaling');
    for (const [field, schema] of Object.entries(autoscalingSchema.properties ?? {})) {
      expect(plain, field).toContain(field);
      expect(schema.description?.length, field).toBeGreaterThan(10);
    }
    expect(plain).toContain('HorizontalPodAutoscaler');
    const behavior = await kubectl('explain', 'appgroup.spec.apps.autoscaling.behavior.scaleDown.policies');
    expect(behavior).toContain('periodSeconds');
  });
});
