import { describe, expect, it } from 'vitest';
import { ReconcileError } from '../../../src/runtime/errors/reconcile-error.ts';
import { StalledError } from '../../../src/runtime/errors/stalled-error.ts';
import { sanitizeMessage, setCondition } from '../../../src/status/conditions.ts';
import { summarizeFailure, summarizeSuccess } from '../../../src/status/summarize.ts';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T00:05:00Z');

describe('setCondition', () => {
  const first = setCondition(
    [],
    { type: 'Ready', status: 'True', reason: 'Succeeded', message: 'ok' },
    1,
    t0,
  );

  it('keeps lastTransitionTime when nothing changed but the generation', () => {
    const again = setCondition(
      first,
      { type: 'Ready', status: 'True', reason: 'Succeeded', message: 'ok' },
      2,
      t1,
    );
    expect(again[0]).toMatchObject({ lastTransitionTime: t0.toISOString(), observedGeneration: 2 });
  });

  it.each([
    ['status', { status: 'False' as const, reason: 'Succeeded' as const, message: 'ok' }],
    ['reason', { status: 'True' as const, reason: 'Progressing' as const, message: 'ok' }],
    ['message', { status: 'True' as const, reason: 'Succeeded' as const, message: 'other' }],
  ])('moves lastTransitionTime when the %s changes', (_, change) => {
    const next = setCondition(first, { type: 'Ready', ...change }, 1, t1);
    expect(next[0]?.lastTransitionTime).toBe(t1.toISOString());
  });
});

describe('sanitizeMessage', () => {
  it('strips URL userinfo and bounds the length', () => {
    expect(sanitizeMessage('fatal: unable to access https://bob:s3cret@git.example.com/r.git/')).toBe(
      'fatal: unable to access https://git.example.com/r.git/',
    );
    expect(sanitizeMessage('x'.repeat(5000))).toHaveLength(1024);
  });
});

describe('summarize (kstatus)', () => {
  it('success: Ready=True and neither Reconciling nor Stalled', () => {
    const failing = summarizeFailure([], new ReconcileError('ApplyFailed', 'boom'), 1, t0);
    const ok = summarizeSuccess(failing, 'ReconciliationSucceeded', 'applied', 1, t1);
    expect(ok.map((c) => `${c.type}=${c.status}`)).toEqual(['Ready=True']);
  });

  it('retryable failure: Ready=False with the reason, Reconciling=True', () => {
    const c = summarizeFailure([], new ReconcileError('ApplyFailed', 'boom'), 1, t0);
    expect(c.map((x) => `${x.type}=${x.status}/${x.reason}`)).toEqual([
      'Ready=False/ApplyFailed',
      'Reconciling=True/Progressing',
    ]);
  });

  it('stalled failure: Ready=False and Stalled=True, no Reconciling', () => {
    const c = summarizeFailure([], new StalledError('UrlNotAllowed', 'no'), 1, t0);
    expect(c.map((x) => `${x.type}=${x.status}/${x.reason}`)).toEqual([
      'Ready=False/UrlNotAllowed',
      'Stalled=True/UrlNotAllowed',
    ]);
  });
});
