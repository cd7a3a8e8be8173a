import { describe, expect, it } from 'vitest';
import { classifyGitError } from '../../../src/source/git-errors.ts';
import { commitOf, formatRevision, resolveRef } from '../../../src/source/revision.ts';
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
  it.each([
    [undefined, { name: 'main', remoteRef: 'refs/heads/main' }],
    [{ branch: 'dev' }, { name: 'dev', remoteRef: 'refs/heads/dev' }],
    [{ tag: 'v1.2.0' }, { name: 'v1.2.0', remoteRef: 'refs/tags/v1.2.0' }],
    [{ commit: 'abcdef1' }, { name: 'abcdef1', commit: 'abcdef1' }],
    [
      { commit: 'abcdef1', branch: 'main' },
      { name: 'main', commit: 'abcdef1', remoteRef: 'refs/heads/main' },
    ],
  ])('resolveRef(%j)', (ref, expected) => {
    expect(resolveRef(ref)).toEqual(expected);
  });

  it('formats and parses <ref>@sha1:<commit>', () => {
    const sha = '4f2c2d8e9a1b3c5d7e9f1a2b3c4d5e6f7a8b9c0d';
    expect(formatRevision('main', sha)).toBe(`main@sha1:${sha}`);
    expect(commitOf(`main@sha1:${sha}`)).toBe(sha);
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
