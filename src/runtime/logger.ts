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
