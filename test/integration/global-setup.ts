import { mkdtemp, rm } from 'node:fs/promises';
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
  installCrds,
  startControlPlane,
  stopControlPlane,
} from '../controlplane/control-plane.ts';
import { ensureDebianPackage } from '../support/debian.ts';
import { ensurePrometheusInstalled } from '../support/prometheus.ts';
import { ensureSshdInstalled } from '../support/sshd.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    controlPlane: Pick<ControlPlaneState, 'binDir' | 'kubeconfig' | 'server' | 'dir'>;
    /** The pinned kustomize binary (built like the control plane). */
    kustomize: string;
    /** The pinned helm binary (built like the control plane). */
    helm: string;
  }
}

let state: ControlPlaneState | undefined;
let dir: string | undefined;

/** One real control plane (etcd + kube-apiserver) per test run, with Shoal's CRDs Established. */
export async function setup(project: TestProject): Promise<void> {
  const log = (l: string) => process.stderr.write(`[global-setup] ${l}\n`);
  log('building or reusing the control plane binaries (a cold build takes about 10 minutes)');
  // The dashboard's and the operator's bundles (npm ci builds them; this catches edits since).
  if (await buildDashboard()) log('built the dashboard');
  if (await buildOperator()) log('bundled the operator');
  const [binDir, kustomize, helm] = await Promise.all([
    ensureBinaries(log),
    ensureKustomize(log),
    ensureHelm(log),
    ensureSshdInstalled(log)
      .then(() => ensurePrometheusInstalled(log))
      .then(() => ensureDebianPackage('/usr/bin/docker-registry', 'docker-registry', log)),
  ]);
  dir = await mkdtemp(join(tmpdir(), 'shoal-cp-'));
  state = await startControlPlane({ dir, binDir, log });
  await installCrds(state, resolve(import.meta.dirname, '..', '..', 'crds'));
  log('CRDs Established');
  project.provide('controlPlane', { binDir, kubeconfig: state.kubeconfig, server: state.server, dir });
  project.provide('kustomize', kustomize);
  project.provide('helm', helm);
}

export async function teardown(): Promise<void> {
  if (state) await stopControlPlane(state);
  if (dir) await rm(dir, { recursive: true, force: true });
}
