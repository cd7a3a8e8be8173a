import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseDuration } from './api/duration.ts';
import { parseKey } from './api/object-key.ts';
import type { KubeConfigSource } from './kube/client.ts';
import { type Flags, parseFlags, usageOf } from './runtime/flags.ts';
import type { LogLevel } from './runtime/logger.ts';
import type { UrlPolicy } from './source/url-policy.ts';

/** Everything `shoal run` needs, resolved from argv and the environment (the only place that reads them). */
export interface RunConfig {
  kube: KubeConfigSource;
  urlPolicy: UrlPolicy;
  cacheDir: string;
  metricsAddr: string;
  /** Push webhook receiver address; empty turns it off. */
  webhookAddr: string;
  webhookMaxBodyBytes: number;
  /** Where the dashboard listens; empty: no dashboard. */
  dashboardAddr: string;
  /** The dashboard shows, but offers no actions. */
  dashboardReadOnly: boolean;
  concurrency: number;
  logLevel: LogLevel;
  instance: string | undefined;
  /** The namespace the operator runs in (shoal-system when it cannot tell): privileged by default. */
  operatorNamespace: string;
  /** ServiceAccount AppGroups without spec.serviceAccountName apply as; undefined: the operator's identity. */
  defaultServiceAccount: string | undefined;
  /** Who may write what with the operator's identity. */
  tenancy: { privilegedNamespaces: ReadonlySet<string>; allowCrossNamespaceTargets: boolean };
  /** Watch only this namespace; undefined watches all. */
  watchNamespace: string | undefined;
  /** Lease-based leader election; off: this process is always the writer. */
  leaderElection: {
    enabled: boolean;
    namespace: string;
    name: string;
    leaseDurationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
    /**
     * With leader election on: undefined (--shards=off) elects one writer; a number (--shards=auto)
     * splits the AppGroups into that many shards, each written by the member holding its Lease.
     */
    shardCount: number | undefined;
  };
  /** The kustomize binary; undefined: `kustomize` on PATH. */
  kustomizePath: string | undefined;
  /** The helm binary; undefined: `helm` on PATH. */
  helmPath: string | undefined;
  allowRemoteBases: boolean;
  /** Environment for git children: only PATH is passed through. */
  gitEnv: Record<string, string>;
  autoscaler: {
    /** How often every autoscaled app is decided (HPA's --horizontal-pod-autoscaler-sync-period). */
    syncPeriodMs: number;
    tolerance: number;
    cpuInitializationPeriodMs: number;
    initialReadinessDelayMs: number;
    downscaleStabilizationMs: number;
    /** Prometheus for groups without spec.metrics.prometheus.address; undefined: none. */
    prometheusAddress: string | undefined;
  };
}

const KUBE_FLAGS = {
  kubeconfig: {
    type: 'string',
    arg: 'PATH',
    help: 'kubeconfig to use (default: $KUBECONFIG, then in-cluster, then ~/.kube/config)',
  },
  context: { type: 'string', arg: 'NAME', help: 'kubeconfig context' },
} as const satisfies Flags;

