import { describe, expect, it } from 'vitest';
import { formatMilli, parseMilli } from '../../../src/api/quantity.ts';
import { observePods, type PodJson, podRequests } from '../../../src/autoscale/readings.ts';
import { redactUrl } from '../../../src/metrics/prometheus.ts';

describe('quantities in milli-units (Quantity.MilliValue)', () => {
  it.each<[string | number, number]>([
    ['250m', 250],
    ['2', 2000],
    ['1.5', 1500],
    ['0.1', 100],
    [1.1, 1100],
    ['123456789n', 124],
    ['1u', 1],
    ['1k', 1_000_000],
    ['64Mi', 64 * 2 ** 20 * 1000],
    ['1Ki', 1_024_000],
    ['1e3', 1_000_000],
    ['2E-3', 2],
    ['-500m', -500],
  ])('%s → %d', (q, milli) => {
    expect(parseMilli(q)).toBe(milli);
  });

  it('refuses what is not a quantity', () => {
    for (const bad of ['', 'abc', '1.2.3', '5 Gi', '1Kb', 'NaN'])
      expect(() => parseMilli(bad), bad).toThrow(/not a quantity/);
    expect(() => parseMilli(Number.NaN)).toThrow();
  });

  it('formats whole units plainly and the rest with m', () => {
    expect([formatMilli(2000), formatMilli(250), formatMilli(1500.2)]).toEqual(['2', '250m', '1501m']);
  });
});

const pod = (over: Partial<PodJson> = {}): PodJson => ({
  metadata: { name: 'web-0' },
  spec: {
    containers: [
      { name: 'app', resources: { requests: { cpu: '250m', memory: '64Mi' } } },
      { name: 'log', resources: { requests: { cpu: '50m' } } },
    ],
  },
  status: {
    phase: 'Running',
    startTime: '2026-01-01T00:00:00Z',
    conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:05Z' }],
  },
  ...over,
});

describe('pods and their metrics as the engine sees them', () => {
  it('sums container requests, sidecar init containers included; a resource one lacks is missing', () => {
    expect(podRequests(pod())).toEqual({ cpu: 300 });
    const withSidecar = pod({
      spec: {
        containers: [{ name: 'app', resources: { requests: { cpu: '1' } } }],
        initContainers: [
          { name: 'proxy', restartPolicy: 'Always', resources: { requests: { cpu: '100m' } } },
          { name: 'migrate', resources: { requests: { cpu: '4' } } },
        ],
      },
    });
    expect(podRequests(withSidecar)).toEqual({ cpu: 1100 });
  });

  it('takes usage from PodMetrics: summed over containers, missing when any container lacks it', () => {
    const [o] = observePods(
      [pod()],
      [
        {
          metadata: { name: 'web-0' },
          timestamp: '2026-01-01T00:01:00Z',
          window: '10.5s',
          containers: [
            { name: 'app', usage: { cpu: '200000000n', memory: '100Mi' } },
            { name: 'log', usage: { cpu: '5m' } },
          ],
        },
      ],
    );
    expect(o).toMatchObject({
      name: 'web-0',
      phase: 'Running',
      usage: { cpu: 205 },
      usageWindowMs: 10_500,
      ready: { status: true, lastTransitionTime: new Date('2026-01-01T00:00:05Z') },
    });
    expect(o?.usage?.memory).toBeUndefined();
    const [none] = observePods(
      [pod({ metadata: { name: 'web-0', deletionTimestamp: '2026-01-01T00:02:00Z' } })],
      [],
    );
    expect(none).toMatchObject({ deleting: true });
    expect(none?.usage).toBeUndefined();
  });

  it('never shows credentials of a Prometheus address', () => {
    expect(redactUrl('https://user:pa55@prom.example:9090/')).toBe('https://prom.example:9090');
  });
});
