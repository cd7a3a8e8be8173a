import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../support/cluster.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { shoalObjects } from '../support/objects.ts';
import { startShoal } from '../support/shoal.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, kubectl, newNamespace } = useCluster();

const deployment = (name: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: 2
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {containers: [{name: app, image: "registry.invalid/${name}:1"}]}
`;

// Tier A runs no controllers, so the test writes Deployment status as the controller would.
describe('health', () => {
  let ns: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  const healthOf = async (name: string) => (await o.getGroup(name))?.status?.health;
  const setStatus = (name: string, status: object) =>
    kubectl(
      '-n',
      ns,
      'patch',
      'deployment',
      name,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status }),
    );

  beforeAll(async () => {
    ns = await newNamespace('health');
    o = shoalObjects(kube, ns);
    repo = await gitRepo({
      'config/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n',
      'web/deploy.yaml': deployment('web'),
      'stuck/deploy.yaml': deployment('stuck'),
      'deadline/deploy.yaml': deployment('deadline'),
    });
    shoal = await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    await o.source('repo', { url: repo.url, interval: '1m' });
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.remove();
  });

  it('a group of plain objects is Healthy at once', async () => {
    await o.group('config', { sourceRef: { name: 'repo' }, path: 'config' });
    const g = await waitFor('Healthy', async () => {
      const x = await o.getGroup('config');
      return x?.status?.health?.status === 'Healthy' ? x : undefined;
    });
    expect(g.status?.conditions?.find((c) => c.type === 'Healthy')?.status).toBe('True');
  });

  it('a Deployment is Progressing until it is available, then Healthy', async () => {
    await o.group('web', { sourceRef: { name: 'repo' }, path: 'web', timeout: '20s' });
    await waitFor('Progressing', async () => (await healthOf('web'))?.status === 'Progressing');
    expect((await healthOf('web'))?.message).toContain(`Deployment/${ns}/web`);
    await setStatus('web', {
      observedGeneration: 1,
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
    });
    await waitFor('Healthy', async () => (await healthOf('web'))?.status === 'Healthy', {
      timeoutMs: 20_000,
    });
  });

  it('a rollout still in progress after spec.timeout is Degraded, with a Warning event', async () => {
    await o.group('stuck', { sourceRef: { name: 'repo' }, path: 'stuck', timeout: '3s' });
    const h = await waitFor(
      'Degraded',
      async () => {
        const x = await healthOf('stuck');
        return x?.status === 'Degraded' ? x : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(h.message).toMatch(/^not healthy after 3s: Deployment\/.*\/stuck: 0 of 2 replicas updated/);
    // The reconcile emits its events after the status write, so the event may follow the status.
    const warned = await waitFor('the HealthCheckFailed event', async () => {
      const events = await kube.list<{ reason: string; regarding: { name: string } }>(
        'events.k8s.io/v1',
        'Event',
        { namespace: ns },
      );
      return events.items.some((e) => e.reason === 'HealthCheckFailed' && e.regarding.name === 'stuck');
    });
    expect(warned).toBe(true);
  });

  it('a Deployment past its progress deadline is Degraded at once', async () => {
    await o.group('deadline', { sourceRef: { name: 'repo' }, path: 'deadline', timeout: '20s' });
    await waitFor('applied', async () => (await healthOf('deadline'))?.status === 'Progressing');
    await setStatus('deadline', {
      observedGeneration: 1,
      replicas: 2,
      updatedReplicas: 1,
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: 'ReplicaSet has timed out progressing.',
        },
      ],
    });
    const h = await waitFor(
      'Degraded',
      async () => {
        const x = await healthOf('deadline');
        return x?.status === 'Degraded' ? x : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(h.message).toContain('progress deadline exceeded: ReplicaSet has timed out progressing.');
  });
});