/** The flags of `shoal run`: the one place their defaults are stated; the usage text is made from it. */
export const RUN_FLAGS = {
  ...KUBE_FLAGS,
  'allow-file-urls': {
    type: 'boolean',
    default: false,
    help: 'allow file:// GitSource URLs (demos and tests)',
  },
  'allow-insecure-http': { type: 'boolean', default: false, help: 'allow http:// GitSource URLs' },
  'source-hosts-allow': {
    type: 'string',
    arg: 'LIST',
    help: 'only these source hosts (comma-separated; *.example.com, 10.0.0.0/8); default: any not denied',
  },
  'source-hosts-deny': {
    type: 'string',
    arg: 'LIST',
    help: 'also refuse these source hosts; link-local and cloud metadata addresses are always refused',
  },
  'cache-dir': {
    type: 'string',
    arg: 'DIR',
    help: 'git mirrors and artifacts (default: $SHOAL_CACHE_DIR or ~/.cache/shoal/artifacts)',
  },
  'metrics-addr': {
    type: 'string',
    default: ':8080',
    arg: 'ADDR',
    help: '/healthz, /readyz and /metrics (port 0: any free port, which the log names)',
  },
  'dashboard-addr': {
    type: 'string',
    default: '',
    arg: 'ADDR',
    help: 'serve the dashboard here (e.g. :9080); viewers sign in with a Kubernetes bearer token',
  },
  'dashboard-read-only': {
    type: 'boolean',
    default: false,
    help: 'the dashboard offers no actions (reconcile, suspend, resume)',
  },
  'webhook-addr': {
    type: 'string',
    default: ':9292',
    arg: 'ADDR',
    help: 'push webhook receiver, POST /hooks/<provider> ("" turns it off)',
  },
  'webhook-max-body': { type: 'string', default: '1048576', arg: 'N', help: 'largest webhook body in bytes' },
  concurrency: { type: 'string', default: '4', arg: 'N', help: 'workers per kind' },
  'watch-namespace': {
    type: 'string',
    arg: 'NS',
    help: 'watch GitSources and AppGroups in NS only (default: all namespaces)',
  },
  'leader-elect': {
    type: 'string',
    default: 'true',
    arg: 'BOOL',
    help: 'elect one writer through a coordination.k8s.io Lease',
  },
  'leader-election-namespace': {
    type: 'string',
    arg: 'NS',
    help: "the Lease's namespace (default: the operator's namespace, else default)",
  },
  shards: {
    type: 'string',
    default: 'auto',
    arg: 'MODE',
    help: 'auto: every replica writes its share of the AppGroups, split over shard Leases; off: one leader Lease, standbys idle',
  },
  'shard-count': {
    type: 'string',
    default: '12',
    arg: 'N',
    help: 'shard Leases the AppGroups are split into (auto)',
  },
  'leader-election-id': { type: 'string', default: 'shoal-leader', arg: 'NAME', help: "the Lease's name" },
  'lease-duration': { type: 'string', default: '15s', arg: 'D', help: 'how long a Lease is held' },
  'renew-deadline': { type: 'string', default: '10s', arg: 'D', help: 'how long the leader tries to renew' },
  'retry-period': { type: 'string', default: '2s', arg: 'D', help: 'how often candidates try' },
  'kustomize-path': {
    type: 'string',
    arg: 'PATH',
    help: 'the kustomize binary (default: kustomize on PATH)',
  },
  'helm-path': { type: 'string', arg: 'PATH', help: 'the helm binary (default: helm on PATH)' },
  'allow-remote-bases': {
    type: 'boolean',
    default: false,
    help: 'let kustomizations load remote bases (off: RemoteRefsDisabled)',
  },
  'default-service-account': {
    type: 'string',
    arg: 'NAME',
    help: 'AppGroups without spec.serviceAccountName apply as this ServiceAccount of their namespace',
  },
  'privileged-namespaces': {
    type: 'string',
    arg: 'LIST',
    help:
      "namespaces whose AppGroups may write anywhere with the operator's identity " +
      "(comma-separated; default: the operator's namespace)",
  },
  'allow-cross-namespace-targets': {
    type: 'boolean',
    default: false,
    help: 'let AppGroups that do not impersonate write into their spec.targetNamespace',
  },
  'log-level': { type: 'string', default: 'info', arg: 'LEVEL', help: 'debug, info, warn or error' },
  'autoscaler-sync-period': {
    type: 'string',
    default: '15s',
    arg: 'D',
    help: 'how often autoscaled apps are decided',
  },
  'autoscaler-tolerance': {
    type: 'string',
    default: '0.1',
    arg: 'X',
    help: 'ratio tolerance before scaling',
  },
  'autoscaler-cpu-initialization-period': {
    type: 'string',
    default: '5m',
    arg: 'D',
    help: "a pod's CPU is not trusted this long after it starts",
  },
  'autoscaler-initial-readiness-delay': {
    type: 'string',
    default: '30s',
    arg: 'D',
    help: 'readiness changes this soon after start count as initial',
  },
  'autoscaler-downscale-stabilization': {
    type: 'string',
    default: '5m',
    arg: 'D',
    help: 'the scale-down window without behavior',
  },
  'prometheus-address': {
    type: 'string',
    arg: 'URL',
    help: 'Prometheus for groups that name none in spec.metrics',
  },
} as const satisfies Flags;

