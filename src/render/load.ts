import { realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { resolve, sep } from 'node:path';
import type { AppGroupPatch } from '../api/app-group.ts';
import { applyPatches } from './apply-patches.ts';
import {
  DEFAULT_KUSTOMIZE_OPTIONS,
  type KustomizeOptions,
  kustomizationIn,
  kustomizeBuild,
} from './kustomize.ts';
import type { ManifestParser } from './parse-in-worker.ts';
import type { RenderedObject } from './parse-manifests.ts';
import { readManifests } from './read-manifests.ts';

/**
 * Reads (or, with a kustomization, builds with kustomize), parses (in the parser's worker thread,
 * with a deadline) and patches the manifests under `path` of a checked-out tree: the render's I/O
 * half.
 */
export async function loadManifests(
  parser: ManifestParser,
  root: string,
  path: string,
  patches: readonly AppGroupPatch[] = [],
  kustomize: { options: KustomizeOptions; home: string } = {
    options: DEFAULT_KUSTOMIZE_OPTIONS,
    home: tmpdir(),
  },
): Promise<RenderedObject[]> {
  // A path with a kustomization is built by kustomize; any other is read as plain manifests.
  const dir = await realpath(resolve(root, path)).catch(() => undefined);
  const realRoot = await realpath(root);
  const files =
    dir && (dir === realRoot || dir.startsWith(realRoot + sep)) && (await kustomizationIn(dir))
      ? [await kustomizeBuild(root, path, kustomize.options, kustomize.home)]
      : await readManifests(root, path);
  return applyPatches(await parser.parse(files), patches);
}
