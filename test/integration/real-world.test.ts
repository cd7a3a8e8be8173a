import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../support/cluster.ts';
import { REAL_WORLD } from '../support/fixtures.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { shoalObjects } from '../support/objects.ts';
import { startShoal } from '../support/shoal.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, kubectl, newNamespace } = useCluster();
const realWorld = REAL_WORLD;
const read = (...p: string[]) => readFile(join(realWorld, ...p), 'utf8');

// Published manifests, byte for byte: Online Boutique (35 documents), the sample-controller CRD with
// its custom resource, and a Namespace the application lives in, all from one directory.
describe('a realistic multi-service application', () => {
  let ns: string;
  let app: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  const count = async (kind: string, apiVersion = 'v1') =>
    (await kube.list(apiVersion, kind, { namespace: app })).items.length;

  beforeAll(async () => {
    ns = await newNamespace('rw');
    app = `${ns}-shop`;
    o = shoalObjects(kube, ns);
    repo = await gitRepo({
      'deploy/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${app}}\n`,
      'deploy/boutique.yaml': await read('online-boutique', 'kubernetes-manifests.yaml'),
      'deploy/crd/foo-crd.yaml': await read('sample-controller-foo', 'crd-status-subresource.yaml'),
      'deploy/crd/zz-example-foo.yaml': await read('sample-controller-foo', 'example-foo.yaml'),
      'db/cassandra-service.yaml': await read('cassandra-statefulset', 'cassandra-service.yaml'),
      'db/cassandra-statefulset.yaml': await read('cassandra-statefulset', 'cassandra-statefulset.yaml'),
      'deploy/settings.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: "shop"}\n',
    });
    shoal = await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns, privileged: true });
    await o.source('repo', { url: repo.url, interval: '1s' });
    await o.group('shop', {
      sourceRef: { name: 'repo' },
      path: 'deploy',
      targetNamespace: app,
      prune: true,
      interval: '1h',
    });
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.remove();
  });

  it('syncs in one pass: the Namespace and CRD first, then everything else', async () => {
    const g = await o.groupAt('shop', await repo.head(), 60_000);
    expect(g.status?.history).toHaveLength(1);
    expect(g.status?.history?.[0]).toMatchObject({ result: 'Succeeded', created: 39 });
    expect(g.status?.inventory).toHaveLength(39);
    expect(await count('Deployment', 'apps/v1')).toBe(12);
    expect(await count('Service')).toBe(12);
    expect(await count('ServiceAccount')).toBe(11);
    expect(await count('Foo', 'samplecontroller.k8s.io/v1alpha1')).toBe(1);
  });

  it('a StatefulSet with a cluster-scoped StorageClass declared after it: the class first, health waits', async () => {
    await o.group('db', {
      sourceRef: { name: 'repo' },
      path: 'db',
      targetNamespace: app,
      interval: '1h',
      timeout: '10m',
    });
    const g = await o.groupAt('db', await repo.head());
    expect(g.status?.inventory?.map((e) => e.id).sort()).toEqual(
      [
        '_fast_storage.k8s.io_StorageClass',
        `${app}_cassandra__Service`,
        `${app}_cassandra_apps_StatefulSet`,
      ].sort(),
    );
    // No controllers on tier A: the StatefulSet never gets ready replicas, so the group is Progressing.
    expect(g.status?.health?.status).toBe('Progressing');
    expect(g.status?.health?.message).toContain(`StatefulSet/${app}/cassandra: 0 of 3 replicas ready`);
  });

  it('a commit that deletes a file prunes exactly that object', async () => {
    const commit = await repo.commit({ 'deploy/settings.yaml': null });
    const g = await o.groupAt('shop', commit);
    expect(
      await kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: app, name: 'settings' }),
    ).toBeUndefined();
    expect(g.status?.inventory).toHaveLength(38);
    expect(g.status?.history?.[0]).toMatchObject({ deleted: 1, created: 0, configured: 0 });
    expect(await count('Deployment', 'apps/v1')).toBe(12);
  });

  it('kubectl edit drift is reverted at the next sync', async () => {
    await kubectl('-n', app, 'set', 'image', 'deployment/frontend', 'server=registry.invalid/evil:1');
    const token = `drift-${Date.now()}`;
    await kubectl('-n', ns, 'annotate', '--overwrite', 'appgroup', 'shop', `shoal.dev/requested-at=${token}`);
    await waitFor(
      're-sync',
      async () => (await o.getGroup('shop'))?.status?.lastHandledReconcileAt === token,
    );
    const jsonpath = 'jsonpath={.spec.template.spec.containers[0].image}';
    const image = await kubectl('-n', app, 'get', 'deployment', 'frontend', '-o', jsonpath);
    expect(image).toMatch(/microservices-demo\/frontend:v0\.10\.6$/);
  });

  it('a commit with one invalid object changes nothing in the cluster', async () => {
    const before = await o.getGroup('shop');
    const bad = await repo.commit({
      'deploy/zz-bad.yaml':
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad}\nspec: {replicas: "many"}\n',
      'deploy/boutique.yaml': (await read('online-boutique', 'kubernetes-manifests.yaml')).replace(
        'v0.10.6',
        'v0.10.7',
      ),
    });
    const g = await o.groupReason('shop', 'DryRunFailed');
    expect(g.status?.lastAttemptedRevision).toContain(bad);
    expect(g.status?.lastAppliedRevision).toBe(before?.status?.lastAppliedRevision);
    const images = await kubectl(
      '-n',
      app,
      'get',
      'deployments',
      '-o',
      'jsonpath={.items[*].spec.template.spec.containers[*].image}',
    );
    expect(images).not.toContain('v0.10.7');
    expect(
      await kube.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: app, name: 'bad' }),
    ).toBeUndefined();
  });
});
