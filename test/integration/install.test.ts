import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { AppGroup } from '../../src/api/app-group.ts';
import { useCluster } from '../support/cluster.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { startShoal } from '../support/shoal.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, kubectl, kubectlRaw, newNamespace } = useCluster();
const root = resolve(import.meta.dirname, '..', '..');

interface Container {
  livenessProbe?: { httpGet?: { path: string } };
  readinessProbe?: { httpGet?: { path: string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
}

describe('kubectl apply -k manifests/', () => {
  let admission = '';
  beforeAll(async () => {
    await kubectl('apply', '-k', join(root, 'manifests'));
    // The finalizer policy mutates every AppGroup created anywhere: in this shared cluster the other
    // files test Shoal's own finalizer patch (and finalizer-policy.test.ts binds its own copy), so
    // it stays no longer than this look at it.
    const objects =
      'mutatingadmissionpolicy/shoal-appgroup-finalizer mutatingadmissionpolicybinding/shoal-appgroup-finalizer';
    admission = await kubectl('get', ...objects.split(' '), '-o', 'name');
    await kubectl('delete', ...objects.split(' '));
  });

  it('installs the CRDs, the finalizer policy and the operator: namespace, service account, RBAC, Deployment, Service', async () => {
    expect(admission.trim().split('\n').sort()).toEqual([
      'mutatingadmissionpolicy.admissionregistration.k8s.io/shoal-appgroup-finalizer',
      'mutatingadmissionpolicybinding.admissionregistration.k8s.io/shoal-appgroup-finalizer',
    ]);
    const deploy = await kube.get<{
      spec: {
        template: {
          spec: {
            serviceAccountName: string;
            securityContext: { runAsNonRoot: boolean };
            containers: Container[];
          };
        };
      };
    }>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shoal-system', name: 'shoal' });
    const pod = deploy?.spec.template.spec;
    expect(pod?.serviceAccountName).toBe('shoal');
    expect(pod?.securityContext.runAsNonRoot).toBe(true);
    const c = pod?.containers[0];
    expect(c?.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(c?.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(c?.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(c?.resources?.requests).toHaveProperty('memory');
    for (const [apiVersion, kind, name, namespace] of [
      ['v1', 'ServiceAccount', 'shoal', 'shoal-system'],
      ['v1', 'Service', 'shoal', 'shoal-system'],
      ['rbac.authorization.k8s.io/v1', 'ClusterRole', 'shoal-controller', undefined],
      ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'shoal-applier', undefined],
      ['apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'appgroups.shoal.dev', undefined],
    ] as const) {
      expect(
        await kube.get({ apiVersion, kind, name, ...(namespace ? { namespace } : {}) }),
        `${kind}/${name}`,
      ).toBeDefined();
    }
  });

  it('gives the operator least privilege: no nodes, no cluster-wide RBAC writes', async () => {
    const sa = 'system:serviceaccount:shoal-system:shoal';
    const can = async (...args: string[]) =>
      (await kubectlRaw(['auth', 'can-i', `--as=${sa}`, ...args])).stdout.trim();
    expect(await can('watch', 'appgroups.shoal.dev', '-A')).toBe('yes');
    expect(await can('patch', 'appgroups.shoal.dev', '--subresource=status', '-A')).toBe('yes');
    expect(await can('create', 'events.events.k8s.io', '-n', 'default')).toBe('yes');
    expect(await can('list', 'nodes')).toBe('no');
    expect(await can('create', 'clusterrolebindings')).toBe('no');
    expect(await can('delete', 'appgroups.shoal.dev', '-A')).toBe('no');
  });

  describe('the operator running as its own service account', () => {
    let dir: string;
    let repo: TestRepo;
    let ns: string;
    let shoal: Awaited<ReturnType<typeof startShoal>>;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'shoal-sa-'));
      const token = (await kubectl('-n', 'shoal-system', 'create', 'token', 'shoal', '--duration=1h')).trim();
      const admin = parse(await readFile(cp.kubeconfig, 'utf8'));
      const kubeconfig = join(dir, 'sa.kubeconfig');
      await writeFile(
        kubeconfig,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: admin.clusters,
          users: [{ name: 'shoal', user: { token } }],
          contexts: [{ name: 'shoal', context: { cluster: admin.clusters[0].name, user: 'shoal' } }],
          'current-context': 'shoal',
        }),
      );
      ns = await newNamespace('sa');
      repo = await gitRepo({
        'apps/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hello}\ndata: {a: b}\n',
        'apps/svc.yaml':
          'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n',
      });
      shoal = await startShoal({ kubeconfig, namespace: ns });
    });

    afterAll(async () => {
      await shoal?.stop();
      await repo?.remove();
      await rm(dir, { recursive: true, force: true });
    });

    it('syncs a repository with only the permissions the manifests grant', async () => {
      await kube.apply({
        apiVersion: 'shoal.dev/v1alpha1',
        kind: 'GitSource',
        metadata: { name: 'repo', namespace: ns },
        spec: { url: repo.url, interval: '1m' },
      });
      await kube.apply({
        apiVersion: 'shoal.dev/v1alpha1',
        kind: 'AppGroup',
        metadata: { name: 'app', namespace: ns },
        spec: { sourceRef: { name: 'repo' }, path: 'apps' },
      });
      const group = await waitFor('Ready', async () => {
        const g = await kube.get<AppGroup>({
          apiVersion: 'shoal.dev/v1alpha1',
          kind: 'AppGroup',
          namespace: ns,
          name: 'app',
        });
        return g?.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True') ? g : undefined;
      });
      expect(group.status?.inventory?.map((e) => e.id)).toEqual([
        `${ns}_hello__ConfigMap`,
        `${ns}_web__Service`,
      ]);
      expect(shoal.logs.filter((l) => l.msg === 'could not emit event')).toEqual([]);
    });
  });
});
