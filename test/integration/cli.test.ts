import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppGroup } from '../../src/api/app-group.ts';
import { useCluster } from '../support/cluster.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, newNamespace } = useCluster();
const root = resolve(import.meta.dirname, '..', '..');

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('the shoal command (bin/shoal.js run) as its own process', () => {
  let child: ChildProcess;
  let output = '';
  let port: number;
  let ns: string;
  let repo: TestRepo;
  let exit: Promise<number | null>;

  beforeAll(async () => {
    ns = await newNamespace('cli');
    port = await freePort();
    repo = await gitRepo({
      'deploy/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-cli}\ndata: {a: b}\n',
    });
    child = spawn(
      process.execPath,
      [
        join(root, 'bin', 'shoal.js'),
        'run',
        `--watch-namespace=${ns}`,
        '--allow-file-urls',
        `--metrics-addr=127.0.0.1:${port}`,
        '--webhook-addr=127.0.0.1:0',
      ],
      {
        env: { PATH: process.env.PATH, KUBECONFIG: cp.kubeconfig, SHOAL_CACHE_DIR: join(repo.dir, '.cache') },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout?.on('data', (b: Buffer) => {
      output += b.toString();
    });
    child.stderr?.on('data', (b: Buffer) => {
      output += b.toString();
    });
    exit = new Promise((r) => child.on('exit', (code) => r(code)));
  });

  afterAll(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await repo?.remove();
  });

  it('serves /healthz, then /readyz once caches synced, and /metrics', async () => {
    const base = `http://127.0.0.1:${port}`;
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
    const lines = output.trim().split('\n');
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(lines.map((l) => JSON.parse(l).msg)).toContain('caches synced');
  });

  it('exits 0 on SIGTERM', async () => {
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });
});
