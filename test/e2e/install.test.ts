/**
 * The install, end to end, the way a user meets it: `npm run image` builds the operator image (no
 * container daemon) and pushes it to a registry on loopback; `kubectl apply -k` installs manifests/
 * with that image pinned by digest, into a namespace that enforces the restricted Pod Security
 * profile; then the Deployment's pod template is run the way a kubelet runs it (test/support/
 * kubelet.ts: runc, the container's securityContext, emptyDir volumes, a ServiceAccount token), with
 * no kubeconfig anywhere. The operator takes its Lease, syncs a repository served over HTTP, takes a
 * push webhook, exits 0 on SIGTERM releasing the Lease, and a second replica takes over.
 */
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { useCluster } from '../support/cluster.ts';
import { ensureDebianPackage } from '../support/debian.ts';
import { startGitHttpServer } from '../support/git-http-server.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { type PodSpec, pullImage, type RunningContainer, runContainer } from '../support/kubelet.ts';
import { shoalObjects } from '../support/objects.ts';
import { startOciRegistry } from '../support/oci-registry.ts';
import { shoalCli } from '../support/shoal-cli.ts';
import { waitFor } from '../support/wait.ts';

const run = promisify(execFile);
const { cp, kube, kubectl, newNamespace } = useCluster();
const helm = inject('helm');
const root = resolve(import.meta.dirname, '..', '..');
const NS = 'shoal-system';
const TOKEN = 'install-hook-token';

interface Lease {
  spec: { holderIdentity?: string };
}
/**
 * The holders of the installation's shard Leases (one replica holds all 12), or '' when they differ
 * or are not all there yet.
 */
const holder = async () => {
  const { items } = await kube.list<Lease>('coordination.k8s.io/v1', 'Lease', {
    namespace: NS,
    labelSelector: 'shoal.dev/shards-of=shoal-leader,shoal.dev/lease-role=shard',
  });
  const holders = new Set(items.map((l) => l.spec.holderIdentity ?? ''));
  return items.length === 12 && holders.size === 1 ? ([...holders][0] ?? '') : '';
};

const portInUse = (port: number) =>
  new Promise<boolean>((done) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.on('connect', () => {
      s.destroy();
      done(true);
    });
    s.on('error', () => done(false));
  });

