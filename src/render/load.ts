import type { AppGroupPatch } from '../api/app-group.ts';
import { applyPatches } from './apply-patches.ts';
import type { ManifestParser } from './parse-in-worker.ts';
import type { RenderedObject } from './parse-manifests.ts';
import { readManifests } from './read-manifests.ts';

/**
 * Reads, parses (in the parser's worker thread, with a deadline) and patches the manifests under
 * `path` of a checked-out tree: the render's I/O half.
 */
export async function loadManifests(
  parser: ManifestParser,
  root: string,
  path: string,
  patches: readonly AppGroupPatch[] = [],
): Promise<RenderedObject[]> {
  return applyPatches(await parser.parse(await readManifests(root, path)), patches);
}
