import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from './api/duration.ts';
import type { KubeConfigSource } from './kube/client.ts';
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
  concurrency: number;
  logLevel: LogLevel;
  instance: string | undefined;
  /** ServiceAccount AppGroups without spec.serviceAccountName apply as; undefined: the operator's identity. */
  defaultServiceAccount: string | undefined;
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
  };
  /** The kustomize binary; undefined: `kustomize` on PATH. */
  kustomizePath: string | undefined;
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

export const RUN_USAGE = `usage: shoal run [flags]

  --kubeconfig PATH        kubeconfig to use (default: $KUBECONFIG, then in-cluster, then ~/.kube/config)
  --context NAME           kubeconfig context
  --allow-file-urls        allow file:// GitSource URLs (local repositories; for demos and tests)
  --allow-insecure-http    allow http:// GitSource URLs
  --cache-dir DIR          git mirrors and artifacts (default: $SHOAL_CACHE_DIR or ~/.cache/shoal/artifacts)
  --metrics-addr ADDR      /healthz, /readyz and /metrics (default :8080)
  --webhook-addr ADDR      push webhook receiver, POST /hooks/<provider> (default :9292; "" turns it off)
  --webhook-max-body N     largest webhook body in bytes (default 1048576)
  --concurrency N          workers per kind (default 4)
  --watch-namespace NS     watch GitSources and AppGroups in NS only (default: all namespaces)
  --leader-elect[=false]   elect one writer through a coordination.k8s.io Lease (default on)
  --leader-election-namespace NS   the Lease's namespace (default $POD_NAMESPACE, else default)
  --leader-election-id NAME        the Lease's name (default shoal-leader)
  --lease-duration D  --renew-deadline D  --retry-period D   (defaults 15s, 10s, 2s)
  --kustomize-path PATH    the kustomize binary (default: kustomize on PATH)
  --allow-remote-bases     let kustomizations load remote bases (off: RemoteRefsDisabled)
  --default-service-account NAME
                           AppGroups without spec.serviceAccountName apply as this ServiceAccount of their
                           namespace (default: the operator's own identity)
  --log-level LEVEL        debug, info, warn or error (default info)
  --autoscaler-sync-period D       how often autoscaled apps are decided (default 15s)
  --autoscaler-tolerance X         ratio tolerance before scaling (default 0.1)
  --autoscaler-cpu-initialization-period D   (default 5m)
  --autoscaler-initial-readiness-delay D     (default 30s)
  --autoscaler-downscale-stabilization D     the scale-down window without behavior (default 5m)
  --prometheus-address URL         Prometheus for groups that name none in spec.metrics
`;

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

