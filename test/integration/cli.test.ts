import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppGroup } from '../../src/api/app-group.ts';
import { useCluster } from '../support/cluster.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { shoalCli, shoalCliWithInput, shoalProcess } from '../support/shoal-cli.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, newNamespace } = useCluster();

describe('the shoal command (bin/shoal.js run) as its own process', () => {
  let shoal: ReturnType<typeof shoalProcess>;
  let ns: string;
  let repo: TestRepo;

  beforeAll(async () => {
    ns = await newNamespace('cli');
    repo = await gitRepo({
      'deploy/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-cli}\ndata: {a: b}\n',
    });
    shoal = shoalProcess(
      cp.kubeconfig,
      [
        `--watch-namespace=${ns}`,
        '--allow-file-urls',
        '--metrics-addr=127.0.0.1:0',
        '--webhook-addr=127.0.0.1:0',
      ],
      { SHOAL_CACHE_DIR: join(repo.dir, '.cache') },
    );
  });

  afterAll(async () => {
    await shoal.kill();
    await repo?.remove();
  });

  it('serves /healthz, then /readyz once caches synced, and /metrics', async () => {
    const base = await shoal.listening('serving health and metrics');
    await waitFor('healthz', async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok);
    await waitFor('readyz', async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.ok);
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('shoal_reconcile_total');
  });

  it('syncs with $KUBECONFIG and logs JSON lines', async () => {
    await kube.apply({
      apiVersion: 'shoal.dev/v1alpha1',
      kind: 'GitSource',
      metadata: { name: 'repo', namespace: ns },
      spec: { url: repo.url },
    });
    await kube.apply({
      apiVersion: 'shoal.dev/v1alpha1',
      kind: 'AppGroup',
      metadata: { name: 'app', namespace: ns },
      spec: { sourceRef: { name: 'repo' }, path: 'deploy' },
    });
    await waitFor('Ready', async () => {
      const g = await kube.get<AppGroup>({
        apiVersion: 'shoal.dev/v1alpha1',
        kind: 'AppGroup',
        namespace: ns,
        name: 'app',
      });
      return g?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    });
    expect(
      await kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'from-cli' }),
    ).toBeDefined();
    const lines = shoal.output().trim().split('\n');
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(lines.map((l) => JSON.parse(l).msg)).toContain('caches synced');
  });

  it('exits 0 on SIGTERM', async () => {
    shoal.child.kill('SIGTERM');
    expect(await shoal.exit).toBe(0);
  });
});

describe('the shoal command line (bin/shoal.js)', () => {
  it('replays an autoscaling scenario from stdin, and says one line for a usage error (exit 2)', async () => {
    const scenario = {
      autoscaling: { minReplicas: 1, maxReplicas: 10 },
      steps: [
        {
          time: '2026-01-01T00:00:00Z',
          currentReplicas: 2,
          pods: ['a', 'b'].map((name) => ({ name, requests: { cpu: '1' }, usage: { cpu: '1600m' } })),
          metricValues: [null],
        },
      ],
    };
    const ok = await shoalCliWithInput(cp.kubeconfig, JSON.stringify(scenario), 'autoscale', 'simulate', '-');
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).steps[0].desiredReplicas).toBe(4);
    const unknown = await shoalCli(cp.kubeconfig, 'frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('shoal: unknown command "frobnicate" (shoal --help lists them)\n');
    const flag = await shoalCli(cp.kubeconfig, 'get', 'groups', '--frobnicate');
    expect(flag.code).toBe(2);
    expect(flag.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('shoal check: --pre passes on a supported API server; without an installation, one line per problem', async () => {
    const pre = await shoalCli(cp.kubeconfig, 'check', '--pre');
    expect(pre.code, pre.stderr).toBe(0);
    expect(pre.stdout).toMatch(/^✔ Kubernetes v1\.\d+\.\d+ \(>= 1\.29; tested with 1\.37\)\n$/);
    const none = await shoalCli(cp.kubeconfig, 'check', '-n', 'nowhere-installed');
    expect(none.code).toBe(1);
    // The CRDs are there (the test setup installs them); nothing else is.
    expect(none.stdout).toContain('✔ CRD appgroups.shoal.dev (v1alpha1)');
    expect(none.stdout).toContain('✗ Deployment nowhere-installed/shoal not found');
    expect(none.stdout).toContain(
      '✗ system:serviceaccount:nowhere-installed:shoal may not get shoal.dev/gitsources',
    );
    expect(none.stdout).toContain('✗ Service nowhere-installed/shoal not found');
  });
});
