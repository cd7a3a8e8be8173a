import type { AppGroupPatch } from '../api/app-group.ts';
import { applyPatches } from './apply-patches.ts';
import { parseManifests, type RenderedObject } from './parse-manifests.ts';
import { readManifests } from './read-manifests.ts';

/** Reads, parses and patches the manifests under `path` of a checked-out tree (the render's I/O half). */
export async function loadManifests(
  root: string,
  path: string,
  patches: readonly AppGroupPatch[] = [],
): Promise<RenderedObject[]> {
  return applyPatches(parseManifests(await readManifests(root, path)), patches);
}
