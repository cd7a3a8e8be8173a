import { describe, expect, it } from 'vitest';
import { RenderCache } from '../../../src/render/render-cache.ts';

describe('RenderCache', () => {
  it('loads once per key and evicts the least recently used', async () => {
    const cache = new RenderCache(2);
    let loads = 0;
    const load = async () => {
      loads++;
      return [];
    };
    const a = RenderCache.key('sha256:a', 'apps', []);
    const b = RenderCache.key('sha256:b', 'apps', []);
    const c = RenderCache.key('sha256:a', 'apps', [{ target: {}, patch: [] }]);
    await cache.get(a, load);
    await cache.get(a, load);
    expect(loads).toBe(1);
    await cache.get(b, load);
    await cache.get(a, load);
    await cache.get(c, load);
    expect(cache.size).toBe(2);
    await cache.get(a, load);
    expect(loads).toBe(3);
    await cache.get(b, load);
    expect(loads).toBe(4);
  });
});
