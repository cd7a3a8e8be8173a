/**
 * A kubelet of one pod, for the install test: pulls the image of a Deployment's pod template from a
 * registry (skopeo), unpacks it (umoci), and runs each container with runc the way a kubelet would:
 * the image's entrypoint and cmd under the container's command and args, the env (with the
 * downward API's metadata fields resolved) and KUBERNETES_SERVICE_HOST/PORT, the securityContext
 * (uid and gid, runAsNonRoot, readOnlyRootFilesystem, allowPrivilegeEscalation, capabilities), the
 * emptyDir volumes, and a ServiceAccount token and the cluster CA at the usual path. Differences
 * from a kubelet: the host's network namespace (so that the container reaches the API server on
 * loopback and its ports are the host's), no seccomp profile, no cgroup limits, and no probes.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}
interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
}
export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
export interface PodSpec {
  serviceAccountName?: string;
  securityContext?: SecurityContext & { fsGroup?: number };
  containers: Container[];
  volumes?: { name: string; emptyDir?: object }[];
}

/** The image config's process fields (OCI image config `config`). */
interface ImageProcess {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
}

/** The capabilities a container runtime grants by default (containerd's list). */
const DEFAULT_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Pulls `ref` (registry on loopback, plain HTTP) and unpacks it into `dir`/bundle. */
export async function pullImage(ref: string, dir: string): Promise<{ rootfs: string; config: ImageProcess }> {
  const layout = join(dir, 'oci');
  await mkdir(dir, { recursive: true });
  await run('skopeo', [
    'copy',
    '--quiet',
    '--src-tls-verify=false',
    `docker://${ref}`,
    `oci:${layout}:pulled`,
  ]);
  const bundle = join(dir, 'bundle');
  await run('umoci', ['unpack', '--image', `${layout}:pulled`, bundle], { maxBuffer: 64 * 1024 * 1024 });
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'));
  const blob = async (digest: string) =>
    JSON.parse(await readFile(join(layout, 'blobs', 'sha256', digest.slice(7)), 'utf8'));
  const manifest = await blob(index.manifests[0].digest);
  const image = await blob(manifest.config.digest);
  return { rootfs: join(bundle, 'rootfs'), config: image.config as ImageProcess };
}

/** The process args a kubelet runs: command replaces the entrypoint, args the cmd. Pure. */
export function processArgs(image: ImageProcess, c: Container): string[] {
  if (c.command) return [...c.command, ...(c.args ?? [])];
  return [...(image.Entrypoint ?? []), ...(c.args ?? image.Cmd ?? [])];
}

export interface PodIdentity {
  name: string;
  namespace: string;
  token: string;
  ca: string;
  apiServer: { host: string; port: string };
}

export interface RunningContainer {
  id: string;
  output(): string;
  /** Resolves with the exit status (runc passes the container's on). */
  exited: Promise<number>;
  signal(sig: 'TERM' | 'KILL'): Promise<void>;
  remove(): Promise<void>;
}

/** This process's hard limit of open files (what a child may be given at most). */
async function openFilesLimit(): Promise<number> {
  const limits = await readFile('/proc/self/limits', 'utf8');
  const hard = /^Max open files\s+\S+\s+(\S+)/m.exec(limits)?.[1];
  return hard && hard !== 'unlimited' ? Number(hard) : 1_048_576;
}

function resolveEnv(env: EnvVar[] | undefined, pod: PodIdentity): string[] {
  return (env ?? []).map((e) => {
    const path = e.valueFrom?.fieldRef?.fieldPath;
    const value =
      path === 'metadata.name' ? pod.name : path === 'metadata.namespace' ? pod.namespace : e.value;
    return `${e.name}=${value ?? ''}`;
  });
}

