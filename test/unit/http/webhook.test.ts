import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { normalizeRepoUrl } from '../../../src/http/webhook/normalize-url.ts';
import { PROVIDERS, safeEqual } from '../../../src/http/webhook/providers.ts';
import { pushMoves } from '../../../src/http/webhook/pushed-refs.ts';

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

  it('finds the refs a push moved in each payload format', () => {
    expect(PROVIDERS.github.pushedRefs({ ref: 'refs/heads/main' })).toEqual(['refs/heads/main']);
    // A create or delete event names the ref short, with its kind.
    expect(PROVIDERS.github.pushedRefs({ ref: 'v2', ref_type: 'tag' })).toEqual(['refs/tags/v2']);
    expect(PROVIDERS.gitea.pushedRefs({ ref: 'dev', ref_type: 'branch' })).toEqual(['refs/heads/dev']);
    expect(PROVIDERS.gitlab.pushedRefs({ object_kind: 'tag_push', ref: 'refs/tags/v1' })).toEqual([
      'refs/tags/v1',
    ]);
    expect(
      PROVIDERS.bitbucket.pushedRefs({
        push: {
          changes: [
            { new: { type: 'branch', name: 'main' }, old: { type: 'branch', name: 'main' } },
            { new: null, old: { type: 'tag', name: 'v0' } },
            { new: { type: 'named_branch', name: 'x' } },
          ],
        },
      }),
    ).toEqual(['refs/heads/main', 'refs/tags/v0']);
    expect(PROVIDERS.generic.pushedRefs({ repository: { url: 'u' } })).toEqual([]);
    // What names no ref, or names it in no known way, is no filter.
    expect(PROVIDERS.github.pushedRefs({ ref: 'main' })).toEqual([]);
    expect(PROVIDERS.github.pushedRefs({ ref: 42 })).toEqual([]);
    expect(PROVIDERS.github.pushedRefs({ ref: 'x', ref_type: 'constructor' })).toEqual([]);
    expect(
      PROVIDERS.bitbucket.pushedRefs({ push: { changes: [{ new: { type: '__proto__', name: 'x' } }] } }),
    ).toEqual([]);
    expect(PROVIDERS.bitbucket.pushedRefs({ push: { changes: 'x' } })).toEqual([]);
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

describe('pushMoves', () => {
  const main = ['refs/heads/main'];
  it.each([
    [undefined, main, true],
    [undefined, ['refs/heads/dev'], false],
    [{ branch: 'dev' }, ['refs/heads/dev'], true],
    [{ branch: 'dev' }, ['refs/heads/develop', 'refs/tags/dev'], false],
    [{ branch: 'dev', commit: 'a'.repeat(40) }, ['refs/heads/dev'], true],
    [{ branch: 'dev', commit: 'a'.repeat(40) }, main, false],
    [{ tag: 'v1' }, ['refs/tags/v1'], true],
    [{ tag: 'v1' }, ['refs/tags/v10', 'refs/heads/v1'], false],
    [{ semver: '^1' }, ['refs/tags/anything'], true],
    [{ semver: '^1' }, main, false],
    // A commit alone may be what the push brings; a push that names nothing may move anything.
    [{ commit: 'a'.repeat(40) }, main, true],
    [{ branch: 'dev' }, [], true],
  ] as const)('%o after a push of %o: %s', (ref, pushed, expected) =>
    expect(pushMoves(ref, pushed)).toBe(expected),
  );
});
