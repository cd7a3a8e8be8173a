import { describe, expect, it } from 'vitest';
import {
  type AutoscalerState,
  defaultBehavior,
  normalizeLegacy,
  normalizeWithBehavior,
  scaleDownLimit,
  scaleUpLimit,
  storeScaleEvent,
} from '../../../src/autoscale/normalize.ts';

const now = new Date('2026-01-01T12:00:00Z');
const ago = (s: number) => new Date(now.getTime() - s * 1000);
const empty: AutoscalerState = { recommendations: [], scaleUpEvents: [], scaleDownEvents: [] };
const FIVE_MIN = 300_000;

describe('legacy normalisation (no behavior)', () => {
  it('caps a scale-up at max(2 x current, 4): ScaleUpLimit', () => {
    const r = normalizeLegacy(empty, {
      current: 3,
      desired: 10,
      min: 1,
      max: 20,
      now: now,
      downscaleWindowMs: FIVE_MIN,
    });
    expect([r.replicas, r.limited, r.able]).toEqual([6, 'ScaleUpLimit', 'ReadyForNewScale']);
    expect(
      normalizeLegacy(empty, {
        current: 1,
        desired: 10,
        min: 1,
        max: 20,
        now: now,
        downscaleWindowMs: FIVE_MIN,
      }).replicas,
    ).toBe(4);
  });

  it('a max below the rate cap is TooManyReplicas; a desired below min is TooFewReplicas', () => {
    expect(
      normalizeLegacy(empty, {
        current: 1,
        desired: 10,
        min: 1,
        max: 3,
        now: now,
        downscaleWindowMs: FIVE_MIN,
      }),
    ).toMatchObject({
      replicas: 3,
      limited: 'TooManyReplicas',
    });
    expect(
      normalizeLegacy(empty, {
        current: 5,
        desired: 1,
        min: 2,
        max: 10,
        now: now,
        downscaleWindowMs: FIVE_MIN,
      }),
    ).toMatchObject({
      replicas: 2,
      limited: 'TooFewReplicas',
    });
  });

  it('scales down no lower than the highest recommendation of the last 5 minutes, and records the raw one', () => {
    const state = {
      ...empty,
      recommendations: [
        { replicas: 5, time: ago(60) },
        { replicas: 9, time: ago(400) },
      ],
    };
    const r = normalizeLegacy(state, {
      current: 5,
      desired: 2,
      min: 1,
      max: 10,
      now: now,
      downscaleWindowMs: FIVE_MIN,
    });
    expect([r.replicas, r.able, r.limited]).toEqual([5, 'ScaleDownStabilized', 'DesiredWithinRange']);
    // The 400 s old slot is reused for the new, unstabilised recommendation.
    expect(r.state.recommendations).toEqual([
      { replicas: 5, time: ago(60) },
      { replicas: 2, time: now },
    ]);
  });
});

describe('behavior normalisation', () => {
  const behavior = defaultBehavior();

  it('defaults like the API server: up 0 s window, 4 pods or 100 % per 15 s; down 300 s, 100 % per 15 s', () => {
    expect(behavior.scaleUp).toEqual({
      stabilizationWindowSeconds: 0,
      selectPolicy: 'Max',
      policies: [
        { type: 'Pods', value: 4, periodSeconds: 15 },
        { type: 'Percent', value: 100, periodSeconds: 15 },
      ],
    });
    expect(behavior.scaleDown.stabilizationWindowSeconds).toBe(300);
    expect(
      defaultBehavior({ scaleDown: { stabilizationWindowSeconds: 60 } }).scaleDown.policies,
    ).toHaveLength(1);
  });

  it('scale-up takes the larger policy (Max): from 10, 4 pods -> 14, 100 % -> 20', () => {
    expect(scaleUpLimit(10, empty, behavior.scaleUp, now)).toBe(20);
    const r = normalizeWithBehavior(empty, behavior, {
      current: 10,
      desired: 30,
      min: 1,
      max: 100,
      now: now,
    });
    expect([r.replicas, r.limited]).toEqual([20, 'ScaleUpLimit']);
    const min = { ...behavior, scaleUp: { ...behavior.scaleUp, selectPolicy: 'Min' as const } };
    expect(
      normalizeWithBehavior(empty, min, { current: 10, desired: 30, min: 1, max: 100, now: now }).replicas,
    ).toBe(14);
  });

  it('counts the period from the replicas before recent scale events', () => {
    const state = { ...empty, scaleUpEvents: [{ change: 8, time: ago(5) }] };
    // 18 now, 10 at the start of the 15 s period: the limit is still 20.
    expect(scaleUpLimit(18, state, behavior.scaleUp, now)).toBe(20);
    expect(
      normalizeWithBehavior(state, behavior, { current: 18, desired: 40, min: 1, max: 100, now: now })
        .replicas,
    ).toBe(20);
  });

  it('scale-down percent truncates; Disabled freezes the direction', () => {
    const half = {
      stabilizationWindowSeconds: 0,
      selectPolicy: 'Max' as const,
      policies: [{ type: 'Percent' as const, value: 50, periodSeconds: 60 }],
    };
    expect(scaleDownLimit(9, empty, half, now)).toBe(4);
    const b = { ...behavior, scaleDown: half };
    expect(
      normalizeWithBehavior(empty, b, { current: 10, desired: 1, min: 1, max: 100, now: now }),
    ).toMatchObject({
      replicas: 5,
      limited: 'ScaleDownLimit',
    });
    const frozen = { ...behavior, scaleUp: { ...behavior.scaleUp, selectPolicy: 'Disabled' as const } };
    expect(
      normalizeWithBehavior(empty, frozen, { current: 10, desired: 30, min: 1, max: 100, now: now }).replicas,
    ).toBe(10);
  });

  it('stabilises both ways: down to the highest, up to the lowest recommendation in each window', () => {
    const b = defaultBehavior({ scaleUp: { stabilizationWindowSeconds: 60 } }, 300);
    const state = {
      ...empty,
      recommendations: [
        { replicas: 12, time: ago(30) },
        { replicas: 7, time: ago(120) },
      ],
    };
    // Wants 4: the down window (300 s) holds 12, so it stays at 10 (current), ScaleDownStabilized.
    expect(
      normalizeWithBehavior(state, b, { current: 10, desired: 4, min: 1, max: 100, now: now }),
    ).toMatchObject({
      replicas: 10,
      able: 'ScaleDownStabilized',
    });
    // Wants 20: the up window (60 s) holds 12, so it goes to 12 only, ScaleUpStabilized.
    expect(
      normalizeWithBehavior(state, b, { current: 10, desired: 20, min: 1, max: 100, now: now }),
    ).toMatchObject({
      replicas: 12,
      able: 'ScaleUpStabilized',
    });
  });

  it('stores scale events, reusing the slot of one older than the longest period', () => {
    const state = {
      ...empty,
      scaleUpEvents: [
        { change: 2, time: ago(100) },
        { change: 3, time: ago(5) },
      ],
    };
    const next = storeScaleEvent(state, behavior, 10, 14, now);
    expect(next.scaleUpEvents).toEqual([
      { change: 4, time: now, outdated: false },
      { change: 3, time: ago(5), outdated: false },
    ]);
    expect(storeScaleEvent(empty, behavior, 10, 6, now).scaleDownEvents).toEqual([
      { change: 4, time: now, outdated: false },
    ]);
  });
});
