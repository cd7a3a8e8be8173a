import { REASON } from '../api/conditions.ts';
import type { SizeLimits } from '../api/limits.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';

/** Caps on what a fetched revision may hold (the whole tree, not only manifests). */
export type SourceLimits = SizeLimits;

export const DEFAULT_SOURCE_LIMITS: SourceLimits = {
  maxFileBytes: 64 * 1024 * 1024,
  maxTotalBytes: 512 * 1024 * 1024,
  maxFiles: 50_000,
};

/**
 * Checks an `ls-tree -r -l` listing against the limits, naming the file and the limit, and returns
 * the listing without sizes (what the digest covers). Pure.
 */
export function checkLimits(sizedListing: string, limits: SourceLimits): string {
  const lines = sizedListing.split('\n').filter((l) => l.length > 0);
  if (lines.length > limits.maxFiles) {
    throw new ReconcileError(
      REASON.LimitExceeded,
      `the revision has ${lines.length} files, over the limit of ${limits.maxFiles}`,
    );
  }
  let total = 0;
  const plain: string[] = [];
  for (const line of lines) {
    const tab = line.indexOf('\t');
    const [mode, type, oid, size] = line.slice(0, tab).split(/\s+/);
    const path = line.slice(tab + 1);
    const bytes = Number(size);
    if (Number.isFinite(bytes)) {
      if (bytes > limits.maxFileBytes) {
        throw new ReconcileError(
          REASON.LimitExceeded,
          `file ${path} is ${bytes} bytes, over the limit of ${limits.maxFileBytes} bytes per file`,
        );
      }
      total += bytes;
      if (total > limits.maxTotalBytes) {
        throw new ReconcileError(
          REASON.LimitExceeded,
          `the revision is over the limit of ${limits.maxTotalBytes} bytes in total (at ${path})`,
        );
      }
    }
    plain.push(`${mode} ${type} ${oid}\t${path}`);
  }
  return `${plain.join('\n')}\n`;
}
