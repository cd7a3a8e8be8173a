import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

/** One image layer: its gzip blob's digest and size, and the digest of the tar inside (the diff ID). */
export interface Layer {
  name: string;
  digest: string;
  size: number;
  diffId: string;
  /** Bytes of the uncompressed tar. */
  tarSize: number;
  /** Where the gzip blob is (in the layer cache). */
  path: string;
}

/** Every entry's mtime, in the layers Shoal makes (2026-01-01T00:00:00Z): no build time leaks in. */
export const LAYER_EPOCH = 1767225600;

/**
 * GNU tar's reproducible mode: entries sorted by name, one mtime, owner and group 0, no atime or
 * ctime, POSIX format, modes readable by everyone and writable only by the owner.
 */
export const REPRODUCIBLE_TAR = [
  '--sort=name',
  `--mtime=@${LAYER_EPOCH}`,
  '--owner=0',
  '--group=0',
  '--numeric-owner',
  '--format=posix',
  '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
  '--mode=a+rX,go-w',
];

const hashing = (hash: ReturnType<typeof createHash>, count: { n: number }) =>
  new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      count.n += chunk.length;
      done(null, chunk);
    },
  });

/**
 * Gzips a tar stream into `cacheDir` under its digest, hashing both sides on the way: Node's gzip
 * writes no name and no time, so the same tar always gives the same blob.
 */
async function storeTar(
  name: string,
  tar: NodeJS.ReadableStream,
  cacheDir: string,
): Promise<Omit<Layer, 'name'>> {
  await mkdir(cacheDir, { recursive: true });
  const tmp = join(cacheDir, `.tmp-${process.pid}-${name}`);
  const diff = createHash('sha256');
  const blob = createHash('sha256');
  const raw = { n: 0 };
  const gz = { n: 0 };
  await pipeline(
    tar,
    hashing(diff, raw),
    createGzip({ level: 6 }),
    hashing(blob, gz),
    createWriteStream(tmp),
  );
  const digest = `sha256:${blob.digest('hex')}`;
  const path = join(cacheDir, digest.slice(7));
  await rename(tmp, path);
  return { digest, size: gz.n, diffId: `sha256:${diff.digest('hex')}`, tarSize: raw.n, path };
}

/** A layer from a directory, with GNU tar in its reproducible mode. */
export async function layerFromDir(name: string, dir: string, cacheDir: string): Promise<Layer> {
  const tar = spawn('tar', [...REPRODUCIBLE_TAR, '-C', dir, '-cf', '-', '.'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve, reject) =>
    tar.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited ${code} for ${name}`)))),
  );
  const stored = await storeTar(name, tar.stdout, cacheDir);
  await exited;
  return { name, ...stored };
}

/** A layer from a tar file as it is (the Debian base that mmdebstrap made reproducibly). */
export async function layerFromTar(name: string, tarPath: string, cacheDir: string): Promise<Layer> {
  return { name, ...(await storeTar(name, createReadStream(tarPath), cacheDir)) };
}

/**
 * A layer cached by a key of its inputs: built once per key, then read back from the cache's
 * index (a warm build hashes its inputs and copies nothing).
 */
export async function cachedLayer(
  name: string,
  key: string,
  cacheDir: string,
  build: () => Promise<Layer>,
  noCache: boolean,
): Promise<Layer & { cached: boolean }> {
  const index = join(cacheDir, `layer-${name}-${key}.json`);
  if (!noCache) {
    const hit = await readFile(index, 'utf8').then(
      (t) => JSON.parse(t) as Layer,
      () => undefined,
    );
    if (
      hit &&
      (await access(hit.path).then(
        () => true,
        () => false,
      ))
    )
      return { ...hit, cached: true };
  }
  const layer = await build();
  await writeFile(index, JSON.stringify(layer));
  return { ...layer, cached: false };
}
