import { REASON, type Reason } from '../api/conditions.ts';
import { sanitizeMessage } from '../status/conditions.ts';

const RULES: { pattern: RegExp; reason: Reason }[] = [
  {
    pattern:
      /authentication failed|could not read username|permission denied \(publickey|\b40[13]\b|invalid credentials|host key verification failed/i,
    reason: REASON.AuthenticationFailed,
  },
  {
    pattern: /couldn't find remote ref|not our ref|no such ref|did not match any/i,
    reason: REASON.RevisionNotFound,
  },
  {
    pattern:
      /could not resolve host|connection refused|timed out|timeout|unable to access|not found|does not appear to be a git repository|no route to host|abort|block timeout/i,
    reason: REASON.SourceUnavailable,
  },
];

/** git's own lines; everything a server sends is prefixed `remote:` (or is not git's at all). */
const SERVER_TEXT = /^(remote:|error: remote|fatal: remote error:)/i;

/**
 * Maps a git failure to a condition reason and a secret-free, one-line message. Only git's own
 * lines count and are kept: text the server sent (`remote: ...`, which a hostile or misconfigured
 * host controls, and which would make status and events an oracle for whatever it answers) is
 * dropped, and only its size is said. Pure.
 */
export function classifyGitError(err: unknown): { reason: Reason; message: string } {
  const raw = err instanceof Error ? err.message : String(err);
  const lines = raw
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('hint:'));
  const own = lines.filter((l) => !SERVER_TEXT.test(l));
  const dropped = lines.length - own.length;
  const text = own.join('\n');
  // The reason comes from git's words, not from the URLs and names it quotes (a quote opens after a
  // space, so "couldn't" is not one): a port, a host or a path may hold "403", "timeout" or "not
  // found" whatever the failure was.
  const words = text.replace(/(^|[\s(])'[^'\n]*'/g, "$1''").replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>');
  const reason = RULES.find((r) => r.pattern.test(words))?.reason ?? REASON.FetchFailed;
  const shown = own.slice(0, 3).join('; ') || 'git failed';
  const note = dropped > 0 ? ` (the server's message, ${dropped} line(s), is not shown)` : '';
  return { reason, message: sanitizeMessage(`${shown}${note}`) };
}
