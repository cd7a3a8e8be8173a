import { REASON, type Reason } from '../api/conditions.ts';
import { sanitizeMessage } from '../status/conditions.ts';

const RULES: { pattern: RegExp; reason: Reason }[] = [
  {
    pattern:
      /authentication failed|could not read username|permission denied \(publickey|401|403|invalid credentials|host key verification failed/i,
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

/** Maps a git failure to a condition reason and a secret-free, one-line message. Pure. */
export function classifyGitError(err: unknown): { reason: Reason; message: string } {
  const raw = err instanceof Error ? err.message : String(err);
  const reason = RULES.find((r) => r.pattern.test(raw))?.reason ?? REASON.FetchFailed;
  const firstLines = raw
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('hint:'))
    .slice(0, 3)
    .join('; ');
  return { reason, message: sanitizeMessage(firstLines) };
}
