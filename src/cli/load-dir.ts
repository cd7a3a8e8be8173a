import { tmpdir } from 'node:os';
import { basename, resolve } from 'node:path';
import { REASON } from '../api/conditions.ts';
import type { DirCommandConfig } from '../config.ts';
import { renderChart } from '../render/chart.ts';
import { type Capabilities, DEFAULT_HELM_OPTIONS, isChart } from '../render/helm.ts';
import { DEFAULT_KUSTOMIZE_OPTIONS } from '../render/kustomize.ts';
import { loadManifests } from '../render/load.ts';
import { ManifestParser } from '../render/parse-in-worker.ts';
import type { RenderedObject } from '../render/parse-manifests.ts';
import { realClock } from '../runtime/clock.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';

/** A valid release name from a directory's name: lower case, other characters as '-', at most 53. Pure. */
export const releaseNameOf = (name: string): string =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 53)
    .replace(/^-+|-+$/g, '') || 'release';

type LoadDir = Pick<DirCommandConfig, 'dir' | 'kustomize' | 'helm' | 'chart' | 'namespace' | 'group'>;

/**
 * What `shoal render` and `shoal diff` read from a local directory: a chart (it holds Chart.yaml)
 * rendered by helm template with the given values files, or plain manifests and kustomizations,
 * parsed by the same worker and limits as a sync. A chart's dependencies must be vendored
 * (`helm dependency build`): the CLI fetches nothing.
 */
export async function loadDir(cmd: LoadDir, capabilities?: Capabilities): Promise<RenderedObject[]> {
  const dir = resolve(cmd.dir);
  const parser = new ManifestParser();
  try {
    if (!(await isChart(dir)))
      return await loadManifests(parser, dir, '.', [], {
        options: { ...DEFAULT_KUSTOMIZE_OPTIONS, ...cmd.kustomize },
        home: tmpdir(),
      });
    return await renderChart(
      {
        chartDir: dir,
        // The values files are the caller's own: any path they name may be read.
        root: '/',
        releaseName: cmd.chart.releaseName ?? cmd.group?.name ?? releaseNameOf(basename(dir)),
        namespace: cmd.namespace,
        valuesFiles: cmd.chart.valuesFiles,
        values: [],
        includeCRDs: true,
        skipTests: true,
        ...(capabilities ? { capabilities } : {}),
        patches: [],
        fetchDependency: (dep) => {
          throw new ReconcileError(
            REASON.BuildFailed,
            `the dependency ${dep.name} is not in charts/; run helm dependency build ${cmd.dir}`,
          );
        },
      },
      { parser, helm: { ...DEFAULT_HELM_OPTIONS, ...cmd.helm, workDir: tmpdir() }, clock: realClock },
    );
  } finally {
    await parser.close();
  }
}
