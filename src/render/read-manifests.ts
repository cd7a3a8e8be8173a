import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, relative, resolve, sep } from 'node:path';
import { REASON } from '../api/conditions.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import { StalledError } from '../runtime/errors/stalled-error.ts';
import {
  DEFAULT_READ_LIMITS,
  MANIFEST_EXTENSIONS,
  type ManifestFile,
  type ReadLimits,
} from './manifest-file.ts';

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root + sep);
}

/**
 * Reads every manifest file under `path` of the checked-out `root`, recursively, in a stable order.
 * Refuses a path outside the root (InvalidPath) or missing (PathNotFound), and symlinks that resolve
 * outside the root (SecurityViolation; never followed). Sizes are checked with stat before reading.
 * Dot-files and directories (.git, .github) are skipped. Only a spec error (InvalidPath) is Stalled: the
 * others depend on the revision, and a new commit may fix them.
 */
export async function readManifests(
  root: string,
  path: string,
  limits: ReadLimits = DEFAULT_READ_LIMITS,
): Promise<ManifestFile[]> {
  const realRoot = await realpath(root);
  const start = resolve(realRoot, path);
  if (!inside(realRoot, start))
    throw new StalledError(REASON.InvalidPath, `path "${path}" is outside the repository`);
  let startReal: string;
  try {
    startReal = await realpath(start);
  } catch {
    throw new ReconcileError(REASON.PathNotFound, `path "${path}" was not found in the revision`);
  }
  if (!inside(realRoot, startReal)) {
    throw new ReconcileError(REASON.SecurityViolation, `path "${path}" resolves outside the repository`);
  }
  if (!(await stat(startReal)).isDirectory()) {
    throw new ReconcileError(REASON.PathNotFound, `path "${path}" is not a directory`);
  }

  const files: { abs: string; rel: string; size: number }[] = [];
  let total = 0;
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(dir)).sort();
    for (const name of entries) {
      if (name.startsWith('.')) continue;
      const abs = join(dir, name);
      const rel = relative(startReal, abs);
      let info = await lstat(abs);
      if (info.isSymbolicLink()) {
        const target = await realpath(abs).catch(() => undefined);
        if (target === undefined || !inside(realRoot, target)) {
          throw new ReconcileError(
            REASON.SecurityViolation,
            `symlink ${rel} points outside the repository; refused`,
          );
        }
        info = await stat(target);
      }
      if (info.isDirectory()) {
        await walk(abs);
        continue;
      }
      if (!info.isFile() || !(MANIFEST_EXTENSIONS as readonly string[]).includes(extname(name).toLowerCase()))
        continue;
      if (info.size > limits.maxFileBytes) {
        throw new ReconcileError(
          REASON.LimitExceeded,
          `file ${rel} is ${info.size} bytes, over the ${limits.maxFileBytes}-byte limit per file`,
        );
      }
      total += info.size;
      if (total > limits.maxTotalBytes) {
        throw new ReconcileError(
          REASON.LimitExceeded,
          `manifests exceed the ${limits.maxTotalBytes}-byte total limit at ${rel}`,
        );
      }
      if (files.length >= limits.maxFiles) {
        throw new ReconcileError(
          REASON.LimitExceeded,
          `more than ${limits.maxFiles} manifest files (at ${rel})`,
        );
      }
      files.push({ abs, rel, size: info.size });
    }
  };
  await walk(startReal);
  return Promise.all(files.map(async (f) => ({ path: f.rel, content: await readFile(f.abs, 'utf8') })));
}
