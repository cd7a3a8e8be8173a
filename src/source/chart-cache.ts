import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type ChartLimits, chartRoot, DEFAULT_CHART_LIMITS, readChartArchive } from './chart-archive.ts';

/** A chart as stored: the archive's digest and the directory of the unpacked chart. */
export interface StoredChart {
  /** `sha256:<hex>` of the archive. */
  digest: string;
  /** The chart's own directory (the one holding Chart.yaml). */
  dir: string;
}

/**
 * Unpacked chart archives, content-addressed by the archive's sha256: a chart version fetched once
 * serves every ChartSource and AppGroup that names it, and survives restarts. Unpacking goes
 * through readChartArchive's checks, into a temporary directory renamed into place.
 */
export class ChartCache {
  readonly #root: string;
  readonly #limits: ChartLimits;

  constructor(root: string, limits: ChartLimits = DEFAULT_CHART_LIMITS) {
    this.#root = join(root, 'charts');
    this.#limits = limits;
  }

  #base(digest: string): string {
    return join(this.#root, digest.replace(/^sha256:/, ''));
  }

  /** The stored chart of `digest`, marking it used; undefined when it is not stored. */
  async get(digest: string): Promise<StoredChart | undefined> {
    const base = this.#base(digest);
    const entries = await readdir(base).catch(() => undefined);
    const top = entries?.find((e) => !e.startsWith('.'));
    if (!top) return undefined;
    const now = new Date();
    await utimes(base, now, now).catch(() => {});
    return { digest, dir: join(base, top) };
  }

  /** Checks and unpacks an archive (once per digest). */
  async store(archive: Buffer): Promise<StoredChart> {
    const digest = `sha256:${createHash('sha256').update(archive).digest('hex')}`;
    const known = await this.get(digest);
    if (known) return known;
    const files = readChartArchive(archive, this.#limits);
    const top = chartRoot(files);
    const base = this.#base(digest);
    const tmp = `${base}.tmp-${randomBytes(4).toString('hex')}`;
    try {
      for (const [path, data] of files) {
        const target = join(tmp, path);
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, data, { mode: 0o644 });
      }
      await mkdir(this.#root, { recursive: true });
      await rename(tmp, base).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
      });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    return { digest, dir: join(base, top) };
  }

  /** Removes charts no source references and nobody used for `graceMs`. */
  async collectGarbage(keep: ReadonlySet<string>, graceMs: number, nowMs: number): Promise<number> {
    const kept = new Set([...keep].map((d) => d.replace(/^sha256:/, '')));
    let removed = 0;
    for (const name of await readdir(this.#root).catch(() => [] as string[])) {
      if (kept.has(name)) continue;
      const info = await stat(join(this.#root, name)).catch(() => undefined);
      if (!info || info.mtimeMs > nowMs - graceMs) continue;
      await rm(join(this.#root, name), { recursive: true, force: true });
      removed++;
    }
    return removed;
  }
}
