import type { ObjectRef } from '../api/object-key.ts';
import type { ObjectDiff } from '../diff/object-diff.ts';

/** What one sync of a group changed, object by object, with diffs of those it reverted. */
export interface SyncReport {
  at: number;
  revision: string | undefined;
  durationMs: number;
  succeeded: boolean;
  objects: { ref: ObjectRef; action: 'created' | 'configured' | 'unchanged' | 'pruned'; diff?: ObjectDiff }[];
  /** Objects beyond the cap: counted, not listed. */
  more: number;
}
