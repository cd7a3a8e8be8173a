import type { GitRef } from '../../api/git-source.ts';
import { lsRemotePatterns } from '../../source/revision.ts';

/**
 * Whether a push that moved `pushed` (full ref names) may change what a source following `ref`
 * resolves to: the refs it asks `ls-remote` for (its branch, `main` when it names none, its tag, or
 * every tag for a semver range) meet the pushed ones. A push that names no ref, and a source pinned
 * to a commit alone (the push may be the one that brings it), always may. Pure.
 */
export function pushMoves(ref: GitRef | undefined, pushed: readonly string[]): boolean {
  const patterns = lsRemotePatterns(ref);
  if (pushed.length === 0 || patterns.length === 0) return true;
  return pushed.some((name) =>
    patterns.some((p) => (p.endsWith('/*') ? name.startsWith(p.slice(0, -1)) : name === p)),
  );
}
