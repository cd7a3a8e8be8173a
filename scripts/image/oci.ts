import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, link, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Layer } from './layer.ts';
import { REPRODUCIBLE_TAR } from './layer.ts';

const run = promisify(execFile);

export const MEDIA = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export interface ImageConfig {
  created: string;
  user: string;
  env: string[];
  entrypoint: string[];
  cmd: string[];
  workingDir: string;
  ports: number[];
  labels: Record<string, string>;
}

interface Blob {
  digest: string;
  size: number;
  bytes: Buffer;
}

const blob = (value: unknown): Blob => {
  const bytes = Buffer.from(JSON.stringify(value));
  return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length, bytes };
};

/** The image's config and manifest, as canonical JSON (keys in one order, no whitespace). Pure. */
export function imageDocuments(layers: readonly Layer[], c: ImageConfig): { config: Blob; manifest: Blob } {
  const config = blob({
    created: c.created,
    architecture: 'amd64',
    os: 'linux',
    config: {
      User: c.user,
      Env: c.env,
      Entrypoint: c.entrypoint,
      Cmd: c.cmd,
      WorkingDir: c.workingDir,
      ExposedPorts: Object.fromEntries(c.ports.map((p) => [`${p}/tcp`, {}])),
      Labels: c.labels,
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((l) => ({ created: c.created, created_by: `shoal image: ${l.name}` })),
  });
  const manifest = blob({
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: { mediaType: MEDIA.config, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: MEDIA.layer, digest: l.digest, size: l.size })),
    annotations: { 'org.opencontainers.image.created': c.created },
  });
  return { config, manifest };
}

/**
 * Writes an OCI image layout at `dir` (blobs hard-linked from the layer cache when they can be)
 * whose index names the image `tag`, and a tarball of it made reproducibly.
 */
export async function writeLayout(
  dir: string,
  tarball: string,
  tag: string,
  layers: readonly Layer[],
  docs: { config: Blob; manifest: Blob },
): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  for (const l of layers) {
    const to = join(blobs, l.digest.slice(7));
    await link(l.path, to).catch(() => copyFile(l.path, to));
  }
  for (const b of [docs.config, docs.manifest]) await writeFile(join(blobs, b.digest.slice(7)), b.bytes);
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [
      {
        mediaType: MEDIA.manifest,
        digest: docs.manifest.digest,
        size: docs.manifest.size,
        annotations: { 'org.opencontainers.image.ref.name': tag },
      },
    ],
  };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
  await run('tar', [...REPRODUCIBLE_TAR, '-C', dir, '-cf', tarball, '.']);
}

const loopback = (ref: string) => /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?\//.test(ref);

/**
 * Pushes the layout's `tag` to `ref` (host/name:tag) with skopeo, keeping every digest; plain HTTP
 * only for a registry on loopback. Returns the reference by digest.
 */
export async function push(dir: string, tag: string, ref: string, digest: string): Promise<string> {
  await run('skopeo', [
    'copy',
    '--quiet',
    '--preserve-digests',
    ...(loopback(ref) ? ['--dest-tls-verify=false'] : []),
    `oci:${dir}:${tag}`,
    `docker://${ref}`,
  ]);
  return `${ref.replace(/:[^:/]+$/, '')}@${digest}`;
}
