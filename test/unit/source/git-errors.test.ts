import { describe, expect, it } from 'vitest';
import { classifyGitError } from '../../../src/source/git-errors.ts';

describe('classifyGitError', () => {
  it('drops what the server said and keeps git own lines', () => {
    const err = new Error(
      "remote: internal-hostname db-7.corp: token sk_live_123\nremote: more server text\nfatal: unable to access 'https://git.example.com/a.git/': The requested URL returned error: 403\n",
    );
    const { reason, message } = classifyGitError(err);
    expect(reason).toBe('AuthenticationFailed');
    expect(message).toBe(
      "fatal: unable to access 'https://git.example.com/a.git/': The requested URL returned error: 403 (the server's message, 2 line(s), is not shown)",
    );
    expect(message).not.toContain('sk_live');
  });

  it('does not let server text choose the reason', () => {
    const { reason } = classifyGitError(
      new Error(
        "remote: authentication failed (not really)\nfatal: unable to access 'https://h/x/': The requested URL returned error: 500",
      ),
    );
    expect(reason).toBe('SourceUnavailable');
  });

  it('takes the reason from git own words, not from the URL or names it quotes', () => {
    const reason = (raw: string) => classifyGitError(new Error(raw)).reason;
    // A port, a host or a path with 403 in it, on a 500: unavailable, not an authentication failure.
    expect(
      reason(
        "fatal: unable to access 'http://127.0.0.1:34013/broken/repo.git/': The requested URL returned error: 500",
      ),
    ).toBe('SourceUnavailable');
    expect(
      reason(
        "fatal: unable to access 'https://git403.example.com/team-401/a.git/': The requested URL returned error: 500",
      ),
    ).toBe('SourceUnavailable');
    expect(reason('fatal: unable to access https://h:4013/x/: The requested URL returned error: 502')).toBe(
      'SourceUnavailable',
    );
    // And a path that reads like another failure does not choose it.
    expect(reason("fatal: couldn't find remote ref refs/heads/x in 'https://h/not found/timeout.git'")).toBe(
      'RevisionNotFound',
    );
    expect(
      reason("fatal: unable to access 'https://h:34013/a.git/': The requested URL returned error: 403"),
    ).toBe('AuthenticationFailed');
  });

  it('keeps a failure that is only server text recognisable', () => {
    expect(classifyGitError(new Error('remote: go away')).message).toBe(
      "git failed (the server's message, 1 line(s), is not shown)",
    );
  });
});
