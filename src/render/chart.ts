import type { AppGroupPatch } from '../api/app-group.ts';
import { ANNOTATIONS } from '../api/group.ts';
import type { Clock } from '../runtime/clock.ts';
import { applyPatches } from './apply-patches.ts';
import { type ChartDependency, withDependencies } from './chart-dependencies.ts';
import { type ChartRender, guardChartTree, type HelmOptions, helmTemplate } from './helm.ts';
import { hookOf } from './hooks.ts';
import type { ManifestParser } from './parse-in-worker.ts';
import type { RenderedObject } from './parse-manifests.ts';

/** Everything one chart render needs: Helm's part, spec.patches, and how to fetch dependencies. */
export interface ChartInput extends ChartRender {
  patches: readonly AppGroupPatch[];
  /** Fetches a dependency the chart's charts/ lacks; returns the directory of the unpacked chart. */
  fetchDependency: (dep: ChartDependency) => Promise<string>;
}

/** A template file that came from a chart's crds/ directory (Helm installs those, and never deletes them). */
const fromCrdsDir = (source: string) => /(^|\/)crds\//.test(source) && !source.includes('/templates/');

/**
 * Renders a chart: refuses symlinks leaving its source, fetches missing dependencies into a scratch
 * copy, runs `helm template`, parses the output in the parser's worker (with its limits), applies
 * spec.patches, and marks what Helm treats specially: hooks (from their annotations) and CRDs from
 * crds/, which get shoal.dev/prune: disabled, since they are never deleted.
 */
export async function renderChart(
  input: ChartInput,
  deps: { parser: ManifestParser; helm: HelmOptions; clock: Clock },
): Promise<RenderedObject[]> {
  await guardChartTree(input.chartDir, input.root);
  const chart = await withDependencies(input.chartDir, deps.helm.workDir, input.fetchDependency);
  try {
    const { patches: _patches, fetchDependency: _fetch, ...render } = input;
    const files = await helmTemplate({ ...render, chartDir: chart.dir }, deps.helm, deps.clock);
    const parsed = applyPatches(await deps.parser.parse(files), input.patches);
    return parsed.map((item) => {
      const hook = hookOf(item.object);
      if (hook) return { ...item, hook };
      if (item.object.kind === 'CustomResourceDefinition' && fromCrdsDir(item.source)) {
        const annotations = { ...item.object.metadata.annotations, [ANNOTATIONS.prune]: 'disabled' };
        return { ...item, object: { ...item.object, metadata: { ...item.object.metadata, annotations } } };
      }
      return item;
    });
  } finally {
    await chart.cleanup();
  }
}
