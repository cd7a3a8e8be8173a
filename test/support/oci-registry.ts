import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  addProcess,
  type ControlPlaneState,
  freePorts,
  stopControlPlane,
} from '../controlplane/control-plane.ts';
import { helmEnv, packageChart } from './chart-repo.ts';
import { waitFor } from './wait.ts';

const run = promisify(execFile);

/**
 * A real OCI registry on loopback: Debian's docker-registry (the CNCF distribution registry) with
 * filesystem storage over plain HTTP; charts are pushed with the real `helm push`.
 */
export async function startOciRegistry(helm: string) {
  const dir = await mkdtemp(join(tmpdir(), 'oci-registry-'));
  const [port] = (await freePorts(1)) as [number];
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log: {level: error}',
      `storage: {filesystem: {rootdirectory: ${join(dir, 'data')}}, delete: {enabled: true}}`,
      `http: {addr: "127.0.0.1:${port}"}`,
      '',
    ].join('\n'),
  );
  await mkdir(join(dir, 'logs'));
  const state = { dir, pids: {}, logs: {} } as ControlPlaneState;
  await addProcess(state, 'docker-registry', '/usr/bin/docker-registry', ['serve', config]);
  const host = `127.0.0.1:${port}`;
  await waitFor(
    'the registry',
    async () => (await fetch(`http://${host}/v2/`).catch(() => undefined))?.status === 200,
    {
      timeoutMs: 20_000,
    },
  );
  return {
    host,
    /** oci:// URL of the repository path `path` (for example charts). */
    url: (path: string) => `oci://${host}/${path}`,
    /** Packages `chartDir` at `version` and pushes it to oci://<host>/<path>. */
    async push(chartDir: string, version: string, path = 'charts'): Promise<void> {
      const work = await mkdtemp(join(tmpdir(), 'oci-push-'));
      try {
        const tgz = await packageChart(helm, chartDir, version, work);
        await run(helm, ['push', tgz, `oci://${host}/${path}`, '--plain-http'], { env: helmEnv(work) });
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },
    async close() {
      await stopControlPlane(state);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
