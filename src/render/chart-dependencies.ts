import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REASON } from '../api/conditions.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';

/** A dependency a chart declares (Chart.yaml), at the version its Chart.lock pins when there is one. */
export interface ChartDependency {
  name: string;
  /** The exact version from Chart.lock, else the range from Chart.yaml. */
  version: string;
  repository: string;
}

interface Declared {
  name?: unknown;
  version?: unknown;
  repository?: unknown;
}

async function readYaml(path: string): Promise<Record<string, unknown> | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const v = parse(text, { maxAliasCount: 100 });
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch (err) {
    throw new ReconcileError(
      REASON.BuildFailed,
      `${path.split('/').slice(-2).join('/')}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
    );
  }
}

const list = (v: unknown): Declared[] =>
  Array.isArray(v) ? v.filter((d) => d && typeof d === 'object') : [];

/**
 * The dependencies of the chart in `dir` that its charts/ directory lacks (neither a directory of
 * that name nor a `<name>-<version>.tgz`), with the versions Chart.lock pins. A dependency from a
 * `file://` repository must be vendored: it is reported as an error, never read from outside.
 */
export async function missingDependencies(dir: string): Promise<ChartDependency[]> {
  const chart = await readYaml(join(dir, 'Chart.yaml'));
  const declared = list(chart?.dependencies);
  if (declared.length === 0) return [];
  const lock = await readYaml(join(dir, 'Chart.lock'));
  const locked = new Map(list(lock?.dependencies).map((d) => [String(d.name), String(d.version)]));
  const present = new Set(await readdir(join(dir, 'charts')).catch(() => [] as string[]));
  const missing: ChartDependency[] = [];
  for (const d of declared) {
    const name = typeof d.name === 'string' ? d.name : '';
    const repository = typeof d.repository === 'string' ? d.repository : '';
    const version = locked.get(name) ?? (typeof d.version === 'string' ? d.version : '*');
    if (!name) throw new ReconcileError(REASON.BuildFailed, 'Chart.yaml has a dependency without a name');
    if (
      present.has(name) ||
      [...present].some(
        (f) => f === `${name}-${version}.tgz` || (f.startsWith(`${name}-`) && f.endsWith('.tgz')),
      )
    )
      continue;
    if (repository === '' || repository.startsWith('file://'))
      throw new ReconcileError(
        REASON.BuildFailed,
        `the dependency ${name} (${repository || 'no repository'}) is not in charts/; vendor it (helm dependency build)`,
      );
    if (!/^(https?|oci):\/\//.test(repository))
      throw new ReconcileError(
        REASON.BuildFailed,
        `the dependency ${name} names the repository ${JSON.stringify(repository)}; only https://, http:// and oci:// are fetched`,
      );
    missing.push({ name, version, repository });
  }
  return missing;
}

/**
 * The chart in `dir` with every dependency present: itself when nothing is missing; otherwise a
 * scratch copy under `workDir` whose charts/ gets each missing dependency, unpacked from what
 * `fetch` returns (a stored chart's directory). `cleanup` removes the copy.
 */
export async function withDependencies(
  dir: string,
  workDir: string,
  fetch: (dep: ChartDependency) => Promise<string>,
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const missing = await missingDependencies(dir);
  if (missing.length === 0) return { dir, cleanup: async () => {} };
  const scratch = await mkdtemp(join(workDir, 'chart-'));
  const copy = join(scratch, 'chart');
  try {
    await cp(dir, copy, { recursive: true, verbatimSymlinks: true });
    for (const dep of missing)
      await cp(await fetch(dep), join(copy, 'charts', dep.name), { recursive: true });
  } catch (err) {
    await rm(scratch, { recursive: true, force: true });
    throw err;
  }
  return { dir: copy, cleanup: () => rm(scratch, { recursive: true, force: true }) };
}
