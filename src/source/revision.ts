import type { GitRef } from '../api/git-source.ts';

/** The ref a GitSource follows, resolved to what `git ls-remote` and `git fetch` need. Pure. */
export interface ResolvedRef {
  /** The name shown in revisions: the branch, the tag, or the commit. */
  name: string;
  /** Full ref name to ask the remote for; undefined for a pinned commit. */
  remoteRef?: string;
  /** A pinned commit. */
  commit?: string;
}

export function resolveRef(ref: GitRef | undefined): ResolvedRef {
  if (ref?.commit)
    return {
      name: ref.branch ?? ref.commit,
      commit: ref.commit,
      ...(ref.branch ? { remoteRef: `refs/heads/${ref.branch}` } : {}),
    };
  if (ref?.tag) return { name: ref.tag, remoteRef: `refs/tags/${ref.tag}` };
  if (ref?.semver) throw new Error('semver refs are not supported yet');
  const branch = ref?.branch ?? 'main';
  return { name: branch, remoteRef: `refs/heads/${branch}` };
}

/** `<ref>@sha1:<commit>`, the revision format of DESIGN.md. */
export function formatRevision(refName: string, commit: string): string {
  return `${refName}@sha1:${commit}`;
}

/** The commit of a revision string, or undefined when it has none. */
export function commitOf(revision: string | undefined): string | undefined {
  const m = revision?.match(/@sha1:([0-9a-f]{40})$/);
  return m?.[1];
}
