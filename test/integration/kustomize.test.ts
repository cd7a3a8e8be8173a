import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../support/cluster.ts';
import { REAL_WORLD } from '../support/fixtures.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { shoalObjects } from '../support/objects.ts';
import { startShoal } from '../support/shoal.ts';

const { cp, kube, newNamespace } = useCluster();
const realWorld = REAL_WORLD;

/** A published example's files, under `prefix` in the test repository. */
async function example(name: string, prefix: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const abs = join(dir, e.name);
      if (e.isDirectory()) await walk(abs);
      else if (!['LICENSE', 'SOURCE.md'].includes(e.name))
        out[`${prefix}/${relative(join(realWorld, name), abs)}`] = await readFile(abs, 'utf8');
    }
  };
  await walk(join(realWorld, name));
  return out;
}

describe('kustomizations, built by the real kustomize', () => {
  let ns: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startShoal>>;
  let o: ReturnType<typeof shoalObjects>;

  beforeAll(async () => {
    ns = await newNamespace('kust');
    o = shoalObjects(kube, ns);
    repo = await gitRepo({
      ...(await example('kustomize-wordpress', 'wordpress')),
      ...(await example('podinfo-kustomize', 'podinfo')),
      ...(await example('online-boutique-netpol', 'netpol')),
      'escape/kustomization.yaml': 'resources:\n  - ../../../../../etc/kubernetes\n',
      'remote/kustomization.yaml':
        'resources:\n  - https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.0.0\n',
      'plain/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n',
      'generated/kustomization.yaml':
        'configMapGenerator:\n  - name: app-config\n    files: [settings.properties]\ngeneratorOptions:\n  labels: {generated: "yes"}\n',
      'generated/settings.properties': 'color=blue\n',
    });
    shoal = await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    await o.source('repo', { url: repo.url, interval: '1m' });
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.remove();
  });

  it('nested bases, namePrefix, a strategic-merge patch and vars (WordPress)', async () => {
    await o.group('wordpress', { sourceRef: { name: 'repo' }, path: 'wordpress' });
    const g = await o.groupAt('wordpress', await repo.head());
    expect(g.status?.inventory?.map((e) => e.id).sort()).toEqual(
      [
        `${ns}_demo-mysql-pass__Secret`,
        `${ns}_demo-mysql__Service`,
        `${ns}_demo-wordpress__Service`,
        `${ns}_demo-mysql_apps_Deployment`,
        `${ns}_demo-wordpress_apps_Deployment`,
      ].sort(),
    );
    const wp = await kube.get<{
      spec: {
        template: {
          spec: { initContainers?: unknown[]; containers: { env?: { name: string; value?: string }[] }[] };
        };
      };
    }>({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: ns,
      name: 'demo-wordpress',
    });
    expect(wp?.spec.template.spec.initContainers).toHaveLength(1);
    expect(JSON.stringify(wp?.spec.template.spec.containers[0]?.env)).toContain('demo-mysql');
  });

  it('an HPA in the kustomization owns the replica count (podinfo)', async () => {
    await o.group('podinfo', { sourceRef: { name: 'repo' }, path: 'podinfo' });
    await o.groupAt('podinfo', await repo.head());
    const d = await kube.get<{ spec: { replicas: number } }>({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: ns,
      name: 'podinfo',
    });
    expect(d?.spec.replicas).toBe(2);
  });

  it('a kustomize Component builds standalone (Online Boutique network policies)', async () => {
    await o.group('netpol', { sourceRef: { name: 'repo' }, path: 'netpol' });
    const g = await o.groupAt('netpol', await repo.head());
    expect(g.status?.inventory).toHaveLength(13);
  });

  it('generators: a configMapGenerator makes a hashed ConfigMap', async () => {
    await o.group('generated', { sourceRef: { name: 'repo' }, path: 'generated' });
    const g = await o.groupAt('generated', await repo.head());
    const id = g.status?.inventory?.[0]?.id ?? '';
    expect(id).toMatch(new RegExp(`^${ns}_app-config-[a-z0-9]{10}__ConfigMap$`));
    const name = id.split('_')[1] as string;
    const cm = await kube.get<{ data: Record<string, string> }>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: ns,
      name,
    });
    expect(cm?.data['settings.properties']).toBe('color=blue\n');
  });

  it.each([
    [
      'escape',
      'SecurityViolation',
      /escape\/kustomization\.yaml refers to \.\.\/.*etc\/kubernetes, which is not in the repository/,
    ],
    ['remote', 'RemoteRefsDisabled', /remote base .*helloWorld.*--allow-remote-bases/],
  ])('%s: %s, nothing applied', async (path, reason, message) => {
    await o.group(path, { sourceRef: { name: 'repo' }, path });
    const g = await o.groupReason(path, reason);
    expect(o.ready(g)?.message).toMatch(message);
    expect(g.status?.inventory ?? []).toEqual([]);
  });
});
