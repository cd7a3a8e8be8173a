import { describe, expect, it } from 'vitest';
import { type AppliedMemo, memoDigest } from '../../../src/apply/sync-memo.ts';
import { statusToWrite } from '../../../src/reconcile/app-group-status-writer.ts';

const memo = (entries: [string, string, string][]): AppliedMemo =>
  new Map(entries.map(([id, hash, resourceVersion]) => [id, { hash, resourceVersion }]));

describe('memoDigest (pure)', () => {
  const a = memo([
    ['ns_a__ConfigMap', 'h1', '101'],
    ['ns_b__ConfigMap', 'h2', '102'],
  ]);
  const digest = memoDigest(a, 'deployer');

  it('is one sha256 whatever order the objects came in', () => {
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(memoDigest(new Map([...a.entries()].reverse()), 'deployer')).toBe(digest);
  });

  it('changes with any object, its desired hash, its resourceVersion, or the ServiceAccount', () => {
    const others = [
      memoDigest(memo([['ns_a__ConfigMap', 'h1', '101']]), 'deployer'),
      memoDigest(
        memo([
          ['ns_a__ConfigMap', 'h9', '101'],
          ['ns_b__ConfigMap', 'h2', '102'],
        ]),
        'deployer',
      ),
      memoDigest(
        memo([
          ['ns_a__ConfigMap', 'h1', '101'],
          ['ns_b__ConfigMap', 'h2', '103'],
        ]),
        'deployer',
      ),
      memoDigest(a, ''),
    ];
    expect(new Set([digest, ...others]).size).toBe(5);
  });
});

describe('statusToWrite (pure)', () => {
  const previous = { lastAppliedRevision: 'main@sha1:1', appliedDigest: 'sha256:old' };

  it('keeps the old digest when the digest is all that changed: a moved digest alone writes nothing', () => {
    expect(statusToWrite(previous, { ...previous, appliedDigest: 'sha256:new' })).toEqual(previous);
  });

  it('carries the new digest with a write made for anything else', () => {
    const computed = { lastAppliedRevision: 'main@sha1:2', appliedDigest: 'sha256:new' };
    expect(statusToWrite(previous, computed)).toEqual(computed);
    expect(statusToWrite({}, { ...computed, appliedDigest: 'sha256:first' }).appliedDigest).toBe(
      'sha256:first',
    );
    // Nothing but a first digest: still no write of its own.
    expect(statusToWrite({}, { appliedDigest: 'sha256:first' }).appliedDigest).toBeUndefined();
  });
});
