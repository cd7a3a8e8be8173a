import { execFile } from 'node:child_process';
import { readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parse } from 'yaml';
import { REASON } from '../api/conditions.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import { sanitizeMessage } from '../status/conditions.ts';
import type { ManifestFile } from './manifest-file.ts';

export interface KustomizeOptions {
  /** The kustomize binary; undefined looks for `kustomize` on PATH. */
  binary: string | undefined;
  /** Remote bases (URLs in resources) are refused unless the operator allows them. */
  allowRemoteBases: boolean;
  timeoutMs: number;
  /** The rendered YAML may not be larger than this. */
  maxOutputBytes: number;
  /** Environment of the kustomize process (PATH only; HOME points at a temporary directory). */
  env: Record<string, string>;
}

export const DEFAULT_KUSTOMIZE_OPTIONS: KustomizeOptions = {
  binary: undefined,
  allowRemoteBases: false,
  timeoutMs: 60_000,
  maxOutputBytes: 64 * 1024 * 1024,
  env: {},
};

export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

const inside = (root: string, p: string) => p === root || p.startsWith(root + sep);
const REMOTE =
  /^(https?:\/\/|ssh:\/\/|git@|git::|github\.com\/|gitlab\.com\/|bitbucket\.org\/)|\?ref=|\/\/[^/]*$/;

/** The kustomization file in `dir`, if there is one. */
export async function kustomizationIn(dir: string): Promise<string | undefined> {
  for (const name of KUSTOMIZATION_FILES) {
    const p = join(dir, name);
    if (
      await stat(p).then(
        (s) => s.isFile(),
        () => false,
      )
    )
      return p;
  }
  return undefined;
}

/** Every local path or URL a kustomization refers to (resources, bases, patches, generators...). Pure. */
export function kustomizationReferences(k: Record<string, unknown>): string[] {
  const refs: string[] = [];
  const strings = (v: unknown) =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  for (const field of [
    'resources',
    'bases',
    'components',
    'crds',
    'transformers',
    'generators',
    'validators',
    'configurations',
  ]) {
    refs.push(...strings(k[field]));
  }
  // patchesStrategicMerge entries are file paths or inline patches; only single-line ones are paths.
  refs.push(...strings(k.patchesStrategicMerge).filter((s) => !s.includes('\n')));
  for (const field of ['patches', 'patchesJson6902', 'replacements']) {
    for (const p of Array.isArray(k[field]) ? (k[field] as Record<string, unknown>[]) : []) {
      if (p && typeof p.path === 'string') refs.push(p.path);
    }
  }
  for (const field of ['configMapGenerator', 'secretGenerator']) {
    for (const g of Array.isArray(k[field]) ? (k[field] as Record<string, unknown>[]) : []) {
      for (const f of [
        ...strings(g?.files),
        ...strings(g?.envs),
        ...(typeof g?.env === 'string' ? [g.env] : []),
      ]) {
        // "key=path" names the key; the path is after the first "=".
        refs.push(f.includes('=') ? f.slice(f.indexOf('=') + 1) : f);
      }
    }
  }
  const openapi = k.openapi as { path?: unknown } | undefined;
  if (typeof openapi?.path === 'string') refs.push(openapi.path);
  return refs;
}

/**
 * Checks the kustomization in `startDir` and every kustomization it reaches, before kustomize reads
 * any of it: every local reference must resolve (symlinks included) inside the repository `root` —
 * kustomize's own root-only restriction still lets a base directory live anywhere — and remote bases
 * are refused unless allowed. Kustomizations elsewhere in the repository play no part.
 */
export async function guardKustomizations(
  root: string,
  startDir: string,
  allowRemoteBases: boolean,
): Promise<void> {
  const realRoot = await realpath(root);
  const seen = new Set<string>();
  const queue = [await realpath(startDir)];
  while (queue.length > 0) {
    const dir = queue.shift() as string;
    if (seen.has(dir)) continue;
    seen.add(dir);
    const file = await kustomizationIn(dir);
    if (!file) continue;
    const rel = relative(realRoot, file);
    let k: unknown;
    try {
      k = parse(await readFile(file, 'utf8'), { maxAliasCount: 100 });
    } catch (err) {
      throw new ReconcileError(
        REASON.BuildFailed,
        `${rel}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
      );
    }
    if (k === null || typeof k !== 'object') continue;
    for (const ref of kustomizationReferences(k as Record<string, unknown>)) {
      if (REMOTE.test(ref)) {
        if (allowRemoteBases) continue;
        throw new ReconcileError(
          REASON.RemoteRefsDisabled,
          `${rel} refers to the remote base ${sanitizeMessage(ref)}; remote bases are off (operator flag --allow-remote-bases)`,
        );
      }
      const target = isAbsolute(ref) ? ref : resolve(dir, ref);
      const real = await realpath(target).catch(() => target);
      if (!inside(realRoot, target) || !inside(realRoot, real)) {
        throw new ReconcileError(
          REASON.SecurityViolation,
          `${rel} refers to ${ref}, which is not in the repository; refused`,
        );
      }
      if (
        await stat(real).then(
          (st) => st.isDirectory(),
          () => false,
        )
      )
        queue.push(real);
    }
  }
}

/**
 * Builds the kustomization in `path` of the checked-out `root` with the real kustomize, after
 * `guardKustomizations`: root-only loading, no shell, a timeout, a cap on the output, and a clear
 * error when the binary is missing. Returns the rendered YAML as one manifest file.
 */
export async function kustomizeBuild(
  root: string,
  path: string,
  opts: KustomizeOptions,
  home: string,
): Promise<ManifestFile> {
  const dir = resolve(root, path);
  await guardKustomizations(root, dir, opts.allowRemoteBases);
  const binary = opts.binary ?? 'kustomize';
  const stdout = await new Promise<string>((done, fail) => {
    execFile(
      binary,
      ['build', '--load-restrictor=LoadRestrictionsRootOnly', dir],
      {
        cwd: root,
        env: { ...opts.env, HOME: home },
        timeout: opts.timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: opts.maxOutputBytes,
      },
      (err, out, errOut) => {
        if (!err) {
          done(out);
          return;
        }
        const e = err as NodeJS.ErrnoException & { killed?: boolean };
        if (e.code === 'ENOENT') {
          fail(
            new ReconcileError(
              REASON.BuildFailed,
              `kustomize was not found (${binary}); install it or pass --kustomize-path`,
            ),
          );
        } else if (e.killed) {
          fail(
            new ReconcileError(
              REASON.BuildFailed,
              `kustomize build of ${path} took longer than ${opts.timeoutMs / 1000}s or wrote more than ${opts.maxOutputBytes} bytes`,
            ),
          );
        } else {
          const why = String(errOut || e.message)
            .trim()
            .split('\n')
            .filter((l) => l.trim() !== '')
            .slice(-3)
            .join('; ');
          fail(
            new ReconcileError(
              REASON.BuildFailed,
              `kustomize build ${path}: ${sanitizeMessage(why.replaceAll(root, '<repo>'))}`,
            ),
          );
        }
      },
    );
  });
  return { path: `kustomize build ${path}`, content: stdout };
}
