import { join } from 'node:path';
import { addProcess, type ControlPlaneState, freePorts, kubectl, waitForProcess } from './control-plane.ts';

export interface TierBOptions {
  /** Fake nodes to create (KWOK runs their pods). */
  nodes?: number;
  timeoutSeconds?: number;
  log?: (line: string) => void;
}

/** Names of the fake nodes; a pod's CPU and memory usage come from its annotations (see below). */
export const FAKE_NODE_PREFIX = 'kwok-node-';
/** Pod annotations KWOK turns into simulated usage, which metrics-server then reports. */
export const USAGE_ANNOTATIONS = { cpu: 'kwok.x-k8s.io/usage-cpu', memory: 'kwok.x-k8s.io/usage-memory' };

const fakeNode = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: {
    name,
    labels: { type: 'kwok', 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' },
    annotations: {
      'kwok.x-k8s.io/node': 'fake',
      // metrics-server asks each node for /metrics/resource; KWOK serves it per node under this path.
      'metrics.k8s.io/resource-metrics-path': `/metrics/nodes/${name}/metrics/resource`,
    },
  },
  status: {
    allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
    capacity: { cpu: '32', memory: '256Gi', pods: '110' },
    // Both address types up front: KWOK's node-initialize stage writes `addresses` whenever one of
    // them is missing, and that write replaces the list (metrics-server then cannot reach the node).
    addresses: [
      { type: 'InternalIP', address: '127.0.0.1' },
      { type: 'Hostname', address: name },
    ],
  },
});

/** Applies `items` as one List with kubectl; throws with kubectl's message when it fails. */
async function applyAll(state: ControlPlaneState, what: string, items: object[]): Promise<void> {
  const r = await kubectl(
    state,
    ['apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
  );
  if (r.status !== 0) throw new Error(`${what} failed: ${r.stderr}`);
}

/** Whether every one of `targets` has `condition` (kubectl wait, one second at a time). */
async function hasCondition(
  state: ControlPlaneState,
  condition: string,
  targets: string[],
): Promise<boolean> {
  const r = await kubectl(state, ['wait', `--for=condition=${condition}`, '--timeout=1s', ...targets]);
  return r.status === 0;
}

/**
 * Turns a running tier A control plane into a behaving cluster (tier B): kube-controller-manager
 * and kube-scheduler, KWOK with fake nodes whose pods go Running and Ready (usage from pod
 * annotations), and metrics-server behind the aggregation layer serving metrics.k8s.io.
 */
export async function startTierB(
  state: ControlPlaneState,
  binDir: string,
  opts: TierBOptions = {},
): Promise<void> {
  const log = opts.log ?? (() => {});
  const timeout = opts.timeoutSeconds ?? 120;
  const pki = join(state.dir, 'pki');
  const [kwokPort, metricsPort] = (await freePorts(2)) as [number, number];
  const kc = `--kubeconfig=${state.kubeconfig}`;

  log('starting kube-controller-manager and kube-scheduler');
  await addProcess(state, 'kube-controller-manager', join(binDir, 'kube-controller-manager'), [
    kc,
    `--authentication-kubeconfig=${state.kubeconfig}`,
    `--authorization-kubeconfig=${state.kubeconfig}`,
    '--leader-elect=false',
    '--secure-port=0',
    '--controllers=*',
    `--service-account-private-key-file=${pki}/sa.key`,
    `--root-ca-file=${pki}/ca.crt`,
    '--use-service-account-credentials=false',
    '--allocate-node-cidrs=false',
    // Fake nodes heartbeat from one process on a busy 2-core machine: a late heartbeat must not mark
    // them NotReady (and every pod on them unready) in the middle of a test.
    '--node-monitor-grace-period=5m',
    '--v=1',
  ]);
  await addProcess(state, 'kube-scheduler', join(binDir, 'kube-scheduler'), [
    kc,
    `--authentication-kubeconfig=${state.kubeconfig}`,
    `--authorization-kubeconfig=${state.kubeconfig}`,
    '--leader-elect=false',
    '--secure-port=0',
    '--v=1',
  ]);

  log(`starting kwok on 127.0.0.1:${kwokPort}`);
  const kwok = await addProcess(state, 'kwok', join(binDir, 'kwok'), [
    kc,
    `--config=${join(binDir, 'kwok.yaml')}`,
    '--manage-all-nodes=false',
    '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
    '--node-ip=127.0.0.1',
    `--node-port=${kwokPort}`,
    `--server-address=127.0.0.1:${kwokPort}`,
    `--tls-cert-file=${pki}/apiserver.crt`,
    `--tls-private-key-file=${pki}/apiserver.key`,
    '--cidr=10.244.0.0/16',
    // Heartbeats through node Leases, as kwokctl runs it; without them the node lifecycle controller
    // marks every fake node NotReady once --node-monitor-grace-period has passed.
    '--node-lease-duration-seconds=40',
  ]);
  const nodes = Array.from({ length: opts.nodes ?? 2 }, (_, i) => fakeNode(`${FAKE_NODE_PREFIX}${i}`));
  await applyAll(state, 'creating fake nodes', nodes);
  await waitForProcess(
    'fake nodes Ready',
    () =>
      hasCondition(
        state,
        'Ready',
        nodes.map((n) => `node/${n.metadata.name}`),
      ),
    timeout,
    kwok.log,
  );

  log(`starting metrics-server on 127.0.0.1:${metricsPort}`);
  const ms = await addProcess(state, 'metrics-server', join(binDir, 'metrics-server'), [
    kc,
    `--authentication-kubeconfig=${state.kubeconfig}`,
    `--authorization-kubeconfig=${state.kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${metricsPort}`,
    `--tls-cert-file=${pki}/apiserver.crt`,
    `--tls-private-key-file=${pki}/apiserver.key`,
    '--kubelet-insecure-tls',
    '--kubelet-use-node-status-port',
    '--kubelet-preferred-address-types=InternalIP',
    '--metric-resolution=10s',
    '--kubelet-request-timeout=5s',
  ]);
  // The aggregation layer reaches it through an ExternalName Service, as kwokctl does.
  const registration = [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'metrics-server', namespace: 'kube-system' },
      spec: { type: 'ExternalName', externalName: 'localhost' },
    },
    {
      apiVersion: 'apiregistration.k8s.io/v1',
      kind: 'APIService',
      metadata: { name: 'v1beta1.metrics.k8s.io' },
      spec: {
        group: 'metrics.k8s.io',
        version: 'v1beta1',
        service: { name: 'metrics-server', namespace: 'kube-system', port: metricsPort },
        insecureSkipTLSVerify: true,
        groupPriorityMinimum: 100,
        versionPriority: 100,
      },
    },
  ];
  await applyAll(state, 'registering metrics-server', registration);
  // Available once the aggregation layer reaches it; pod metrics follow a scrape or two later.
  await waitForProcess(
    'metrics.k8s.io Available',
    () => hasCondition(state, 'Available', ['apiservice/v1beta1.metrics.k8s.io']),
    timeout,
    ms.log,
  );
  log('tier B ready: controller-manager, scheduler, kwok nodes, metrics-server');
}
