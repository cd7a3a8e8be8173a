import { createHmac, timingSafeEqual } from 'node:crypto';

export type Headers = Record<string, string | string[] | undefined>;

/** How one Git host signs its push webhooks and where its payload names the repository. */
export interface Provider {
  /** True when the request carries a valid signature of `body` made with `token`. */
  verify(headers: Headers, body: Buffer, token: string): boolean;
  /** A ping or test delivery: acknowledged, never a trigger. */
  isPing(headers: Headers, payload: Record<string, unknown>): boolean;
  /** Every URL by which the payload names the repository. */
  repositoryUrls(payload: Record<string, unknown>): string[];
  /**
   * The full names of the refs the push moved (`refs/heads/main`, `refs/tags/v1.2.0`); empty when the
   * payload does not say, and then every source of the repository is triggered.
   */
  pushedRefs(payload: Record<string, unknown>): string[];
}

const header = (h: Headers, name: string): string | undefined => {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
};

/** Constant-time comparison of two strings (false for different lengths, without early exit on content). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const hmacHex = (body: Buffer, token: string) => createHmac('sha256', token).update(body).digest('hex');

/** `sha256=<hex>` in `name`, as GitHub, Bitbucket Cloud and the generic receiver send it. */
function verifyPrefixedHmac(name: string) {
  return (h: Headers, body: Buffer, token: string) => {
    const sig = header(h, name);
    return sig !== undefined && safeEqual(sig.trim().toLowerCase(), `sha256=${hmacHex(body, token)}`);
  };
}

function get(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function strings(payload: unknown, paths: string[]): string[] {
  return paths.map((p) => get(payload, p)).filter((v): v is string => typeof v === 'string' && v.length > 0);
}

// A Map, so that a payload's `constructor` or `__proto__` finds nothing.
const KIND_PREFIX = new Map([
  ['branch', 'refs/heads/'],
  ['tag', 'refs/tags/'],
]);

/**
 * `ref` as GitHub, GitLab, Gitea and Forgejo send it: a full ref name in a push, or a short name with
 * `ref_type` (branch or tag) in a create or delete event.
 */
function refField(p: Record<string, unknown>): string[] {
  const ref = p.ref;
  if (typeof ref !== 'string' || ref.length === 0) return [];
  if (ref.startsWith('refs/')) return [ref];
  const prefix = typeof p.ref_type === 'string' ? KIND_PREFIX.get(p.ref_type) : undefined;
  return prefix ? [prefix + ref] : [];
}

/** Bitbucket Cloud's `push.changes[]`, each with the ref after (`new`) or, when deleted, before (`old`). */
function bitbucketRefs(p: Record<string, unknown>): string[] {
  const changes = get(p, 'push.changes');
  if (!Array.isArray(changes)) return [];
  return changes.flatMap((c) => {
    const ref = get(c, 'new') ?? get(c, 'old');
    const name = get(ref, 'name');
    const prefix = KIND_PREFIX.get(String(get(ref, 'type')));
    return typeof name === 'string' && name.length > 0 && prefix ? [prefix + name] : [];
  });
}

export type ProviderName = 'github' | 'gitlab' | 'gitea' | 'bitbucket' | 'generic';

export const PROVIDERS: Record<ProviderName, Provider> = {
  github: {
    verify: verifyPrefixedHmac('x-hub-signature-256'),
    isPing: (h) => header(h, 'x-github-event') === 'ping',
    repositoryUrls: (p) =>
      strings(p, ['repository.clone_url', 'repository.ssh_url', 'repository.git_url', 'repository.html_url']),
    pushedRefs: refField,
  },
  gitlab: {
    verify: (h, _body, token) => {
      const t = header(h, 'x-gitlab-token');
      return t !== undefined && safeEqual(t, token);
    },
    isPing: () => false,
    repositoryUrls: (p) =>
      strings(p, [
        'project.git_http_url',
        'project.git_ssh_url',
        'project.web_url',
        'repository.git_http_url',
        'repository.git_ssh_url',
        'repository.homepage',
        'repository.url',
      ]),
    pushedRefs: refField,
  },
  gitea: {
    verify: (h, body, token) => {
      const sig = header(h, 'x-gitea-signature') ?? header(h, 'x-forgejo-signature');
      return sig !== undefined && safeEqual(sig.trim().toLowerCase(), hmacHex(body, token));
    },
    isPing: (h) => (header(h, 'x-gitea-event') ?? header(h, 'x-forgejo-event')) === 'ping',
    repositoryUrls: (p) => strings(p, ['repository.clone_url', 'repository.ssh_url', 'repository.html_url']),
    pushedRefs: refField,
  },
  bitbucket: {
    verify: verifyPrefixedHmac('x-hub-signature'),
    isPing: (h) => header(h, 'x-event-key') === 'diagnostics:ping',
    repositoryUrls: (p) => {
      const urls = strings(p, ['repository.links.html.href']);
      const full = get(p, 'repository.full_name');
      if (typeof full === 'string') urls.push(`https://bitbucket.org/${full}`);
      return urls;
    },
    pushedRefs: bitbucketRefs,
  },
  generic: {
    verify: verifyPrefixedHmac('x-signature-256'),
    isPing: (h) => header(h, 'x-event') === 'ping',
    repositoryUrls: (p) => strings(p, ['repository.url', 'repository.clone_url', 'url']),
    pushedRefs: refField,
  },
};

export function providerOf(name: string): Provider | undefined {
  return Object.hasOwn(PROVIDERS, name) ? PROVIDERS[name as ProviderName] : undefined;
}
