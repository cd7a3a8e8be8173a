import { describe, expect, it } from 'vitest';
import { ManifestParser } from '../../../src/render/parse-in-worker.ts';
import { parseManifests } from '../../../src/render/parse-manifests.ts';

const many = (n: number) =>
  Array.from(
    { length: n },
    (_, i) => `---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm${i}}\ndata: {v: "${i}"}\n`,
  ).join('');

describe('ManifestParser (a worker thread)', () => {
  const parser = new ManifestParser();
  const parseInWorker = (
    files: { path: string; content: string }[],
    budget?: undefined,
    limits?: { timeoutMs: number; maxOldGenerationSizeMb: number },
  ) => (limits ? new ManifestParser(limits).parse(files, budget) : parser.parse(files, budget));
  it('gives the same objects as the pure parser', async () => {
    const files = [{ path: 'a.yaml', content: many(20) }];
    expect(await parseInWorker(files)).toEqual(parseManifests(files));
  });

  it('carries the reason and the file name of a failure back', async () => {
    await expect(parseInWorker([{ path: 'bad.yaml', content: 'a: [1\nb: 2' }])).rejects.toMatchObject({
      reason: 'ParseFailed',
      message: expect.stringMatching(/^bad\.yaml:\d+/),
    });
  });

  it('abandons a parse past its deadline, and the event loop keeps turning meanwhile', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    await expect(
      parseInWorker([{ path: 'big.yaml', content: many(20_000) }], undefined, {
        timeoutMs: 50,
        maxOldGenerationSizeMb: 256,
      }),
    ).rejects.toMatchObject({ reason: 'ParseFailed', message: 'parsing took longer than 0.05s; abandoned' });
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(3);
  });

  it('keeps one worker between parses, and replaces it after an abandoned one', async () => {
    const slow = new ManifestParser({ timeoutMs: 400, maxOldGenerationSizeMb: 256 });
    await expect(slow.parse([{ path: 'big.yaml', content: many(20_000) }])).rejects.toMatchObject({
      reason: 'ParseFailed',
    });
    expect(await slow.parse([{ path: 'a.yaml', content: many(1) }])).toHaveLength(1);
    await slow.close();
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) await parser.parse([{ path: 'a.yaml', content: many(5) }]);
    // Twenty parses on a warm worker cost what one cold start does: a bound far above the measurement.
    expect(performance.now() - t0).toBeLessThan(2_000);
    await parser.close();
  });
});
