import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRunConfig } from '../../src/config.ts';
import { runOperator } from '../../src/operator/operator.ts';
import { FaultProxy, type Rule } from './fault-proxy.ts';

export type RunningTestOperator = Awaited<ReturnType<typeof startOperator>>;

/**
 * Leader election for tests: the Lease in the test's namespace, and durations short enough that a
 * takeover happens within seconds (6 s lease, 4 s renew deadline, 500 ms retry). A 2 s renew deadline
 * was too short for CI: on its two loaded cores a leader once went 2 s without a successful renewal
 * (the operators share the test worker's event loop and a busy API server), lost its Lease mid-test,
 * and the standby took over.
 */
export const fastLeaderElection = (
  namespace: string,
  { leaseDuration = '6s', renewDeadline = '4s' }: { leaseDuration?: string; renewDeadline?: string } = {},
) => [
  `--leader-election-namespace=${namespace}`,
  `--lease-duration=${leaseDuration}`,
  `--renew-deadline=${renewDeadline}`,
  '--retry-period=500ms',
];

/** How to start an operator in this process. */
export interface OperatorOptions {
  kubeconfig: string;
  /** The namespace it watches (--watch-namespace); undefined: all. */
  namespace?: string;
  /** The kustomize binary. */
  kustomize: string;
  /** The helm binary (default: helm on PATH). */
  helm?: string;
  extraArgs?: string[];
  /** Elect a leader (with `fastLeaderElection` in the namespace); off by default. */
  leaderElect?: boolean;
  /** Called instead of exiting when the operator loses its Lease. */
  onLostLease?: () => void;
  /**
   * Treat the test's namespace as privileged, as the operator's own namespace is: its groups may
   * write cluster-scoped objects and other namespaces with the operator's identity.
   */
  privileged?: boolean;
  /** Log level of the operator's own log (kept in `logs`). */
  logLevel?: string;
}

/**
 * Shoal's operator in this process (the tests' and benchmarks' one way to run it): its logs are
 * kept, its metrics and webhook addresses are on loopback ports of their own, its cache is a fresh
 * directory removed on stop. No vitest in here: benchmarks use it too.
 */
export async function startOperator(opts: OperatorOptions) {
  const cacheDir = await mkdtemp(join(tmpdir(), 'shoal-cache-'));
  const logs: Record<string, unknown>[] = [];
  const config = parseRunConfig(
    [
      '--kubeconfig',
      opts.kubeconfig,
      ...(opts.namespace ? ['--watch-namespace', opts.namespace] : []),
      '--metrics-addr',
      '127.0.0.1:0',
      '--webhook-addr',
      '127.0.0.1:0',
      '--cache-dir',
      cacheDir,
      `--kustomize-path=${opts.kustomize}`,
      ...(opts.helm ? [`--helm-path=${opts.helm}`] : []),
      `--log-level=${opts.logLevel ?? 'info'}`,
      // Many operators share this control plane, one per test namespace: none elects (see leader tests).
      ...(opts.leaderElect ? fastLeaderElection(opts.namespace ?? 'default') : ['--leader-elect=false']),
      ...(opts.privileged && opts.namespace ? [`--privileged-namespaces=${opts.namespace}`] : []),
      ...(opts.extraArgs ?? ['--allow-file-urls']),
    ],
    { PATH: process.env.PATH },
  );
  const operator = await runOperator(
    config,
    (line) => logs.push(line),
    opts.onLostLease ? { onLostLease: opts.onLostLease } : {},
  );
  const port = (operator.server.address() as AddressInfo).port;
  const hookPort = (operator.webhookServer?.address() as AddressInfo | undefined)?.port;
  return {
    logs,
    metricsUrl: `http://127.0.0.1:${port}`,
    webhookUrl: `http://127.0.0.1:${hookPort}`,
    /** With --dashboard-addr in extraArgs: where the dashboard is served. */
    dashboardUrl: operator.dashboardUrl,
    async stop() {
      await operator.stop();
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
}

/**
 * Shoal's operator, in this process, reaching the API server only through a fault proxy (its log
 * holds every request it made, to count writes and deletes). Stop it with `stop`.
 */
export async function startProxiedOperator(opts: OperatorOptions & { rules?: Rule[] }) {
  const tmp = await mkdtemp(join(tmpdir(), 'shoal-proxied-'));
  const proxy = await FaultProxy.start(opts.kubeconfig, { tag: opts.namespace ?? 'operator' });
  // Rules in place before the operator starts see its first requests too (its caches' lists).
  for (const rule of opts.rules ?? []) proxy.rule(rule);
  const shoal = await startOperator({ ...opts, kubeconfig: await proxy.kubeconfig(tmp) });
  /** Writes (not dry runs) the operator sent under `pathPart`, other than to its own status and events. */
  const writes = (pathPart: string) =>
    proxy.log.filter((r) => r.write && r.path.includes(pathPart) && !r.path.includes('/events'));
  return {
    ...shoal,
    proxy,
    writes,
    async stop() {
      await shoal.stop();
      await proxy.close();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}
