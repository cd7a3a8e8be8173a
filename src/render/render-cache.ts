import type { RenderedObject } from './parse-manifests.ts';

/**
 * Parsed and patched manifests by (tree digest, path, patches): a re-sync of an unchanged revision
 * reads and parses nothing. Least recently used entries go first. Callers must not mutate entries.
 */
export class RenderCache {
  readonly #max: number;
  readonly #entries = new Map<string, readonly RenderedObject[]>();

  constructor(maxEntries = 128) {
    this.#max = maxEntries;
  }

  static key(digest: string, path: string, patches: unknown): string {
    return `${digest}\n${path}\n${JSON.stringify(patches ?? [])}`;
  }

  async get(key: string, load: () => Promise<RenderedObject[]>): Promise<readonly RenderedObject[]> {
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit;
    }
    const value = await load();
    this.#entries.set(key, value);
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value as string);
    return value;
  }

  get size(): number {
    return this.#entries.size;
  }
}