describe('the operator image, installed with kubectl apply -k and run as a kubelet runs it', () => {
  let work: string;
  let registry: Awaited<ReturnType<typeof startOciRegistry>>;
  let image: { digest: string; pinned: string; total: number; layers: { name: string; tarSize: number }[] };
  let spec: PodSpec;
  let pulled: Awaited<ReturnType<typeof pullImage>>;
  let repo: TestRepo;
  let git: Awaited<ReturnType<typeof startGitHttpServer>>;
  let appNs: string;
  let o: ReturnType<typeof shoalObjects>;
  let sourceUrl: string;
  const containers: RunningContainer[] = [];

  const identity = async (name: string) => {
    const [token, kubeconfig] = await Promise.all([
      kubectl('create', 'token', 'shoal', '-n', NS, '--duration=2h'),
      readFile(cp.kubeconfig, 'utf8'),
    ]);
    const caFile = (parse(kubeconfig) as { clusters: { cluster: { 'certificate-authority': string } }[] })
      .clusters[0]?.cluster['certificate-authority'] as string;
    const server = new URL(cp.server);
    return {
      name,
      namespace: NS,
      token: token.trim(),
      ca: await readFile(caFile, 'utf8'),
      apiServer: { host: server.hostname, port: server.port },
    };
  };
  const start = async (name: string) => {
    const c = await runContainer(spec, pulled, await identity(name), work);
    containers.push(c);
    return c;
  };
  const push = async (commit: string) => {
    const body = JSON.stringify({
      ref: 'refs/heads/main',
      after: commit,
      repository: { clone_url: sourceUrl },
    });
    return fetch('http://127.0.0.1:9292/hooks/github', {
      method: 'POST',
      headers: {
        'x-github-event': 'push',
        'x-hub-signature-256': `sha256=${createHmac('sha256', TOKEN).update(body).digest('hex')}`,
      },
      body,
    });
  };

  beforeAll(async () => {
    const log = (l: string) => process.stderr.write(`[install] ${l}\n`);
    for (const [bin, pkg] of [
      ['/usr/bin/skopeo', 'skopeo'],
      ['/usr/bin/umoci', 'umoci'],
      ['/usr/sbin/runc', 'runc'],
      ['/usr/bin/mmdebstrap', 'mmdebstrap'],
    ] as const)
      await ensureDebianPackage(bin, pkg, log);
    for (const port of [8080, 9292, 9080])
      if (await portInUse(port)) throw new Error(`port ${port} is in use; the operator's container binds it`);
    work = await mkdtemp(join(tmpdir(), 'shoal-install-'));
    registry = await startOciRegistry(helm);
    log('npm run image -- --push (cold: a few minutes; warm: seconds)');
    await run(
      process.execPath,
      [
        join(root, 'scripts', 'image.ts'),
        '--push',
        `${registry.host}/shoal/shoal:0.1.0`,
        '--out',
        join(work, 'image'),
        '--json',
        join(work, 'image.json'),
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    image = JSON.parse(await readFile(join(work, 'image.json'), 'utf8'));
    // The release kustomization, with one overlay patch as a user would make: the test's git server
    // speaks plain HTTP on loopback, which the operator refuses unless told otherwise.
    await mkdir(join(work, 'overlay'));
    await writeFile(
      join(work, 'overlay', 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'resources: [../image/release]',
        'patches:',
        '  - target: {kind: Deployment, name: shoal}',
        '    patch: |-',
        '      - {op: add, path: /spec/template/spec/containers/0/args/-, value: --allow-insecure-http}',
        '',
      ].join('\n'),
    );
    await kubectl('apply', '-k', join(work, 'overlay'));
    const deployment = await kube.get<{ spec: { template: { spec: PodSpec } } }>({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: NS,
      name: 'shoal',
    });
    spec = deployment?.spec.template.spec as PodSpec;
    pulled = await pullImage(spec.containers[0]?.image as string, join(work, 'pull'));

    repo = await gitRepo({
      'apps/settings.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {n: "0"}\n',
    });
    git = await startGitHttpServer(dirname(repo.dir), 'none');
    sourceUrl = `${git.url}/${basename(repo.dir)}/.git`;
    appNs = await newNamespace('installed');
    o = shoalObjects(kube, appNs);
    await o.secret('hook', { token: TOKEN });
    await o.source('repo', { url: sourceUrl, interval: '1h', webhookSecretRef: { name: 'hook' } });
    await o.group('app', { sourceRef: { name: 'repo' }, path: 'apps', interval: '1h' });
  });

  afterAll(async () => {
    for (const c of containers) await c.remove();
    await git?.close();
    await repo?.remove();
    await registry?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('pins the pushed image by digest; the Deployment is admitted under the restricted Pod Security profile', async () => {
    expect(spec.containers[0]?.image).toBe(image.pinned);
    expect(image.pinned).toBe(`${registry.host}/shoal/shoal@${image.digest}`);
    const ns = await kube.get<{ metadata: { labels: Record<string, string> } }>({
      apiVersion: 'v1',
      kind: 'Namespace',
      name: NS,
    });
    expect(ns?.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    // The controller-manager made the Deployment's pod: admission let it in (KWOK runs it as a fake).
    await waitFor(
      'the Deployment available',
      async () => {
        const d = await kube.get<{ status?: { availableReplicas?: number } }>({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          namespace: NS,
          name: 'shoal',
        });
        return (d?.status?.availableReplicas ?? 0) >= 1;
      },
      { timeoutMs: 60_000 },
    );
    // The same template with a privilege the profile forbids is refused by the API server.
    const bad = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'too-much', namespace: NS },
      spec: {
        ...spec,
        containers: spec.containers.map((c) => ({
          ...c,
          securityContext: {
            ...c.securityContext,
            allowPrivilegeEscalation: true,
            capabilities: { add: ['NET_ADMIN'] },
          },
        })),
      },
    };
    const refused = await kube.create(bad as never).then(
      () => 'created',
      (err: Error) => err.message,
    );
    expect(refused).toContain('violates PodSecurity "restricted:latest"');
  });

  it('shoal check passes on the installation, and names a verb the ServiceAccount lacks', async () => {
    const ok = await shoalCli(cp.kubeconfig, 'check');
    expect(ok.stdout).not.toContain('✗');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`✔ Deployment ${NS}/shoal available`);
    // Take one verb away: check fails naming it; the manifests put it back.
    const rules =
      (
        await kube.get<{ rules: { resources: string[]; verbs: string[] }[] }>({
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          name: 'shoal-controller',
        })
      )?.rules ?? [];
    const index = rules.findIndex((r) => r.resources.includes('appgroups'));
    await kubectl(
      'patch',
      'clusterrole',
      'shoal-controller',
      '--type=json',
      '-p',
      JSON.stringify([{ op: 'replace', path: `/rules/${index}/verbs`, value: ['get', 'list', 'patch'] }]),
    );
    const broken = await waitFor('check to see the missing verb', async () => {
      const r = await shoalCli(cp.kubeconfig, 'check');
      return r.code === 1 ? r : undefined;
    });
    expect(broken.stdout).toContain(`✗ system:serviceaccount:${NS}:shoal may not watch shoal.dev/appgroups`);
    await kubectl('apply', '-k', join(work, 'overlay'));
  });

  it('runs from its image in-cluster, non-root, read-only root: takes the shard Leases, syncs over HTTP, answers its ports, takes a webhook', async () => {
    const env = spec.containers[0]?.env?.map((e) => e.name) ?? [];
    expect(env).not.toContain('KUBECONFIG');
    const a = await start('shoal-a');
    await waitFor('shoal-a to lead', async () => (await holder()).startsWith('shoal-a_'), {
      timeoutMs: 60_000,
    }).catch((err) => {
      throw new Error(`${err.message}\n${a.output().slice(-4000)}`);
    });
    await o.groupAt('app', await repo.head(), 60_000).catch(async (err) => {
      const states = JSON.stringify([(await o.getSource('repo'))?.status, (await o.getGroup('app'))?.status]);
      throw new Error(`${err.message}\n${states}\n${a.output().slice(-4000)}`);
    });
    const [uid, touch] = await Promise.all([
      run('runc', ['exec', a.id, 'id', '-u']).then((r) => r.stdout.trim()),
      run('runc', ['exec', a.id, 'touch', '/app/written']).then(
        () => 'written',
        (e: Error) => e.message,
      ),
    ]);
    expect(uid).toBe('1000');
    expect(touch).toContain('Read-only file system');
    for (const path of ['/healthz', '/readyz'])
      expect((await fetch(`http://127.0.0.1:8080${path}`)).status).toBe(200);
    expect(await (await fetch('http://127.0.0.1:8080/metrics')).text()).toContain('shoal_leader 1');
    const commit = await repo.commit({
      'apps/settings.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {n: "1"}\n',
    });
    expect((await push(commit)).status).toBe(202);
    await o.groupAt('app', commit, 30_000);
    const cm = await kube.get<{ data: { n: string } }>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: appNs,
      name: 'settings',
    });
    expect(cm?.data.n).toBe('1');
  });

  it('exits 0 on SIGTERM, releasing its Leases; a second replica takes over and keeps syncing', async () => {
    const a = containers[0] as RunningContainer;
    await a.signal('TERM');
    expect(await a.exited).toBe(0);
    // Every shard handed back on the way out: the next replica need not wait for them to expire.
    const { items } = await kube.list<Lease>('coordination.k8s.io/v1', 'Lease', {
      namespace: NS,
      labelSelector: 'shoal.dev/shards-of=shoal-leader,shoal.dev/lease-role=shard',
    });
    expect(items.map((l) => l.spec.holderIdentity ?? '')).toEqual(new Array(12).fill(''));
    const b = await start('shoal-b');
    await waitFor('shoal-b to lead', async () => (await holder()).startsWith('shoal-b_'), {
      timeoutMs: 30_000,
    }).catch((err) => {
      throw new Error(`${err.message}\n${b.output().slice(-4000)}`);
    });
    const commit = await repo.commit({
      'apps/settings.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {n: "2"}\n',
    });
    await waitFor(
      'the webhook served',
      async () => (await push(commit).catch(() => undefined))?.status === 202,
    );
    await o.groupAt('app', commit, 30_000);
    await b.signal('TERM');
    expect(await b.exited).toBe(0);
  });

  it('is reproducible: built again from nothing cached, the same inputs give the same digest', async () => {
    const again = join(work, 'again.json');
    await run(
      process.execPath,
      [join(root, 'scripts', 'image.ts'), '--no-cache', '--out', join(work, 'again'), '--json', again],
      { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, SHOAL_IMAGE_CACHE: join(work, 'cache') } },
    );
    const second = JSON.parse(await readFile(again, 'utf8')) as typeof image;
    expect(second.layers.map((l) => l.name)).toEqual(['base', 'node', 'tools', 'app']);
    expect(second.digest).toBe(image.digest);
  });
});
