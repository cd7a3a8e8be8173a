/**
 * A repository URL reduced to what identifies the repository across its forms: host and path, lower
 * case, without scheme, user, port, trailing slash or ".git". `https://github.com/Acme/Deploy.git`,
 * `ssh://git@github.com:22/acme/deploy` and `git@github.com:acme/deploy.git` all give
 * `github.com/acme/deploy`; `file:///srv/repo` gives `/srv/repo`. Pure.
 */
export function normalizeRepoUrl(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const url = raw.trim();
  if (url === '') return undefined;
  let host: string;
  let path: string;
  const scp = url.match(/^[A-Za-z0-9._-]+@([A-Za-z0-9.-]+):(?!\/\/)(.+)$/);
  if (scp && !url.includes('://')) {
    host = scp[1] as string;
    path = scp[2] as string;
  } else {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return undefined;
    }
    host = parsed.protocol === 'file:' ? '' : parsed.hostname;
    try {
      path = decodeURIComponent(parsed.pathname);
    } catch {
      // A malformed escape (in a payload, or in one GitSource's URL) must not fail other requests.
      path = parsed.pathname;
    }
  }
  path = path
    .replace(/\/+$/, '')
    .replace(/\.git$/i, '')
    .replace(/\/+$/, '');
  if (host !== '' && !path.startsWith('/')) path = `/${path}`;
  return `${host}${path}`.toLowerCase();
}
