import { waitFor } from './wait.ts';

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

/** How many times Shoal (at `base`) ran an AppGroup's apply step, ones that found it unchanged too. */
export function applySteps(base: string): Promise<number> {
  return scrapeMetric(base, 'shoal_reconcile_step_duration_seconds_count', 'kind="AppGroup",step="apply"');
}

/** Waits until Shoal (at `base`) has run an AppGroup's apply step. */
export async function waitForApplyStep(base: string): Promise<void> {
  await waitFor('the apply step of a group', async () => (await applySteps(base)) >= 1);
}
