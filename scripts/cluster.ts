// `npm run cluster:up` / `npm run cluster:down`: a tier A control plane (etcd + kube-apiserver) that
// runs in the background until stopped. Progress goes to stderr; stdout carries only the shell
// `export` lines, so `eval "$(npm run -s cluster:up)"` works.
import { join, resolve } from 'node:path';
import {
  destroyControlPlane,
  ensureBinaries,
  installCrds,
  readState,
  startControlPlane,
} from '../test/controlplane/control-plane.ts';

const root = resolve(import.meta.dirname, '..');
const dir = resolve(process.env.SHOAL_CLUSTER_DIR ?? join(root, '.shoal', 'cluster'));
const log = (l: string) => process.stderr.write(`${l}\n`);

async function up(): Promise<void> {
  const existing = await readState(dir);
  if (existing) {
    log(`a control plane is already recorded in ${dir}; run \`npm run cluster:down\` first`);
    printExports(existing.kubeconfig, existing.binDir);
    return;
  }
  const binDir = await ensureBinaries(log);
  const state = await startControlPlane({ dir, binDir, log });
  await installCrds(state, join(root, 'crds'));
  log('CRDs installed and Established');
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
if (command === 'up') await up();
else if (command === 'down') await down();
else {
  log('usage: node scripts/cluster.ts up|down');
  process.exitCode = 2;
}
