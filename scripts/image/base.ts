import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cachedLayer, LAYER_EPOCH, type Layer, layerFromTar } from './layer.ts';

const run = promisify(execFile);

/** What the operator needs from a distribution: git and ssh for sources, CA certificates, an init. */
export const BASE_PACKAGES = ['ca-certificates', 'git', 'openssh-client', 'tini'];
export const BASE_SUITE = 'bookworm';

/**
 * Paths dpkg leaves out, as Debian's slim images do: documentation (but each package's copyright
 * file), manual pages, translations.
 */
const EXCLUDE = [
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/info/*',
  'path-exclude=/usr/share/locale/*',
  'path-include=/usr/share/locale/locale.alias',
  'path-exclude=/usr/share/lintian/*',
];

/**
 * Removed once everything is installed: apt's lists and caches, logs, and perl's libraries (perl
 * comes with git; git's C commands, all that Shoal runs, need none of it, but dpkg's maintainer
 * scripts do while the base is built).
 */
const REMOVE = [
  '/var/lib/apt/lists/*',
  '/var/cache/apt/*',
  '/var/log/*',
  '/usr/share/perl',
  '/usr/lib/x86_64-linux-gnu/perl',
];

/** The apt sources the base is built from: the machine's own (Debian's deb822 file). */
const SOURCES = '/etc/apt/sources.list.d/debian.sources';

/**
 * The Debian base layer, made by mmdebstrap with SOURCE_DATE_EPOCH (bit-for-bit reproducible for
 * one state of the mirror), without /dev entries (the runtime mounts /dev). Cached by a digest of
 * everything that goes in: suite, packages, excludes, the sources file and mmdebstrap's version.
 */
export async function baseLayer(cacheDir: string, noCache: boolean, log: (s: string) => void) {
  const mmdebstrap = (await run('mmdebstrap', ['--version'])).stdout.trim();
  const sources = await readFile(SOURCES, 'utf8');
  const key = createHash('sha256')
    .update(JSON.stringify({ BASE_SUITE, BASE_PACKAGES, EXCLUDE, REMOVE, sources, mmdebstrap, LAYER_EPOCH }))
    .digest('hex')
    .slice(0, 16);
  return cachedLayer(
    'base',
    key,
    cacheDir,
    async (): Promise<Layer> => {
      log(`[image] building the Debian ${BASE_SUITE} base with mmdebstrap (${BASE_PACKAGES.join(', ')})`);
      await mkdir(cacheDir, { recursive: true });
      const tar = join(cacheDir, `.base-${process.pid}.tar`);
      try {
        await run(
          'mmdebstrap',
          [
            '--variant=minbase',
            `--include=${BASE_PACKAGES.join(',')}`,
            '--skip=output/dev',
            '--aptopt=Acquire::Check-Valid-Until "false"',
            '--aptopt=Acquire::Check-Date "false"',
            ...EXCLUDE.map((e) => `--dpkgopt=${e}`),
            `--customize-hook=rm -rf ${REMOVE.map((p) => `"$1"${p}`).join(' ')}`,
            BASE_SUITE,
            tar,
            SOURCES,
          ],
          { env: { ...process.env, SOURCE_DATE_EPOCH: String(LAYER_EPOCH) }, maxBuffer: 64 * 1024 * 1024 },
        );
        return await layerFromTar('base', tar, cacheDir);
      } finally {
        await rm(tar, { force: true });
      }
    },
    noCache,
  );
}
