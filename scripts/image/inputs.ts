import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { cachedLayer, type Layer, layerFromDir } from './layer.ts';

const run = promisify(execFile);

async function fileDigest(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

const keyOf = (...parts: string[]) =>
  createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16);

/** A scratch directory for one layer's tree; removed after `fill` and the tar are done. */
async function staged(name: string, fill: (dir: string) => Promise<void>, cacheDir: string): Promise<Layer> {
  const dir = await mkdtemp(join(tmpdir(), `shoal-image-${name}-`));
  try {
    await fill(dir);
    return await layerFromDir(name, dir, cacheDir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function copyInto(dir: string, target: string, from: string): Promise<void> {
  await mkdir(dirname(join(dir, target)), { recursive: true });
  await copyFile(from, join(dir, target));
}

/** The Node.js that runs npm scripts here (Node 24 from the `node` dev dependency) as /usr/local/bin/node. */
export async function nodeLayer(cacheDir: string, noCache: boolean) {
  const major = Number(process.versions.node.split('.')[0]);
  if (major !== 24) throw new Error(`the image needs Node 24; this is Node ${process.versions.node}`);
  const node = process.execPath;
  return cachedLayer(
    'node',
    keyOf(await fileDigest(node)),
    cacheDir,
    () => staged('node', (dir) => copyInto(dir, 'usr/local/bin/node', node), cacheDir),
    noCache,
  );
}

/** The pinned kustomize and Helm, built (or reused) by tools/build-*.sh, in /usr/local/bin. */
export async function toolsLayer(root: string, cacheDir: string, noCache: boolean, log: (s: string) => void) {
  const built = async (script: string) => {
    log(`[image] ${script}`);
    const { stdout } = await run('bash', [join(root, 'tools', script)], { maxBuffer: 16 * 1024 * 1024 });
    return stdout.trim().split('\n').at(-1) as string;
  };
  const kustomize = await built('build-kustomize.sh');
  const helm = await built('build-helm.sh');
  return cachedLayer(
    'tools',
    keyOf(await fileDigest(kustomize), await fileDigest(helm)),
    cacheDir,
    () =>
      staged(
        'tools',
        async (dir) => {
          await copyInto(dir, 'usr/local/bin/kustomize', kustomize);
          await copyInto(dir, 'usr/local/bin/helm', helm);
        },
        cacheDir,
      ),
    noCache,
  );
}

/**
 * What the app layer holds: the package file, the licence, and the built bundles (not tracked): the
 * operator with its dependencies (scripts/build-operator.ts) and the dashboard. No sources, no
 * node_modules: the bundle is the whole program.
 */
async function appFiles(root: string): Promise<string[]> {
  const walk = async (dir: string): Promise<string[]> =>
    (
      await Promise.all(
        (
          await readdir(join(root, dir), { withFileTypes: true })
        ).map((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)])),
      )
    ).flat();
  const files = ['package.json', 'LICENSE'];
  for (const dir of [join('dist', 'operator'), join('dist', 'dashboard')]) files.push(...(await walk(dir)));
  const present = await Promise.all(
    files.map((f) =>
      readFile(join(root, f)).then(
        () => f,
        () => undefined,
      ),
    ),
  );
  return present.filter((f): f is string => f !== undefined && !f.endsWith('inputs.sha256')).sort();
}

/** The operator itself in /app, and the mount points of its writable volumes. */
export async function appLayer(root: string, cacheDir: string, noCache: boolean) {
  const files = await appFiles(root);
  const digests = await Promise.all(files.map(async (f) => `${f} ${await fileDigest(join(root, f))}`));
  return cachedLayer(
    'app',
    keyOf(...digests),
    cacheDir,
    () =>
      staged(
        'app',
        async (dir) => {
          for (const f of files) await copyInto(dir, join('app', f), join(root, f));
          await mkdir(join(dir, 'var', 'cache', 'shoal'), { recursive: true });
        },
        cacheDir,
      ),
    noCache,
  );
}
