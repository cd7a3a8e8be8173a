import { describe, expect, it } from 'vitest';
import { parseInWorker } from '../../../src/render/parse-in-worker.ts';
import { parseManifests } from '../../../src/render/parse-manifests.ts';

const many = (n: number) =>
  Array.from(
    { length: n },
    (_, i) => `---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm${i}}\ndata: {v: "${i}"}\n`,
  ).join('');

describe('parseInWorker', () => {
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
});
