/** "12s ago", "5m ago", "3h ago", "2d ago". */
export function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 90) return `${s}s ago`;
  if (s < 5400) return `${Math.round(s / 60)}m ago`;
  if (s < 129600) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

export const ms = (n: number | undefined) =>
  n === undefined ? '—' : n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`;

export const seconds = (n: number | undefined) =>
  n === undefined ? '—' : n < 1 ? `${Math.round(n * 1000)} ms` : `${n.toFixed(2)} s`;

/** A CSS class for a state word: ready, failing, progressing, suspended, unknown. */
export const tone = (word: string | undefined) => {
  switch (word) {
    case 'Ready':
    case 'True':
    case 'Healthy':
    case 'Synced':
    case 'Current':
    case 'in-sync':
    case 'Succeeded':
      return 'ok';
    case 'Failing':
    case 'False':
    case 'Degraded':
    case 'Failed':
    case 'NotFound':
    case 'missing':
      return 'bad';
    case 'Suspended':
    case 'stale':
      return 'muted';
    default:
      return 'warn';
  }
};
