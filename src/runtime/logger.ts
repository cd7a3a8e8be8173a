import { AsyncLocalStorage } from 'node:async_hooks';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Log = (line: Record<string, unknown> & { msg: string; level?: LogLevel }) => void;

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Structured JSON logs, one object per line, on `write` (stderr by default). */
export function jsonLogger(level: LogLevel, write: (s: string) => void, now: () => Date): Log {
  return (line) => {
    const l = line.level ?? 'info';
    if (RANK[l] < RANK[level]) return;
    write(`${JSON.stringify({ ts: now().toISOString(), ...line, level: l })}\n`);
  };
}

/** Fields of the reconcile running now (kind, key, reconcile id), for every log line it causes. */
export const logContext = new AsyncLocalStorage<Record<string, string>>();

/** Adds the current reconcile's fields (see `logContext`) to each line. */
export function withLogContext(log: Log): Log {
  return (line) => {
    const ctx = logContext.getStore();
    log(ctx ? { ...ctx, ...line } : line);
  };
}
