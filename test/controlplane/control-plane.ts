import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { TEST_USERS, writePki } from './pki.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

/** What a running control plane exposes; persisted as `state.json` in its directory. */
export interface ControlPlaneState {
  dir: string;
  binDir: string;
  server: string;
  kubeconfig: string;
  pids: Record<string, number>;
  logs: Record<string, string>;
}

export interface StartOptions {
  /** Working directory for certificates, etcd data, logs and the kubeconfig (created; reused if empty). */
  dir: string;
  /** Where etcd, kube-apiserver and kubectl live (see `ensureBinaries`). */
  binDir: string;
  /** Seconds to wait for readiness; 2-core machines need more than envtest's 20 s. */
  timeoutSeconds?: number;
  log?: (line: string) => void;
}

/**
 * Builds or reuses the cached tier A binaries through `build.sh`, streaming its progress lines to
 * `log`. Resolves to the binary directory.
 */
/** Builds or reuses the pinned kustomize (tools/build-kustomize.sh); resolves to the binary's path. */
export function ensureKustomize(
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<string> {
  return runBuildScript(join(HERE, '..', '..', 'tools', 'build-kustomize.sh'), log);
}

/** Builds or reuses the pinned Helm (tools/build-helm.sh); resolves to the binary's path. */
export function ensureHelm(
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<string> {
  return runBuildScript(join(HERE, '..', '..', 'tools', 'build-helm.sh'), log);
}

export function ensureBinaries(
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<string> {
  return runBuildScript(join(HERE, 'build.sh'), log);
}

/** Builds or reuses tier B (kube-controller-manager, kube-scheduler, kwok, metrics-server). */
export function ensureTierB(
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<string> {
  return runBuildScript(join(HERE, 'build.sh'), log, ['--tier-b']);
}

/** Runs a build script, streaming its progress (stderr) to `log`; resolves to its last stdout line. */
function runBuildScript(script: string, log: (line: string) => void, args: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    let partial = '';
    child.stderr.on('data', (b: Buffer) => {
      partial += b.toString();
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) log(l);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (partial) log(partial);
      const dir = out.trim().split('\n').pop() ?? '';
      if (code === 0 && dir) resolve(dir);
      else reject(new Error(`${script} failed (exit ${code}); see the lines above`));
    });
  });
}

export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    if (a === null || typeof a === 'string') throw new Error('no port');
    return a.port;
  });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function startProcess(name: string, bin: string, args: string[], dir: string): { pid: number; log: string } {
  const log = join(dir, 'logs', `${name}.log`);
  const fd = openSync(log, 'a');
  // detached: a process group of its own, so stop() can signal it and it outlives `cluster:up`.
  const child = spawn(bin, args, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  return { pid: child.pid, log };
}

function probe(url: string, ca: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { ca, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Polls `check` until true; on timeout, throws with the last lines of the process log `logFile`. */
export async function waitForProcess(
  what: string,
  check: () => Promise<boolean>,
  timeoutSeconds: number,
  logFile: string,
) {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n') : '';
  throw new Error(
    `timed out after ${timeoutSeconds}s waiting for ${what}; last log lines of ${logFile}:\n${tail}`,
  );
}

function kubeconfigYaml(server: string, pki: string): string {
  const users = Object.values(TEST_USERS)
    .filter((u) => u.user !== 'admin')
    .map((u) => `- name: ${u.user}\n  user: {token: ${u.token}}`)
    .join('\n');
  const contexts = Object.values(TEST_USERS)
    .filter((u) => u.user !== 'admin')
    .map((u) => `- name: ${u.user}\n  context: {cluster: shoal-test, user: ${u.user}}`)
    .join('\n');
  return `apiVersion: v1
kind: Config
clusters:
- name: shoal-test
  cluster: {server: "${server}", certificate-authority: "${pki}/ca.crt"}
users:
- name: admin
  user: {client-certificate: "${pki}/admin.crt", client-key: "${pki}/admin.key"}
${users}
contexts:
- name: admin
  context: {cluster: shoal-test, user: admin}
${contexts}
current-context: admin
`;
}

/**
 * Starts etcd and kube-apiserver on loopback with generated certificates, RBAC authorization, static
 * token users and an admin kubeconfig, then waits for `/readyz` and the default namespace.
 */
export async function startControlPlane(opts: StartOptions): Promise<ControlPlaneState> {
  const { dir, binDir } = opts;
  const timeout = opts.timeoutSeconds ?? 90;
  const log = opts.log ?? (() => {});
  const pki = join(dir, 'pki');
  await mkdir(join(dir, 'logs'), { recursive: true });
  await writePki(pki);
  const [etcdPort, etcdPeer, apiPort] = (await freePorts(3)) as [number, number, number];
  const state: ControlPlaneState = {
    dir,
    binDir,
    server: `https://127.0.0.1:${apiPort}`,
    kubeconfig: join(dir, 'admin.kubeconfig'),
    pids: {},
    logs: {},
  };
  const record = (name: string, p: { pid: number; log: string }) => {
    state.pids[name] = p.pid;
    state.logs[name] = p.log;
  };
  const saveState = () => writeFile(join(dir, 'state.json'), JSON.stringify(state, null, 2));
  try {
    log(`starting etcd on 127.0.0.1:${etcdPort}`);
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeer}`;
    record(
      'etcd',
      startProcess(
        'etcd',
        join(binDir, 'etcd'),
        [
          '--name=shoal-test',
          `--data-dir=${join(dir, 'etcd')}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          `--initial-cluster=shoal-test=${peerUrl}`,
          '--unsafe-no-fsync=true',
          '--auto-compaction-retention=1',
          '--quota-backend-bytes=8589934592',
          '--log-level=warn',
        ],
        dir,
      ),
    );
    await saveState();
    await waitForProcess(
      'etcd /health',
      async () => {
        try {
          const res = await fetch(`${etcdUrl}/health`);
          return res.ok;
        } catch {
          return false;
        }
      },
      timeout,
      state.logs.etcd ?? '',
    );

    log(`starting kube-apiserver on ${state.server}`);
    record(
      'kube-apiserver',
      startProcess(
        'kube-apiserver',
        join(binDir, 'kube-apiserver'),
        [
          `--etcd-servers=${etcdUrl}`,
          '--etcd-prefix=/registry',
          '--bind-address=127.0.0.1',
          `--secure-port=${apiPort}`,
          '--advertise-address=127.0.0.1',
          '--endpoint-reconciler-type=none',
          `--cert-dir=${join(dir, 'apiserver')}`,
          `--tls-cert-file=${pki}/apiserver.crt`,
          `--tls-private-key-file=${pki}/apiserver.key`,
          `--client-ca-file=${pki}/ca.crt`,
          `--token-auth-file=${pki}/tokens.csv`,
          '--authorization-mode=RBAC',
          '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
          `--service-account-key-file=${pki}/sa.pub`,
          `--service-account-signing-key-file=${pki}/sa.key`,
          '--service-cluster-ip-range=10.96.0.0/16',
          '--allow-privileged=true',
          `--proxy-client-cert-file=${pki}/front-proxy-client.crt`,
          `--proxy-client-key-file=${pki}/front-proxy-client.key`,
          `--requestheader-client-ca-file=${pki}/ca.crt`,
          '--requestheader-allowed-names=front-proxy-client',
          '--requestheader-username-headers=X-Remote-User',
          '--requestheader-group-headers=X-Remote-Group',
          '--requestheader-extra-headers-prefix=X-Remote-Extra-',
          // Tier A has no controller-manager to create `default` ServiceAccounts (envtest does the same).
          '--disable-admission-plugins=ServiceAccount',
          '--v=1',
        ],
        dir,
      ),
    );
    await saveState();
    const ca = await readFile(join(pki, 'ca.crt'));
    await waitForProcess(
      'kube-apiserver /readyz',
      async () => (await probe(`${state.server}/readyz`, ca)) === 200,
      timeout,
      state.logs['kube-apiserver'] ?? '',
    );
    await writeFile(state.kubeconfig, kubeconfigYaml(state.server, pki), { mode: 0o600 });
    await waitForProcess(
      'namespace default',
      async () => {
        const { status } = await kubectl(state, ['get', 'namespace', 'default', '-o', 'name']).catch(() => ({
          status: 1,
        }));
        return status === 0;
      },
      30,
      state.logs['kube-apiserver'] ?? '',
    );
    await saveState();
    log(`control plane ready: ${state.server}`);
    return state;
  } catch (err) {
    await stopControlPlane(state);
    throw err;
  }
}

