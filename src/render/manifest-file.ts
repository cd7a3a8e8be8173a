import type { SizeLimits } from '../api/limits.ts';

/** A manifest file read from an artifact: its path relative to the group's path, and its text. */
export interface ManifestFile {
  path: string;
  content: string;
}

/** Limits on what a render may read (manifest files under the group's path). */
export type ReadLimits = SizeLimits;

export const DEFAULT_READ_LIMITS: ReadLimits = {
  maxFileBytes: 4 * 1024 * 1024,
  maxTotalBytes: 32 * 1024 * 1024,
  maxFiles: 10_000,
};

/** Extensions read as manifests; everything else (binaries, docs) is skipped. */
export const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;
