import { readdir, readFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';

/** The built page and its content-hashed files, held in memory (a few hundred KB). */
export interface Assets {
  index: Buffer;
  files: Map<string, { type: string; body: Buffer }>;
}

/** Where `npm run build:dashboard` (and `npm ci`, through `prepare`) writes the bundle. */
export const ASSETS_DIR = resolve(import.meta.dirname, '..', '..', 'dist', 'dashboard');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

/** Reads the bundle; a clear error when it was never built. */
export async function loadAssets(dir = ASSETS_DIR): Promise<Assets> {
  const index = await readFile(join(dir, 'index.html')).catch(() => {
    throw new Error(`the dashboard is not built (${dir}/index.html is missing): run npm run build:dashboard`);
  });
  const files = new Map<string, { type: string; body: Buffer }>();
  for (const name of await readdir(join(dir, 'assets'))) {
    files.set(name, {
      type: TYPES[extname(name)] ?? 'application/octet-stream',
      body: await readFile(join(dir, 'assets', name)),
    });
  }
  return { index, files };
}
