import type { HostPolicy } from './host-policy.ts';

/** Which repository URLs the operator will fetch. Pure. */
export interface UrlPolicy extends HostPolicy {
  /** file:// URLs (local repositories): off by default; demos and tests turn it on. */
  allowFileUrls: boolean;
  /** Plain http://: off by default (credentials and content travel unencrypted). */
  allowInsecureHttp: boolean;
}

export const DEFAULT_URL_POLICY: UrlPolicy = { allowFileUrls: false, allowInsecureHttp: false };

const SCP_LIKE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$/;

/**
 * Returns why `url` is refused, or undefined when it may be fetched. Refuses option injection
 * (a leading '-'), URL userinfo with a password, `ext::` and every protocol outside the allow-list.
 */
export function refuseUrl(url: string, policy: UrlPolicy): string | undefined {
  if (url.startsWith('-')) return 'the URL must not start with "-"';
  if (/\s/.test(url)) return 'the URL must not contain whitespace';
  if (SCP_LIKE.test(url) && !url.includes('://')) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'the URL is not valid';
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  if (scheme === 'https' || scheme === 'ssh') {
    if (scheme === 'https' && (parsed.username || parsed.password)) {
      return 'credentials must not be part of the URL; use secretRef';
    }
    return undefined;
  }
  if (scheme === 'http') {
    if (parsed.username || parsed.password) return 'credentials must not be part of the URL; use secretRef';
    return policy.allowInsecureHttp
      ? undefined
      : 'http:// URLs are refused; use https:// (or start the operator with --allow-insecure-http)';
  }
  if (scheme === 'file') {
    return policy.allowFileUrls
      ? undefined
      : 'file:// URLs are refused unless the operator runs with --allow-file-urls';
  }
  return `the protocol "${scheme}" is not allowed (https, ssh)`;
}

/** The git protocols a child process may use under `policy` (for GIT_ALLOW_PROTOCOL). */
export function allowedProtocols(policy: UrlPolicy): string {
  return [
    'https',
    'ssh',
    ...(policy.allowInsecureHttp ? ['http'] : []),
    ...(policy.allowFileUrls ? ['file'] : []),
  ].join(':');
}
