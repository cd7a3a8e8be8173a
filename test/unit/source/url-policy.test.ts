import { describe, expect, it } from 'vitest';
import { classifyGitError } from '../../../src/source/git-errors.ts';
import {
  commitOf,
  formatRevision,
  lsRemotePatterns,
  parseLsRemote,
  resolveRevision,
} from '../../../src/source/revision.ts';
import { allowedProtocols, DEFAULT_URL_POLICY, refuseUrl } from '../../../src/source/url-policy.ts';

describe('refuseUrl', () => {
  it.each([
    ['https://github.com/acme/deploy.git', undefined],
    ['ssh://git@github.com/acme/deploy.git', undefined],
    ['git@github.com:acme/deploy.git', undefined],
    ['https://bob:tok@github.com/acme/deploy.git', /credentials must not be part of the URL/],
    ['http://git.local/r.git', /http:\/\/ URLs are refused/],
    ['file:///tmp/repo', /--allow-file-urls/],
    ['ext::sh -c touch% /tmp/pwned', /whitespace/],
    ['ext::sh', /protocol "ext"/],
    ['--upload-pack=touch /tmp/x', /must not start with "-"/],
    ['ftp://host/r.git', /protocol "ftp"/],
  ])('%s', (url, refusal) => {
    const r = refuseUrl(url, DEFAULT_URL_POLICY);
    if (refusal === undefined) expect(r).toBeUndefined();
    else expect(r).toMatch(refusal);
  });

  it('allows file:// and http:// only when the operator says so', () => {
    const open = { allowFileUrls: true, allowInsecureHttp: true };
    expect(refuseUrl('file:///tmp/repo', open)).toBeUndefined();
    expect(refuseUrl('http://git.local/r.git', open)).toBeUndefined();
    expect(allowedProtocols(DEFAULT_URL_POLICY)).toBe('https:ssh');
    expect(allowedProtocols(open)).toBe('https:ssh:http:file');
  });
});

describe('revisions', () => {
  const sha = (c: string) => c.repeat(40);
  const lsRemote = [
    `${sha('a')}\trefs/heads/main`,
    `${sha('b')}\trefs/heads/dev`,
    `${sha('c')}\trefs/tags/v1.2.0`,
    `${sha('d')}\trefs/tags/v1.2.0^{}`,
    `${sha('e')}\trefs/tags/v1.10.0`,
    `${sha('f')}\trefs/tags/2.0.0-rc.1`,
    `${sha('1')}\trefs/tags/not-a-version`,
    '',
  ].join('\n');
  const refs = parseLsRemote(lsRemote);

  it('peels annotated tags to their commit', () => {
    expect(refs.get('refs/tags/v1.2.0')).toBe(sha('d'));
  });

  it.each([
    [undefined, { name: 'main', commit: sha('a'), remoteRef: 'refs/heads/main' }],
    [{ branch: 'dev' }, { name: 'dev', commit: sha('b'), remoteRef: 'refs/heads/dev' }],
    [{ tag: 'v1.2.0' }, { name: 'v1.2.0', commit: sha('d'), remoteRef: 'refs/tags/v1.2.0' }],
    [{ semver: '^1.0.0' }, { name: 'v1.10.0', commit: sha('e'), remoteRef: 'refs/tags/v1.10.0' }],
    [{ semver: '~1.2.0' }, { name: 'v1.2.0', commit: sha('d'), remoteRef: 'refs/tags/v1.2.0' }],
    [{ semver: '>=2.0.0-rc.0' }, { name: '2.0.0-rc.1', commit: sha('f'), remoteRef: 'refs/tags/2.0.0-rc.1' }],
    [{ commit: sha('9') }, { name: sha('9'), commit: sha('9') }],
    [
      { commit: sha('9'), branch: 'main' },
      { name: 'main', commit: sha('9') },
    ],
  ])('resolveRevision(%j)', (ref, expected) => {
    expect(resolveRevision(ref, refs)).toEqual(expected);
  });

  it.each([
    [{ branch: 'gone' }, 'branch gone was not found'],
    [{ tag: 'v9' }, 'tag v9 was not found'],
    [{ semver: '>=3.0.0' }, 'no tag satisfies the semver range ">=3.0.0"'],
    [{ commit: sha('9'), branch: 'gone' }, 'branch gone was not found'],
  ])('resolveRevision(%j) explains a missing ref', (ref, why) => {
    expect(resolveRevision(ref, refs)).toBe(why);
  });

  it.each([
    [undefined, ['refs/heads/main']],
    [{ tag: 'v1' }, ['refs/tags/v1', 'refs/tags/v1^{}']],
    [{ semver: '^1' }, ['refs/tags/*']],
    [{ commit: sha('9') }, []],
  ])('lsRemotePatterns(%j)', (ref, patterns) => {
    expect(lsRemotePatterns(ref)).toEqual(patterns);
  });

  it('formats and parses <ref>@sha1:<commit>', () => {
    expect(formatRevision('main', sha('4'))).toBe(`main@sha1:${sha('4')}`);
    expect(commitOf(`main@sha1:${sha('4')}`)).toBe(sha('4'));
    expect(commitOf('main')).toBeUndefined();
  });
});

describe('classifyGitError', () => {
  it.each([
    ["fatal: Authentication failed for 'https://bob:pw@h/r.git/'", 'AuthenticationFailed'],
    ['fatal: could not read Username for https://h: terminal prompts disabled', 'AuthenticationFailed'],
    ["fatal: couldn't find remote ref refs/heads/gone", 'RevisionNotFound'],
    ['fatal: unable to access https://h/: Could not resolve host: h', 'SourceUnavailable'],
    ['something else entirely', 'FetchFailed'],
  ])('%s -> %s, without secrets', (raw, reason) => {
    const c = classifyGitError(new Error(raw));
    expect(c.reason).toBe(reason);
    expect(c.message).not.toContain('pw@');
  });
});
