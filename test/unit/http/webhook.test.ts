import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { normalizeRepoUrl } from '../../../src/http/webhook/normalize-url.ts';
import { PROVIDERS, safeEqual } from '../../../src/http/webhook/providers.ts';

describe('normalizeRepoUrl', () => {
  it.each([
    ['https://github.com/Acme/Deploy.git', 'github.com/acme/deploy'],
    ['https://github.com/acme/deploy/', 'github.com/acme/deploy'],
    ['http://github.com:8080/acme/deploy', 'github.com/acme/deploy'],
    ['ssh://git@github.com:22/acme/deploy.git', 'github.com/acme/deploy'],
    ['git@github.com:acme/deploy.git', 'github.com/acme/deploy'],
    ['git@gitlab.com:group/sub/project.git', 'gitlab.com/group/sub/project'],
    ['https://bob:secret@github.com/acme/deploy.git', 'github.com/acme/deploy'],
    ['file:///srv/repos/deploy.git', '/srv/repos/deploy'],
    ['', undefined],
    ['not a url', undefined],
    // A malformed escape in one source's URL or a payload must not throw (it failed every request).
    ['https://github.com/acme/%E0%A4%A.git', 'github.com/acme/%e0%a4%a'],
    [undefined, undefined],
    [42, undefined],
  ])('%s -> %s', (url, expected) => expect(normalizeRepoUrl(url)).toBe(expected));
});

describe('providers', () => {
  const body = Buffer.from('{"repository":{}}');
  const sig = createHmac('sha256', 'tok').update(body).digest('hex');

  it.each([
    ['github', { 'x-hub-signature-256': `sha256=${sig}` }],
    ['gitlab', { 'x-gitlab-token': 'tok' }],
    ['gitea', { 'x-gitea-signature': sig }],
    ['gitea', { 'x-forgejo-signature': sig }],
    ['bitbucket', { 'x-hub-signature': `sha256=${sig}` }],
    ['generic', { 'x-signature-256': `sha256=${sig}` }],
  ] as const)('%s accepts its own signature and refuses a wrong or missing one', (name, headers) => {
    const p = PROVIDERS[name];
    expect(p.verify(headers, body, 'tok')).toBe(true);
    expect(p.verify(headers, body, 'other')).toBe(false);
    expect(p.verify({}, body, 'tok')).toBe(false);
    expect(p.verify(headers, Buffer.from('{"tampered":1}'), 'tok')).toBe(name === 'gitlab');
  });

  it('finds the repository in each payload format', () => {
    expect(PROVIDERS.github.repositoryUrls({ repository: { clone_url: 'a', ssh_url: 'b' } })).toEqual([
      'a',
      'b',
    ]);
    expect(PROVIDERS.gitlab.repositoryUrls({ project: { git_http_url: 'a' } })).toEqual(['a']);
    expect(PROVIDERS.bitbucket.repositoryUrls({ repository: { full_name: 'acme/x' } })).toEqual([
      'https://bitbucket.org/acme/x',
    ]);
    expect(PROVIDERS.generic.repositoryUrls({ repository: { url: 'u' } })).toEqual(['u']);
    expect(PROVIDERS.github.repositoryUrls({ repository: null })).toEqual([]);
  });

  it('recognises pings', () => {
    expect(PROVIDERS.github.isPing({ 'x-github-event': 'ping' }, {})).toBe(true);
    expect(PROVIDERS.github.isPing({ 'x-github-event': 'push' }, {})).toBe(false);
    expect(PROVIDERS.bitbucket.isPing({ 'x-event-key': 'diagnostics:ping' }, {})).toBe(true);
  });

  it('compares in constant time and never equal for different lengths', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
  });
});
