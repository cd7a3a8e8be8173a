// `npm run cluster:up [-- --full]` / `npm run cluster:down`: a tier A control plane (etcd +
// kube-apiserver), or with --full tier B as well (controller-manager, scheduler, KWOK nodes,
// metrics-server), that runs in the background until stopped. Progress goes to stderr; stdout carries only the shell
// `export` lines, so `eval "$(npm run -s cluster:up)"` works.
import { join, resolve } from 'node:path';
import {
  destroyControlPlane,
  ensureBinaries,
  ensureTierB,
  installCrds,
  installFinalizerPolicy,
  readState,
  startControlPlane,
} from '../test/controlplane/control-plane.ts';
import { startTierB } from '../test/controlplane/tier-b.ts';

const root = resolve(import.meta.dirname, '..');
const dir = resolve(process.env.SHOAL_CLUSTER_DIR ?? join(root, '.shoal', 'cluster'));
const log = (l: string) => process.stderr.write(`${l}\n`);

async function up(full: boolean): Promise<void> {
  const existing = await readState(dir);
  if (existing) {
    log(`a control plane is already recorded in ${dir}; run \`npm run cluster:down\` first`);
    printExports(existing.kubeconfig, existing.binDir);
    return;
  }
  const [binDir, tierB] = await Promise.all([ensureBinaries(log), full ? ensureTierB(log) : undefined]);
  const state = await startControlPlane({ dir, binDir, log });
  await installCrds(state, join(root, 'crds'));
  await installFinalizerPolicy(state, join(root, 'manifests', 'finalizer-policy.yaml'));
  log('CRDs and the finalizer policy installed');
  if (tierB) await startTierB(state, tierB, { log });
  printExports(state.kubeconfig, binDir);
  log('stop it with: npm run cluster:down');
}

function printExports(kubeconfig: string, binDir: string): void {
  process.stdout.write(`export KUBECONFIG='${kubeconfig}'\nexport PATH='${binDir}':"$PATH"\n`);
}

async function down(): Promise<void> {
  const stopped = await destroyControlPlane(dir);
  log(stopped ? `stopped the control plane in ${dir}` : `no control plane recorded in ${dir}`);
}

const command = process.argv[2];
if (command === 'up') await up(process.argv.includes('--full'));
else if (command === 'down') await down();
else {
  log('usage: node scripts/cluster.ts up [--full] | down');
  process.exitCode = 2;
}