export const RUN_USAGE = usageOf('usage: shoal run [flags]', RUN_FLAGS);

function kubeSource(
  flag: string | undefined,
  context: string | undefined,
  env: NodeJS.ProcessEnv,
): KubeConfigSource {
  const ctx = context ? { context } : {};
  if (flag) return { kubeconfig: flag, ...ctx };
  const fromEnv = env.KUBECONFIG?.split(':')[0];
  if (fromEnv) return { kubeconfig: fromEnv, ...ctx };
  if (env.KUBERNETES_SERVICE_HOST) return { inCluster: true };
  return { kubeconfig: join(homedir(), '.kube', 'config'), ...ctx };
}

/** The namespace the operator runs in: $POD_NAMESPACE or the in-cluster one; undefined outside a pod. */
function operatorNamespace(env: NodeJS.ProcessEnv): string | undefined {
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  if (!env.KUBERNETES_SERVICE_HOST) return undefined;
  try {
    return readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim();
  } catch {
    return undefined;
  }
}

const list = (text: string | undefined) =>
  (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

export function parseRunConfig(argv: string[], env: NodeJS.ProcessEnv): RunConfig {
  const { values } = parseFlags(RUN_FLAGS, argv);
  const leaseDurationMs = parseDuration(values['lease-duration']);
  const renewDeadlineMs = parseDuration(values['renew-deadline']);
  const retryPeriodMs = parseDuration(values['retry-period']);
  if (!(retryPeriodMs < renewDeadlineMs && renewDeadlineMs < leaseDurationMs)) {
    throw new Error('leader election needs --retry-period < --renew-deadline < --lease-duration');
  }
  if (!['auto', 'off'].includes(values.shards)) throw new Error('--shards must be auto or off');
  const shardCount = Number(values['shard-count']);
  if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > 256)
    throw new Error('--shard-count must be an integer from 1 to 256');
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error('--concurrency must be a positive integer');
  const maxBody = Number(values['webhook-max-body']);
  if (!Number.isInteger(maxBody) || maxBody < 1024)
    throw new Error('--webhook-max-body must be an integer >= 1024');
  const tolerance = Number(values['autoscaler-tolerance']);
  if (!(tolerance >= 0)) throw new Error('--autoscaler-tolerance must be a number >= 0');
  const syncPeriodMs = parseDuration(values['autoscaler-sync-period']);
  if (!(syncPeriodMs >= 1000)) throw new Error('--autoscaler-sync-period must be at least 1s');
  const level = values['log-level'];
  if (!['debug', 'info', 'warn', 'error'].includes(level))
    throw new Error('--log-level must be debug, info, warn or error');
  const known = operatorNamespace(env);
  const ownNamespace = known ?? 'shoal-system';
  const privileged = values['privileged-namespaces'];
  return {
    kube: kubeSource(values.kubeconfig, values.context, env),
    urlPolicy: {
      allowFileUrls: values['allow-file-urls'],
      allowInsecureHttp: values['allow-insecure-http'],
      allowedHosts: list(values['source-hosts-allow']),
      deniedHosts: list(values['source-hosts-deny']),
    },
    cacheDir: values['cache-dir'] ?? env.SHOAL_CACHE_DIR ?? join(homedir(), '.cache', 'shoal', 'artifacts'),
    metricsAddr: values['metrics-addr'],
    webhookAddr: values['webhook-addr'],
    webhookMaxBodyBytes: maxBody,
    dashboardAddr: values['dashboard-addr'],
    dashboardReadOnly: values['dashboard-read-only'],
    concurrency,
    logLevel: level as LogLevel,
    instance: env.POD_NAME,
    operatorNamespace: ownNamespace,
    watchNamespace: values['watch-namespace'],
    defaultServiceAccount: values['default-service-account'],
    tenancy: {
      privilegedNamespaces: new Set(privileged === undefined ? [ownNamespace] : list(privileged)),
      allowCrossNamespaceTargets: values['allow-cross-namespace-targets'],
    },
    kustomizePath: values['kustomize-path'],
    helmPath: values['helm-path'],
    autoscaler: {
      syncPeriodMs,
      tolerance,
      cpuInitializationPeriodMs: parseDuration(values['autoscaler-cpu-initialization-period']),
      initialReadinessDelayMs: parseDuration(values['autoscaler-initial-readiness-delay']),
      downscaleStabilizationMs: parseDuration(values['autoscaler-downscale-stabilization']),
      prometheusAddress: values['prometheus-address'],
    },
    leaderElection: {
      enabled: values['leader-elect'] !== 'false',
      namespace: values['leader-election-namespace'] ?? known ?? 'default',
      name: values['leader-election-id'],
      leaseDurationMs,
      renewDeadlineMs,
      retryPeriodMs,
      shardCount: values.shards === 'auto' ? shardCount : undefined,
    },
    allowRemoteBases: values['allow-remote-bases'],
    gitEnv: { PATH: env.PATH ?? '/usr/bin:/bin' },
  };
}

