import semver from 'semver';
import type { GitRef } from '../api/git-source.ts';

/** What to ask `git ls-remote` for, given a GitSource's ref. Pure. */
export function lsRemotePatterns(ref: GitRef | undefined): string[] {
  if (ref?.semver) return ['refs/tags/*'];
  if (ref?.tag) return [`refs/tags/${ref.tag}`, `refs/tags/${ref.tag}^{}`];
  if (ref?.commit && !ref.branch) return [];
  return [`refs/heads/${ref?.branch ?? 'main'}`];
}

/** `git ls-remote` output as a map from ref name to object id, with annotated tags peeled. Pure. */
export function parseLsRemote(output: string): Map<string, string> {
  const refs = new Map<string, string>();
  const peeled = new Map<string, string>();
  for (const line of output.split('\n')) {
    const [sha, name] = line.trim().split('\t');
    if (!sha || !name || !/^[0-9a-f]{40}$/.test(sha)) continue;
    if (name.endsWith('^{}')) peeled.set(name.slice(0, -3), sha);
    else refs.set(name, sha);
  }
  // An annotated tag's own id is the tag object; the revision is the commit it points at.
  for (const [name, sha] of peeled) refs.set(name, sha);
  return refs;
}

/** The revision a ref resolves to on the remote: the name shown in revisions, and the commit. */
export interface ResolvedRevision {
  /** The branch, the tag (for tag and semver refs), or the commit. */
  name: string;
  commit: string;
  /** The full ref to fetch; undefined for a commit fetched by id. */
  remoteRef?: string;
}

/**
 * Resolves `ref` against the remote's refs (from `parseLsRemote`): a branch or tag by name, a semver
 * range to the highest tag that satisfies it (a leading "v" is allowed), a commit to itself (named
 * after its branch when one is given). Returns why not, when the ref does not exist. Pure.
 */
export function resolveRevision(
  ref: GitRef | undefined,
  refs: ReadonlyMap<string, string>,
): ResolvedRevision | string {
  if (ref?.commit) {
    if (ref.branch && !refs.has(`refs/heads/${ref.branch}`)) return `branch ${ref.branch} was not found`;
    return { name: ref.branch ?? ref.commit, commit: ref.commit };
  }
  if (ref?.semver) {
    const range = semver.validRange(ref.semver);
    if (!range) return `"${ref.semver}" is not a valid semver range`;
    const versions = new Map<string, string>();
    for (const name of refs.keys()) {
      if (!name.startsWith('refs/tags/')) continue;
      const tag = name.slice('refs/tags/'.length);
      const v = semver.valid(tag.replace(/^v/, ''));
      if (v && !versions.has(v)) versions.set(v, tag);
    }
    const best = semver.maxSatisfying([...versions.keys()], range);
    if (!best) return `no tag satisfies the semver range "${ref.semver}"`;
    const tag = versions.get(best) as string;
    return { name: tag, commit: refs.get(`refs/tags/${tag}`) as string, remoteRef: `refs/tags/${tag}` };
  }
  if (ref?.tag) {
    const commit = refs.get(`refs/tags/${ref.tag}`);
    return commit
      ? { name: ref.tag, commit, remoteRef: `refs/tags/${ref.tag}` }
      : `tag ${ref.tag} was not found`;
  }
  const branch = ref?.branch ?? 'main';
  const commit = refs.get(`refs/heads/${branch}`);
  return commit
    ? { name: branch, commit, remoteRef: `refs/heads/${branch}` }
    : `branch ${branch} was not found`;
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
