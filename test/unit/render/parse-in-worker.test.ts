import { describe, expect, it } from 'vitest';
import { ManifestParser } from '../../../src/render/parse-in-worker.ts';
import { parseManifests } from '../../../src/render/parse-manifests.ts';
import { FakeClock } from '../../../src/runtime/clock.ts';

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

  it('keeps a worker between parses, and replaces one after an abandoned parse', async () => {
    const slow = new ManifestParser({ timeoutMs: 400, maxOldGenerationSizeMb: 256, workers: 1 });
    await expect(slow.parse([{ path: 'big.yaml', content: many(20_000) }])).rejects.toMatchObject({
      reason: 'ParseFailed',
    });
    expect(slow.workers).toBe(0);
    expect(await slow.parse([{ path: 'a.yaml', content: many(1) }])).toHaveLength(1);
    for (let i = 0; i < 20; i++) await slow.parse([{ path: 'a.yaml', content: many(5) }]);
    expect(slow.workers).toBe(1);
    await slow.close();
    await parser.close();
  });

  // The slow file takes ~4.5 s alone, past the unit tests' 5 s on a loaded machine: the test's 60 s
  // are a bound on a hang, not a time it measures.
  it('parses side by side: a slow file does not hold up a quick one', async () => {
    const pool = new ManifestParser({ timeoutMs: 30_000, workers: 2 });
    let slowDone = false;
    const slow = pool.parse([{ path: 'big.yaml', content: many(20_000) }]).finally(() => {
      slowDone = true;
    });
    expect(await pool.parse([{ path: 'a.yaml', content: many(1) }])).toHaveLength(1);
    expect(slowDone).toBe(false);
    expect(pool.workers).toBe(2);
    expect(await slow).toHaveLength(20_000);
    await pool.close();
  }, 60_000);

  it('stops a worker that stayed idle, and starts one again for the next parse', async () => {
    const clock = new FakeClock();
    const pool = new ManifestParser({ idleMs: 30_000 }, clock);
    await pool.parse([{ path: 'a.yaml', content: many(1) }]);
    expect(pool.workers).toBe(1);
    clock.advance(29_000);
    expect(pool.workers).toBe(1);
    clock.advance(1_000);
    expect(pool.workers).toBe(0);
    expect(await pool.parse([{ path: 'a.yaml', content: many(2) }])).toHaveLength(2);
    await pool.close();
  });
});
