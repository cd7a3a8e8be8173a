import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { buildDashboard } from '../../scripts/build-dashboard.ts';
import { buildOperator } from '../../scripts/build-operator.ts';
import {
  type ControlPlaneState,
  ensureBinaries,
  ensureHelm,
  ensureKustomize,
  ensureTierB,
  installCrds,
  startControlPlane,
  stopControlPlane,
} from '../controlplane/control-plane.ts';
import { startTierB } from '../controlplane/tier-b.ts';

let state: ControlPlaneState | undefined;
let dir: string | undefined;

/**
 * A behaving cluster (tier B) for the end-to-end tests: a control plane of its own (the integration
 * tests' tier A has no controllers, and some of them rely on that), plus kube-controller-manager,
 * kube-scheduler, KWOK nodes and metrics-server.
 */
export async function setup(project: TestProject): Promise<void> {
  const log = (l: string) => process.stderr.write(`[e2e-setup] ${l}\n`);
  log('building or reusing tier A and tier B (cold: tier B adds several minutes)');
  // The dashboard's and the operator's bundles (npm ci builds them; this catches edits since).
  if (await buildDashboard()) log('built the dashboard');
  if (await buildOperator()) log('bundled the operator');
  const [binDir, tierB, kustomize, helm] = await Promise.all([
    ensureBinaries(log),
    ensureTierB(log),
    ensureKustomize(log),
    ensureHelm(log),
  ]);
  dir = await mkdtemp(join(tmpdir(), 'shoal-e2e-'));
  state = await startControlPlane({ dir, binDir, log });
  await installCrds(state, resolve(import.meta.dirname, '..', '..', 'crds'));
  await startTierB(state, tierB, { log });
  project.provide('controlPlane', { binDir, kubeconfig: state.kubeconfig, server: state.server, dir });
  project.provide('kustomize', kustomize);
  project.provide('helm', helm);
}

export async function teardown(): Promise<void> {
  if (state) await stopControlPlane(state);
  if (dir) {
    // Keep the last run's component logs (kwok, controller-manager, metrics-server...) for a look
    // after a failure; the rest of the directory goes.
    const keep = join(tmpdir(), 'shoal-e2e-last-logs');
    await rm(keep, { recursive: true, force: true });
    await cp(join(dir, 'logs'), keep, { recursive: true }).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}