export function parseRunConfig(argv: string[], env: NodeJS.ProcessEnv): RunConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      'allow-file-urls': { type: 'boolean', default: false },
      'allow-insecure-http': { type: 'boolean', default: false },
      'cache-dir': { type: 'string' },
      'metrics-addr': { type: 'string', default: ':8080' },
      'webhook-addr': { type: 'string', default: ':9292' },
      'webhook-max-body': { type: 'string', default: '1048576' },
      concurrency: { type: 'string', default: '4' },
      'log-level': { type: 'string', default: 'info' },
      'watch-namespace': { type: 'string' },
      'default-service-account': { type: 'string' },
      'kustomize-path': { type: 'string' },
      'allow-remote-bases': { type: 'boolean', default: false },
      'leader-elect': { type: 'string', default: 'true' },
      'leader-election-namespace': { type: 'string' },
      'leader-election-id': { type: 'string', default: 'shoal-leader' },
      'lease-duration': { type: 'string', default: '15s' },
      'renew-deadline': { type: 'string', default: '10s' },
      'retry-period': { type: 'string', default: '2s' },
      'autoscaler-sync-period': { type: 'string', default: '15s' },
      'autoscaler-tolerance': { type: 'string', default: '0.1' },
      'autoscaler-cpu-initialization-period': { type: 'string', default: '5m' },
      'autoscaler-initial-readiness-delay': { type: 'string', default: '30s' },
      'autoscaler-downscale-stabilization': { type: 'string', default: '5m' },
      'prometheus-address': { type: 'string' },
    },
    strict: true,
  });
  const leaseDurationMs = parseDuration(values['lease-duration']);
  const renewDeadlineMs = parseDuration(values['renew-deadline']);
  const retryPeriodMs = parseDuration(values['retry-period']);
  if (!(retryPeriodMs < renewDeadlineMs && renewDeadlineMs < leaseDurationMs)) {
    throw new Error('leader election needs --retry-period < --renew-deadline < --lease-duration');
  }
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
  return {
    kube: kubeSource(values.kubeconfig, values.context, env),
    urlPolicy: { allowFileUrls: values['allow-file-urls'], allowInsecureHttp: values['allow-insecure-http'] },
    cacheDir: values['cache-dir'] ?? env.SHOAL_CACHE_DIR ?? join(homedir(), '.cache', 'shoal', 'artifacts'),
    metricsAddr: values['metrics-addr'],
    webhookAddr: values['webhook-addr'],
    webhookMaxBodyBytes: maxBody,
    concurrency,
    logLevel: level as LogLevel,
    instance: env.POD_NAME,
    watchNamespace: values['watch-namespace'],
    defaultServiceAccount: values['default-service-account'],
    kustomizePath: values['kustomize-path'],
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
      namespace: values['leader-election-namespace'] ?? env.POD_NAMESPACE ?? 'default',
      name: values['leader-election-id'],
      leaseDurationMs,
      renewDeadlineMs,
      retryPeriodMs,
    },
    allowRemoteBases: values['allow-remote-bases'],
    gitEnv: { PATH: env.PATH ?? '/usr/bin:/bin' },
  };
}

/** `shoal render <dir>` and `shoal diff <dir>` flags. */
export interface DirCommandConfig {
  dir: string;
  kustomize: { binary: string | undefined; env: Record<string, string> };
  namespace: string;
  group?: { namespace: string; name: string };
  output: 'text' | 'json-patch';
  kube: KubeConfigSource;
}

export function parseDirCommand(argv: string[], env: NodeJS.ProcessEnv): DirCommandConfig {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      namespace: { type: 'string', short: 'n', default: 'default' },
      group: { type: 'string' },
      output: { type: 'string', short: 'o', default: 'text' },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      'kustomize-path': { type: 'string' },
    },
    strict: true,
  });
  const dir = positionals[0];
  if (!dir || positionals.length > 1) throw new Error('expected exactly one directory');
  if (values.output !== 'text' && values.output !== 'json-patch')
    throw new Error('--output must be text or json-patch');
  let group: DirCommandConfig['group'];
  if (values.group) {
    const [namespace, name] = values.group.split('/');
    if (!namespace || !name) throw new Error('--group must be <namespace>/<name>');
    group = { namespace, name };
  }
  return {
    dir,
    kustomize: { binary: values['kustomize-path'], env: { PATH: env.PATH ?? '/usr/bin:/bin' } },
    namespace: values.namespace,
    ...(group ? { group } : {}),
    output: values.output,
    kube: kubeSource(values.kubeconfig, values.context, env),
  };
}

/** Flags of `shoal get|reconcile|suspend|resume`. */
export interface ClusterCommandConfig {
  args: string[];
  namespace: string | undefined;
  allNamespaces: boolean;
  withSource: boolean;
  kube: KubeConfigSource;
}

export function parseClusterCommand(argv: string[], env: NodeJS.ProcessEnv): ClusterCommandConfig {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      namespace: { type: 'string', short: 'n' },
      'all-namespaces': { type: 'boolean', short: 'A', default: false },
      'with-source': { type: 'boolean', default: false },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
    },
    strict: true,
  });
  return {
    args: positionals,
    namespace: values.namespace,
    allNamespaces: values['all-namespaces'],
    withSource: values['with-source'],
    kube: kubeSource(values.kubeconfig, values.context, env),
  };
}