/** Runs the matching kubectl against this control plane as admin. */
export function kubectl(
  state: Pick<ControlPlaneState, 'binDir' | 'kubeconfig'>,
  args: string[],
  input?: string,
  env?: Record<string, string>,
): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(state.binDir, 'kubectl'), [`--kubeconfig=${state.kubeconfig}`, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(env ? { env: { ...process.env, ...env } } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ status: code ?? 1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts another long-running process beside the control plane (the demo's operator), recorded in
 * `state.json` so that stopping the control plane stops it first.
 */
export async function addProcess(
  state: ControlPlaneState,
  name: string,
  bin: string,
  args: string[],
): Promise<{ pid: number; log: string }> {
  const p = startProcess(name, bin, args, state.dir);
  state.pids[name] = p.pid;
  state.logs[name] = p.log;
  await writeFile(join(state.dir, 'state.json'), JSON.stringify(state, null, 2));
  return p;
}

/** Stops the processes (extra ones first, then the apiserver, then etcd) by process group and waits. */
export async function stopControlPlane(state: Pick<ControlPlaneState, 'pids'>): Promise<void> {
  const core = ['kube-apiserver', 'etcd'];
  const order = [...Object.keys(state.pids).filter((n) => !core.includes(n)), ...core];
  for (const name of order) {
    const pid = state.pids[name];
    if (pid === undefined) continue;
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      continue;
    }
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
    if (alive(pid)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** Reads a control plane's `state.json`, or undefined when there is none. */
export async function readState(dir: string): Promise<ControlPlaneState | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as ControlPlaneState;
  } catch {
    return undefined;
  }
}

/** Stops the control plane recorded in `dir` (if any) and deletes the directory. */
export async function destroyControlPlane(dir: string): Promise<boolean> {
  const state = await readState(dir);
  if (state) await stopControlPlane(state);
  await rm(dir, { recursive: true, force: true });
  return state !== undefined;
}

/** Applies the CRDs in `crdDir` and waits until every one is Established. */
export async function installCrds(state: ControlPlaneState, crdDir: string): Promise<void> {
  const applied = await kubectl(state, ['apply', '--server-side', '-k', crdDir, '-o', 'name']);
  if (applied.status !== 0) throw new Error(`installing CRDs failed: ${applied.stderr}`);
  const names = applied.stdout.trim().split('\n').filter(Boolean);
  const waited = await kubectl(state, ['wait', '--for=condition=Established', '--timeout=60s', ...names]);
  if (waited.status !== 0) throw new Error(`CRDs not Established: ${waited.stderr}`);
}

/**
 * A server-side dry-run create of an AppGroup in `namespace` (nothing is stored): its finalizers as
 * admission left them.
 */
export async function dryRunFinalizers(
  state: Pick<ControlPlaneState, 'binDir' | 'kubeconfig'>,
  namespace: string,
  finalizers?: string[],
): Promise<string[]> {
  const group = {
    apiVersion: 'shoal.dev/v1alpha1',
    kind: 'AppGroup',
    metadata: { name: 'dry-run-probe', namespace, ...(finalizers ? { finalizers } : {}) },
    spec: { sourceRef: { name: 'none' }, path: 'none' },
  };
  const r = await kubectl(
    state,
    ['create', '--dry-run=server', '-o', 'json', '-f', '-'],
    JSON.stringify(group),
  );
  if (r.status !== 0) throw new Error(`a dry-run create of an AppGroup in ${namespace} failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { metadata: { finalizers?: string[] } }).metadata.finalizers ?? [];
}

/**
 * Applies manifests/finalizer-policy.yaml (`file`), as an install does, and waits until the API
 * server enforces it: a dry-run create of an AppGroup comes back with the finalizer (the API server
 * loads admission policies through an informer, a moment after they are written).
 */
export async function installFinalizerPolicy(state: ControlPlaneState, file: string): Promise<void> {
  const applied = await kubectl(state, ['apply', '--server-side', '-f', file]);
  if (applied.status !== 0) throw new Error(`installing the finalizer policy failed: ${applied.stderr}`);
  for (let i = 0; i < 100; i++) {
    const finalizers = await dryRunFinalizers(state, 'default').catch((): string[] => []);
    if (finalizers.includes('shoal.dev/finalizer')) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the finalizer policy was applied but AppGroups are still created without the finalizer');
}