/** Runs the first container of `spec` with runc from `rootfs`; `work` holds its bundle and volumes. */
export async function runContainer(
  spec: PodSpec,
  image: { rootfs: string; config: ImageProcess },
  pod: PodIdentity,
  work: string,
): Promise<RunningContainer> {
  const c = spec.containers[0] as Container;
  const sc = { ...spec.securityContext, ...c.securityContext };
  const [imageUid, imageGid] = (image.config.User ?? '0:0').split(':').map(Number);
  const uid = sc.runAsUser ?? imageUid ?? 0;
  const gid = sc.runAsGroup ?? imageGid ?? 0;
  if (sc.runAsNonRoot && uid === 0) throw new Error('container has runAsNonRoot and would run as root');
  const bundle = join(work, `${pod.name}-${c.name}`);
  await rm(bundle, { recursive: true, force: true });
  await mkdir(bundle, { recursive: true });
  await run('runc', ['spec', '--bundle', bundle]);
  const config = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8'));

  // Volumes: emptyDirs owned by the fsGroup (setgid), the service account's projected files.
  const mounts: object[] = [];
  const fsGroup = spec.securityContext?.fsGroup;
  for (const m of c.volumeMounts ?? []) {
    const volume = spec.volumes?.find((v) => v.name === m.name);
    if (!volume?.emptyDir) throw new Error(`volume ${m.name}: only emptyDir is supported here`);
    const host = join(work, `${pod.name}-volumes`, m.name);
    await mkdir(host, { recursive: true });
    if (fsGroup !== undefined) {
      await chown(host, 0, fsGroup);
      await chmod(host, 0o2777);
    }
    mounts.push({
      destination: m.mountPath,
      type: 'bind',
      source: host,
      options: ['rbind', m.readOnly ? 'ro' : 'rw'],
    });
  }
  const sa = join(work, `${pod.name}-serviceaccount`);
  await mkdir(sa, { recursive: true });
  await writeFile(join(sa, 'token'), pod.token, { mode: 0o644 });
  await writeFile(join(sa, 'ca.crt'), pod.ca, { mode: 0o644 });
  await writeFile(join(sa, 'namespace'), pod.namespace, { mode: 0o644 });
  mounts.push({
    destination: '/var/run/secrets/kubernetes.io/serviceaccount',
    type: 'bind',
    source: sa,
    options: ['rbind', 'ro'],
  });
  const hosts = join(work, `${pod.name}-hosts`);
  await writeFile(hosts, `127.0.0.1 localhost\n::1 localhost\n127.0.0.1 ${pod.name}\n`);
  mounts.push({ destination: '/etc/hosts', type: 'bind', source: hosts, options: ['rbind', 'ro'] });

  const drop = new Set((sc.capabilities?.drop ?? []).map((x) => `CAP_${x}`));
  const caps = drop.has('CAP_ALL')
    ? []
    : DEFAULT_CAPS.filter((x) => !drop.has(x)).concat((sc.capabilities?.add ?? []).map((x) => `CAP_${x}`));
  config.process = {
    ...config.process,
    terminal: false,
    user: { uid, gid, additionalGids: fsGroup !== undefined ? [fsGroup] : [] },
    args: processArgs(image.config, c),
    env: [
      ...(image.config.Env ?? []),
      ...resolveEnv(c.env, pod),
      `KUBERNETES_SERVICE_HOST=${pod.apiServer.host}`,
      `KUBERNETES_SERVICE_PORT=${pod.apiServer.port}`,
      `HOSTNAME=${pod.name}`,
    ],
    cwd: image.config.WorkingDir || '/',
    capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
    noNewPrivileges: sc.allowPrivilegeEscalation === false,
    // As many open files as this process may have (a container runtime's default is higher still).
    rlimits: [{ type: 'RLIMIT_NOFILE', hard: await openFilesLimit(), soft: await openFilesLimit() }],
  };
  config.root = { path: image.rootfs, readonly: sc.readOnlyRootFilesystem === true };
  config.hostname = pod.name;
  config.mounts = [...config.mounts, ...mounts];
  config.linux.namespaces = config.linux.namespaces.filter((n: { type: string }) => n.type !== 'network');
  await writeFile(join(bundle, 'config.json'), JSON.stringify(config, null, 2));

  const id = `${pod.name}-${c.name}`;
  let output = '';
  const child: ChildProcess = spawn('runc', ['run', '--bundle', bundle, id], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (b: Buffer) => {
    output += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    output += b.toString();
  });
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  return {
    id,
    output: () => output,
    exited,
    async signal(sig) {
      await run('runc', ['kill', id, sig]).catch(() => undefined);
    },
    async remove() {
      await run('runc', ['kill', id, 'KILL']).catch(() => undefined);
      await exited.catch(() => undefined);
      await run('runc', ['delete', '--force', id]).catch(() => undefined);
    },
  };
}
