// Bundles the operator for the image: src/main.ts and the parse worker into dist/operator/, with
// their dependencies, by esbuild (already here for the dashboard). The sources still run directly
// in development (bin/shoal.js); the bundle is what is deployed, because a process that loads
// client-node's 900 generated files and Node's TypeScript stripper holds ~45 MiB more than one that
// loads a single file (the README's memory figures). Skips the build when the inputs are unchanged;
// --force builds anyway. `npm ci` runs it (prepare), as do the test setup and the image build.
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';
import { inputsDigest } from './inputs-digest.ts';

const root = resolve(import.meta.dirname, '..');
/** Two levels below the root, as src/<dir>/ is: paths the sources resolve from their own file hold. */
export const OPERATOR_DIR = join(root, 'dist', 'operator');
/** The bundled `shoal` command. */
export const OPERATOR_BUNDLE = join(OPERATOR_DIR, 'shoal.mjs');
const stamp = join(OPERATOR_DIR, 'inputs.sha256');

/** Files the bundle reads beside itself at run time (`new URL('./x', import.meta.url)` in src/). */
const BESIDE = ['src/source/git-group.sh'];

/** Builds unless up to date; returns whether it built. */
export async function buildOperator(force = false): Promise<boolean> {
  const digest = await inputsDigest(root, ['src'], ['package-lock.json', 'scripts/build-operator.ts']);
  if (!force && (await readFile(stamp, 'utf8').catch(() => '')) === digest) return false;
  // Built beside, then moved in: a process running the bundle (or a second build started by a
  // parallel test setup) never sees a half-written directory.
  await mkdir(dirname(OPERATOR_DIR), { recursive: true });
  const staging = await mkdtemp(`${OPERATOR_DIR}.building-`);
  await build({
    entryPoints: {
      shoal: join(root, 'src', 'main.ts'),
      'parse-worker': join(root, 'src', 'render', 'parse-worker-main.ts'),
    },
    outdir: staging,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    // Whitespace and syntax only: names stay as written, so stack traces and logs still read.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'linked',
    charset: 'ascii',
    // CommonJS dependencies call require(); an ES module has none of its own.
    banner: {
      js: "import { createRequire as __shoalRequire } from 'node:module'; const require = __shoalRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  for (const f of BESIDE) await copyFile(join(root, f), join(staging, f.split('/').at(-1) ?? f));
  await writeFile(join(staging, 'inputs.sha256'), digest);
  const old = `${staging}.old`;
  await rename(OPERATOR_DIR, old).catch(() => {});
  await rename(staging, OPERATOR_DIR).catch(async (err: NodeJS.ErrnoException) => {
    // Another build moved its own in first: the same inputs, so keep it.
    if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    await rm(staging, { recursive: true, force: true });
  });
  await rm(old, { recursive: true, force: true });
  return true;
}

if (import.meta.main) {
  const built = await buildOperator(process.argv.includes('--force'));
  process.stderr.write(built ? `operator bundled into ${OPERATOR_DIR}\n` : 'operator bundle up to date\n');
}
