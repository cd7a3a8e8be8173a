import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USAGE_ANNOTATIONS } from '../controlplane/tier-b.ts';
import { useCluster } from '../support/cluster.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { shoalObjects } from '../support/objects.ts';
import { startShoal } from '../support/shoal.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, kubectl, newNamespace } = useCluster();

interface Deployment {
  spec: { replicas?: number; template: { spec: { containers: { image: string }[] } } };
  status?: { availableReplicas?: number; updatedReplicas?: number; readyReplicas?: number };
}
interface Pod {
  metadata: { name: string };
  spec: { nodeName?: string; containers: { image: string }[] };
  status?: { phase?: string };
}

const deployment = (o: {
  image: string;
  replicas?: number;
  nodeSelector?: Record<string, string>;
  annotations?: Record<string, string>;
}) =>
  [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata: {name: web}',
    'spec:',
    `  replicas: ${o.replicas ?? 2}`,
    '  progressDeadlineSeconds: 10',
    '  selector: {matchLabels: {app: web}}',
    '  template:',
    `    metadata: {labels: {app: web}, annotations: ${JSON.stringify(o.annotations ?? {})}}`,
    '    spec:',
    `      nodeSelector: ${JSON.stringify(o.nodeSelector ?? {})}`,
    `      containers: [{name: web, image: "${o.image}", resources: {requests: {cpu: 100m, memory: 64Mi}}}]`,
    '',
  ].join('\n');

describe('rollouts on a behaving cluster (tier B: controllers, scheduler, KWOK nodes)', () => {
  let ns: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  const live = () =>
    kube.get<Deployment>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' });
  const pods = async () =>
    (await kube.list<Pod>('v1', 'Pod', { namespace: ns, labelSelector: 'app=web' })).items.filter(
      (p) => p.status?.phase === 'Running',
    );

  beforeAll(async () => {
    ns = await newNamespace('e2e');
    o = shoalObjects(kube, ns);
    repo = await gitRepo({ 'apps/web.yaml': deployment({ image: 'nginx:1.27' }) });
    shoal = await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    await o.source('repo', { url: repo.url, interval: '1s' });
    await o.group('app', { sourceRef: { name: 'repo' }, path: 'apps', interval: '1h', timeout: '1m' });
    await waitFor('Healthy', async () => (await o.getGroup('app'))?.status?.health?.status === 'Healthy', {
      timeoutMs: 60_000,
    });
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.remove();
  });

  it('runs the pods on fake nodes, Running and Ready', async () => {
    const running = await pods();
    expect(running).toHaveLength(2);
    expect(running.every((p) => p.spec.nodeName?.startsWith('kwok-node-'))).toBe(true);
    expect((await live())?.status?.availableReplicas).toBe(2);
  });

  it('a Git push rolls out a new image: the group goes Progressing, then Healthy once the Deployment is Available', async () => {
    const seen: string[] = [];
    const commit = await repo.commit({ 'apps/web.yaml': deployment({ image: 'nginx:1.28' }) });
    const group = await waitFor(
      'Healthy at the new revision',
      async () => {
        const g = await o.getGroup('app');
        const health = g?.status?.health?.status;
        if (g?.status?.lastAppliedRevision?.endsWith(commit) && health && seen.at(-1) !== health)
          seen.push(health);
        return g?.status?.lastAppliedRevision?.endsWith(commit) && health === 'Healthy' ? g : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 50 },
    );
    expect(seen[0]).toBe('Progressing');
    expect(seen.at(-1)).toBe('Healthy');
    expect(group.status?.conditions?.find((c) => c.type === 'Healthy')?.status).toBe('True');
    const running = await pods();
    expect(running.map((p) => p.spec.containers[0]?.image)).toEqual(['nginx:1.28', 'nginx:1.28']);
  });

  it('a rollout that cannot progress turns the group Degraded at the progress deadline', async () => {
    // The new pods can be scheduled nowhere, so the rollout stalls until progressDeadlineSeconds.
    const commit = await repo.commit({
      'apps/web.yaml': deployment({ image: 'nginx:1.29', nodeSelector: { 'shoal.dev/nowhere': 'true' } }),
    });
    const group = await waitFor(
      'Degraded',
      async () => {
        const g = await o.getGroup('app');
        return g?.status?.lastAppliedRevision?.endsWith(commit) && g.status.health?.status === 'Degraded'
          ? g
          : undefined;
      },
      { timeoutMs: 90_000 },
    );
    expect(group.status?.health?.message).toMatch(/web/);
    const events = await kube.list<{ reason: string; note: string }>('events.k8s.io/v1', 'Event', {
      namespace: ns,
    });
    expect(events.items.some((e) => e.reason === 'HealthCheckFailed')).toBe(true);
    // The old pods keep serving.
    expect((await live())?.status?.availableReplicas).toBeGreaterThanOrEqual(1);
  });

  it('a Deployment scaled by hand is reported and scaled back to what Git says', async () => {
    const commit = await repo.commit({ 'apps/web.yaml': deployment({ image: 'nginx:1.28', replicas: 2 }) });
    await o.groupAt('app', commit, 60_000);
    await kubectl('-n', ns, 'scale', 'deployment/web', '--replicas=5');
    await waitFor('scaled back to 2', async () => (await live())?.spec.replicas === 2, { timeoutMs: 30_000 });
    await waitFor('2 pods', async () => (await pods()).length === 2, { timeoutMs: 60_000 });
    const events = await kube.list<{ reason: string; note: string }>('events.k8s.io/v1', 'Event', {
      namespace: ns,
    });
    const notes = events.items.map((e) => `${e.reason}: ${e.note}`);
    expect(
      notes.some((n) => /^DriftDetected: Deployment\/.*was changed by kubectl/.test(n)),
      JSON.stringify(notes),
    ).toBe(true);
  });

  it('kubectl top pods reports the CPU and memory usage a test sets', async () => {
    const commit = await repo.commit({
      'apps/web.yaml': deployment({
        image: 'nginx:1.28',
        replicas: 1,
        annotations: { [USAGE_ANNOTATIONS.cpu]: '250m', [USAGE_ANNOTATIONS.memory]: '100Mi' },
      }),
    });
    await o.groupAt('app', commit, 60_000);
    const top = await waitFor(
      'kubectl top',
      async () => {
        const out = await kubectl('-n', ns, 'top', 'pods', '-l', 'app=web', '--no-headers').catch(() => '');
        const lines = out.trim().split('\n').filter(Boolean);
        // metrics-server derives CPU from two scrapes of a counter: under load it reads a hair off.
        const [, cpu, memory] = lines[0]?.split(/\s+/) ?? [];
        return lines.length === 1 && Math.abs(Number.parseInt(cpu ?? '', 10) - 250) <= 5
          ? { cpu, memory }
          : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 2_000 },
    );
    expect(top.cpu).toMatch(/^2(4[5-9]|5[0-5])m$/);
    expect(top.memory).toBe('100Mi');
  });
});

