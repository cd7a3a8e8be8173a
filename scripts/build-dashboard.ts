// Builds the dashboard's front end (web/) with esbuild into dist/dashboard/: one JS and one CSS
// file named by their content hash, and index.html naming them. Skips the build when the inputs
// (web/, the lock file) are unchanged since the last one; --force builds anyway. `npm ci` runs it
// (prepare), and so do the test setup, the demo and the image build, so a fresh clone has it.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { build } from 'esbuild';
import { inputsDigest } from './inputs-digest.ts';

const root = resolve(import.meta.dirname, '..');
const out = join(root, 'dist', 'dashboard');
const stamp = join(out, 'inputs.sha256');

/** Builds unless up to date; returns whether it built. */
export async function buildDashboard(force = false): Promise<boolean> {
  const digest = await inputsDigest(
    root,
    ['web'],
    ['package-lock.json', 'scripts/build-dashboard.ts', 'src/dashboard/views.ts', 'src/dashboard/memory.ts'],
  );
  if (!force && (await readFile(stamp, 'utf8').catch(() => '')) === digest) return false;
  await rm(out, { recursive: true, force: true });
  const assets = join(out, 'assets');
  await mkdir(assets, { recursive: true });
  const result = await build({
    entryPoints: [join(root, 'web', 'src', 'main.tsx')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    entryNames: '[name].[hash]',
    outdir: assets,
    metafile: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
  const js = outputs.find((f) => f.endsWith('.js'));
  const css = outputs.find((f) => f.endsWith('.css'));
  if (!js || !css) throw new Error(`esbuild made ${outputs.join(', ')}; expected a .js and a .css`);
  await writeFile(
    join(out, 'index.html'),
    [
      '<!doctype html>',
      '<html lang="en">',
      '<head>',
      '<meta charset="utf-8">',
      '<meta name="viewport" content="width=device-width, initial-scale=1">',
      '<meta name="color-scheme" content="light dark">',
      '<title>Shoal</title>',
      `<link rel="stylesheet" href="assets/${css}">`,
      `<script type="module" src="assets/${js}"></script>`,
      '</head>',
      '<body><div id="app"></div></body>',
      '</html>',
      '',
    ].join('\n'),
  );
  await writeFile(stamp, digest);
  return true;
}

if (import.meta.main) {
  const built = await buildDashboard(process.argv.includes('--force'));
  process.stderr.write(built ? `dashboard built into ${out}\n` : 'dashboard up to date\n');
}
