/** A manifest file read from an artifact: its path relative to the group's path, and its text. */
export interface ManifestFile {
  path: string;
  content: string;
}

/** Limits on what a render may read; exceeding one fails with LimitExceeded naming the file. */
export interface ReadLimits {
  maxFileBytes: number;
  maxTotalBytes: number;
  maxFiles: number;
}

export const DEFAULT_READ_LIMITS: ReadLimits = {
  maxFileBytes: 4 * 1024 * 1024,
  maxTotalBytes: 32 * 1024 * 1024,
  maxFiles: 10_000,
};

/** Extensions read as manifests; everything else (binaries, docs) is skipped. */
export const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;