/** `shoal render <dir>` and `shoal diff <dir>` flags. */
export const DIR_FLAGS = {
  namespace: {
    type: 'string',
    short: 'n',
    default: 'default',
    arg: 'NS',
    help: 'namespace for objects that name none',
  },
  group: {
    type: 'string',
    arg: 'NS/NAME',
    help: 'render as this AppGroup would (owner labels; diff: deletions)',
  },
  output: { type: 'string', short: 'o', default: 'text', arg: 'FORMAT', help: 'text or json-patch (diff)' },
  values: {
    type: 'string',
    short: 'f',
    multiple: true,
    arg: 'FILE',
    help: 'for a chart directory: a values file, merged in order after its values.yaml',
  },
  'release-name': {
    type: 'string',
    arg: 'NAME',
    help: "for a chart directory: the release name (default: the group's name, else the directory's)",
  },
  ...KUBE_FLAGS,
  'kustomize-path': {
    type: 'string',
    arg: 'PATH',
    help: 'the kustomize binary (default: kustomize on PATH)',
  },
  'helm-path': { type: 'string', arg: 'PATH', help: 'the helm binary (default: helm on PATH)' },
} as const satisfies Flags;

/** The usage of `shoal render` or `shoal diff`. */
export const dirUsage = (command: 'render' | 'diff') =>
  usageOf(
    `usage: shoal ${command} <dir> [flags]\n\n<dir> holds manifests, a kustomization, or a chart (Chart.yaml).`,
    DIR_FLAGS,
  );

/** Whether the arguments ask for help. Pure. */
export const wantsHelp = (argv: readonly string[]) => argv.includes('--help') || argv.includes('-h');

export interface DirCommandConfig {
  dir: string;
  kustomize: { binary: string | undefined; env: Record<string, string> };
  helm: { binary: string | undefined; env: Record<string, string> };
  /** For a chart directory: values files (absolute paths) and the release name, if given. */
  chart: { valuesFiles: string[]; releaseName: string | undefined };
  namespace: string;
  group?: { namespace: string; name: string };
  output: 'text' | 'json-patch';
  kube: KubeConfigSource;
}

export function parseDirCommand(argv: string[], env: NodeJS.ProcessEnv): DirCommandConfig {
  const { values, positionals } = parseFlags(DIR_FLAGS, argv, true);
  const dir = positionals[0];
  if (!dir || positionals.length > 1) throw new Error('expected exactly one directory');
  if (values.output !== 'text' && values.output !== 'json-patch')
    throw new Error('--output must be text or json-patch');
  let group: DirCommandConfig['group'];
  if (values.group) {
    const { namespace, name } = parseKey(values.group);
    if (!namespace || !name) throw new Error('--group must be <namespace>/<name>');
    group = { namespace, name };
  }
  return {
    dir,
    kustomize: { binary: values['kustomize-path'], env: { PATH: env.PATH ?? '/usr/bin:/bin' } },
    helm: { binary: values['helm-path'], env: { PATH: env.PATH ?? '/usr/bin:/bin' } },
    chart: {
      valuesFiles: (values.values ?? []).map((f) => resolve(f)),
      releaseName: values['release-name'],
    },
    namespace: values.namespace,
    ...(group ? { group } : {}),
    output: values.output,
    kube: kubeSource(values.kubeconfig, values.context, env),
  };
}

