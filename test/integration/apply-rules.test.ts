import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../support/cluster.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { shoalObjects } from '../support/objects.ts';
import { startShoal } from '../support/shoal.ts';

const { cp, kube, newNamespace } = useCluster();

const deployment = (label: string, force = false) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
${force ? '  annotations: {shoal.dev/force: enabled}\n' : ''}spec:
  replicas: 1
  selector: {matchLabels: {app: ${label}}}
  template:
    metadata: {labels: {app: ${label}}}
    spec: {containers: [{name: app, image: "registry.invalid/web:1"}]}
`;

describe('immutable fields and dependencies', () => {
  let ns: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  const uid = async () =>
    (
      await kube.get<{ metadata: { uid: string } }>({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: ns,
        name: 'web',
      })
    )?.metadata.uid;

  beforeAll(async () => {
    ns = await newNamespace('immutable');
    o = shoalObjects(kube, ns);
    repo = await gitRepo({
      'web/deploy.yaml': deployment('one'),
      'base/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: base}\n',
    });
    shoal = await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    await o.source('repo', { url: repo.url, interval: '1s' });
    await o.group('web', { sourceRef: { name: 'repo' }, path: 'web', interval: '1h' });
    await o.groupAt('web', await repo.head());
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.remove();
  });

  it('an immutable-field change fails clearly and changes nothing', async () => {
    const before = await uid();
    await repo.commit({ 'web/deploy.yaml': deployment('two') });
    const g = await o.groupReason('web', 'DryRunFailed');
    expect(o.ready(g)?.message).toMatch(
      /Deployment\/.*\/web: .*field is immutable.*shoal\.dev\/force: enabled/,
    );
    expect(await uid()).toBe(before);
  });

  it('with shoal.dev/force: enabled the object is deleted and recreated', async () => {
    const before = await uid();
    const commit = await repo.commit({ 'web/deploy.yaml': deployment('two', true) });
    await o.groupAt('web', commit);
    const after = await kube.get<{
      metadata: { uid: string };
      spec: { selector: { matchLabels: { app: string } } };
    }>({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: ns,
      name: 'web',
    });
    expect(after?.metadata.uid).not.toBe(before);
    expect(after?.spec.selector.matchLabels.app).toBe('two');
  });

  it('dependsOn waits until the other group is Ready', async () => {
    await o.group('app', { sourceRef: { name: 'repo' }, path: 'base', dependsOn: [{ name: 'platform' }] });
    const waiting = await o.groupReason('app', 'DependencyNotReady');
    expect(o.ready(waiting)?.message).toBe('waiting for AppGroup platform to be Ready (it does not exist)');
    const commit = await repo.commit({
      'platform/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: platform}\n',
    });
    await o.group('platform', { sourceRef: { name: 'repo' }, path: 'platform' });
    await o.groupAt('platform', commit);
    await o.groupAt('app', commit, 20_000);
  });
});