describe('deleting an AppGroup with prune: true on a behaving cluster', () => {
  it('removes its namespace completely', async () => {
    const ns = await newNamespace('e2e-owner');
    const o = shoalObjects(kube, ns);
    const target = `${ns}-app`;
    const repo = await gitRepo({
      'apps/ns.yaml': `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${target}}\n`,
      'apps/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: ${target}}\ndata: {a: b}\n`,
      'apps/web.yaml': deployment({ image: 'nginx:1.27', replicas: 1 }).replace(
        'metadata: {name: web}',
        `metadata: {name: web, namespace: ${target}}`,
      ),
    });
    const shoal = await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns, privileged: true });
    try {
      await o.source('repo', { url: repo.url, interval: '1h' });
      await o.group('app', { sourceRef: { name: 'repo' }, path: 'apps', interval: '1h', prune: true });
      await o.groupAt('app', await repo.head(), 60_000);
      await waitFor(
        'a pod running in the namespace',
        async () =>
          (await kube.list<Pod>('v1', 'Pod', { namespace: target })).items.some(
            (p) => p.status?.phase === 'Running',
          ),
        { timeoutMs: 60_000 },
      );
      await kubectl('-n', ns, 'delete', 'appgroup', 'app', '--wait=false');
      await waitFor(
        'the namespace gone',
        async () => (await kube.get({ apiVersion: 'v1', kind: 'Namespace', name: target })) === undefined,
        { timeoutMs: 120_000, intervalMs: 500 },
      );
      expect(await o.getGroup('app')).toBeUndefined();
    } finally {
      await shoal.stop();
      await repo.remove();
    }
  });
});
