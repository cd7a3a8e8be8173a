/**
 * The sum of one Prometheus metric's samples in a /metrics text, over the series whose labels contain
 * `labels` (a substring such as `operation="fetch",result="success"`; empty: every series).
 */
export function sumMetric(text: string, name: string, labels = ''): number {
  return text
    .split('\n')
    .filter((l) => (l.startsWith(`${name} `) || l.startsWith(`${name}{`)) && l.includes(labels))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

/** Scrapes `${base}/metrics` (Shoal's metrics address) and sums a metric as `sumMetric` does. */
export async function scrapeMetric(base: string, name: string, labels = ''): Promise<number> {
  return sumMetric(await (await fetch(`${base}/metrics`)).text(), name, labels);
}