/** Flags of `shoal check`. */
export const CHECK_FLAGS = {
  namespace: {
    type: 'string',
    short: 'n',
    default: 'shoal-system',
    arg: 'NS',
    help: "the operator's namespace",
  },
  pre: {
    type: 'boolean',
    default: false,
    help: 'before installing: only whether the API server is a version Shoal supports',
  },
  ...KUBE_FLAGS,
} as const satisfies Flags;

export const CHECK_USAGE = usageOf(
  'usage: shoal check [flags]\n\nChecks an installation (or, with --pre, a cluster before one); exit 1 with a line per problem.',
  CHECK_FLAGS,
);

export function parseCheckCommand(argv: string[], env: NodeJS.ProcessEnv) {
  const { values } = parseFlags(CHECK_FLAGS, argv);
  return {
    namespace: values.namespace,
    pre: values.pre,
    kube: kubeSource(values.kubeconfig, values.context, env),
  };
}

/** Flags of `shoal dashboard`. */
export const DASHBOARD_FLAGS = {
  port: { type: 'string', default: '9080', arg: 'N', help: 'the port on 127.0.0.1 (0: any free one)' },
  open: { type: 'boolean', default: false, help: 'open it in the browser (xdg-open)' },
  namespace: {
    type: 'string',
    short: 'n',
    arg: 'NS',
    help: 'only this namespace (default: every one you may list)',
  },
  'read-only': { type: 'boolean', default: false, help: 'offer no actions' },
  ...KUBE_FLAGS,
} as const satisfies Flags;

export const DASHBOARD_USAGE = usageOf(
  'usage: shoal dashboard [flags]\n\nThe dashboard on 127.0.0.1, reading as your kubeconfig user (like kubectl proxy).',
  DASHBOARD_FLAGS,
);

export function parseDashboardCommand(argv: string[], env: NodeJS.ProcessEnv) {
  const { values } = parseFlags(DASHBOARD_FLAGS, argv);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port must be a port number');
  return {
    port,
    open: values.open,
    namespace: values.namespace,
    readOnly: values['read-only'],
    kube: kubeSource(values.kubeconfig, values.context, env),
  };
}

/** Flags of `shoal get|reconcile|suspend|resume`. */
export const CLUSTER_FLAGS = {
  namespace: { type: 'string', short: 'n', arg: 'NS', help: 'the namespace (default: default)' },
  'all-namespaces': { type: 'boolean', short: 'A', default: false, help: 'every namespace (get)' },
  'with-source': { type: 'boolean', default: false, help: "reconcile the group's GitSource first" },
  output: {
    type: 'string',
    short: 'o',
    arg: 'FORMAT',
    help: 'wide: also the replica that writes each group (get)',
  },
  ...KUBE_FLAGS,
} as const satisfies Flags;

export interface ClusterCommandConfig {
  args: string[];
  namespace: string | undefined;
  allNamespaces: boolean;
  withSource: boolean;
  /** -o wide. */
  wide: boolean;
  kube: KubeConfigSource;
}

export function parseClusterCommand(argv: string[], env: NodeJS.ProcessEnv): ClusterCommandConfig {
  const { values, positionals } = parseFlags(CLUSTER_FLAGS, argv, true);
  return {
    args: positionals,
    namespace: values.namespace,
    allNamespaces: values['all-namespaces'],
    withSource: values['with-source'],
    wide: values.output === 'wide',
    kube: kubeSource(values.kubeconfig, values.context, env),
  };
}
