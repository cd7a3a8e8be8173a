import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** Which hosts the operator may fetch from (GitSources, Prometheus addresses): flags. */
export interface HostPolicy {
  /** When not empty, only hosts matching one of these (host globs like *.example.com, or CIDRs). */
  allowedHosts?: readonly string[];
  /** Hosts refused besides the built-in list (host globs or CIDRs). */
  deniedHosts?: readonly string[];
}

/**
 * Always refused: link-local addresses (where clouds serve instance metadata and credentials) and
 * the metadata services' names and addresses.
 */
const DENIED_CIDRS: readonly [string, number, 'ipv4' | 'ipv6'][] = [
  ['169.254.0.0', 16, 'ipv4'],
  ['100.100.100.200', 32, 'ipv4'], // Alibaba Cloud metadata
  ['fe80::', 10, 'ipv6'],
  ['fd00:ec2::254', 128, 'ipv6'], // AWS metadata over IPv6
];
const DENIED_NAMES = [
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
];

/** The host of a repository or HTTP URL (`user@host:path` too); undefined for file:// and junk. Pure. */
export function hostOf(url: string): string | undefined {
  const scp = /^[A-Za-z0-9._-]+@([A-Za-z0-9.-]+):/.exec(url);
  if (scp && !url.includes('://')) return scp[1]?.toLowerCase();
  try {
    const host = new URL(url).hostname.toLowerCase();
    return host.replace(/^\[|\]$/g, '') || undefined;
  } catch {
    return undefined;
  }
}

/** An IPv4 address written inside IPv6 (::ffff:169.254.169.254), as IPv4. Pure. */
function unmapped(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m?.[1] ?? address;
}

function blockList(cidrs: Iterable<[string, number, 'ipv4' | 'ipv6']>): BlockList {
  const list = new BlockList();
  for (const [net, prefix, family] of cidrs) list.addSubnet(net, prefix, family);
  return list;
}

/** Parses `10.0.0.0/8` or `fd00::/8`; undefined for anything else. Pure. */
function cidrOf(pattern: string): [string, number, 'ipv4' | 'ipv6'] | undefined {
  const [net = '', bits] = pattern.split('/');
  const family = isIP(net);
  if (family === 0) return undefined;
  const max = family === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return undefined;
  return [net, prefix, family === 4 ? 'ipv4' : 'ipv6'];
}

function globMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  if (p.startsWith('*.')) return host.endsWith(p.slice(1)) && host.length > p.length - 1;
  return host === p;
}

/** Whether `host` or one of its addresses matches a pattern (host glob or CIDR). Pure. */
function matchesAny(patterns: readonly string[], host: string, addresses: readonly string[]): boolean {
  const cidrs = patterns.flatMap((p) => {
    const c = cidrOf(p);
    return c ? [c] : [];
  });
  const list = blockList(cidrs);
  if (addresses.some((a) => list.check(a, isIP(a) === 6 ? 'ipv6' : 'ipv4'))) return true;
  return patterns.some((p) => !cidrOf(p) && globMatches(p, host));
}

const BUILT_IN = blockList(DENIED_CIDRS);

/**
 * Why `host` (with the addresses it resolves to) is refused by `policy`, or undefined. Pure.
 * Caveat: git and fetch resolve the name again, so a name whose answers change between the two
 * lookups (DNS rebinding) is not stopped by this; the built-in list is a guard, not a sandbox.
 */
export function hostRefusal(
  host: string,
  resolved: readonly string[],
  policy: HostPolicy,
): string | undefined {
  const addresses = [...new Set([...(isIP(host) ? [host] : []), ...resolved].map(unmapped))];
  const metadata =
    DENIED_NAMES.includes(host) || addresses.some((a) => BUILT_IN.check(a, isIP(a) === 6 ? 'ipv6' : 'ipv4'));
  if (metadata) return `the host ${host} is a link-local or cloud metadata address, which is never fetched`;
  if (policy.deniedHosts?.length && matchesAny(policy.deniedHosts, host, addresses))
    return `the host ${host} is refused by --source-hosts-deny`;
  if (policy.allowedHosts?.length && !matchesAny(policy.allowedHosts, host, addresses))
    return `the host ${host} is not in --source-hosts-allow`;
  return undefined;
}

/**
 * Why a URL's host is refused (see hostRefusal), resolving its name first; a name that does not
 * resolve is left to the fetch, which reports it as unreachable.
 */
export async function refuseHost(url: string, policy: HostPolicy): Promise<string | undefined> {
  const host = hostOf(url);
  if (host === undefined) return undefined;
  let resolved: string[] = [];
  if (isIP(host) === 0) {
    resolved = await lookup(host, { all: true, verbatim: true }).then(
      (answers) => answers.map((a) => a.address),
      () => [],
    );
  }
  return hostRefusal(host, resolved, policy);
}
