import { describe, expect, it } from 'vitest';
import { hostOf, hostRefusal, refuseHost } from '../../../src/source/host-policy.ts';

describe('the source host policy', () => {
  it.each([
    ['https://git.example.com/a.git', 'git.example.com'],
    ['ssh://git@git.example.com:2222/a.git', 'git.example.com'],
    ['git@github.com:acme/a.git', 'github.com'],
    ['http://[fe80::1]/x', 'fe80::1'],
    ['file:///tmp/x', undefined],
  ])('the host of %s is %s', (url, host) => {
    expect(hostOf(url)).toBe(host);
  });

  it.each([
    ['the metadata address', '169.254.169.254', [], {}, /link-local or cloud metadata/],
    [
      'a name that resolves to it',
      'evil.example.com',
      ['169.254.169.254'],
      {},
      /link-local or cloud metadata/,
    ],
    ['an IPv4-mapped IPv6 form of it', 'evil.example.com', ['::ffff:169.254.169.254'], {}, /metadata/],
    ['an IPv6 link-local address', 'fe80::1', [], {}, /link-local/],
    ['the GCE metadata name', 'metadata.google.internal', [], {}, /metadata/],
    ['a denied CIDR', 'db.internal', ['10.1.2.3'], { deniedHosts: ['10.0.0.0/8'] }, /source-hosts-deny/],
    [
      'a denied name glob',
      'x.corp.example',
      ['192.0.2.1'],
      { deniedHosts: ['*.corp.example'] },
      /source-hosts-deny/,
    ],
    [
      'a host outside the allow list',
      'gitlab.com',
      ['192.0.2.9'],
      { allowedHosts: ['github.com'] },
      /source-hosts-allow/,
    ],
  ])('refuses %s', (_, host, resolved, policy, why) => {
    expect(hostRefusal(host, resolved, policy)).toMatch(why);
  });

  it.each([
    ['a public host', 'github.com', ['140.82.112.3'], {}],
    ['loopback (tests, demos)', '127.0.0.1', [], {}],
    ['an allowed glob', 'git.acme.dev', ['192.0.2.1'], { allowedHosts: ['*.acme.dev'] }],
    ['an allowed CIDR', 'git.lan', ['10.0.0.7'], { allowedHosts: ['10.0.0.0/24'] }],
  ])('allows %s', (_, host, resolved, policy) => {
    expect(hostRefusal(host, resolved, policy)).toBeUndefined();
  });

  it('resolves names before deciding; a name that does not resolve is left to git', async () => {
    expect(await refuseHost('https://169.254.169.254/latest/meta-data', {})).toMatch(/metadata/);
    expect(await refuseHost('https://localhost/x.git', { deniedHosts: ['127.0.0.0/8', '::1'] })).toMatch(
      /deny/,
    );
    expect(await refuseHost('https://nowhere.invalid/x.git', {})).toBeUndefined();
  });
});
