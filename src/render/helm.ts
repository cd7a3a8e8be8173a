import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readdir, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { REASON } from '../api/conditions.ts';
import type { Clock } from '../runtime/clock.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import { runProcess } from '../runtime/run-process.ts';
import { sanitizeMessage } from '../status/conditions.ts';
import type { ManifestFile } from './manifest-file.ts';

/** How `helm template` runs: the binary, its deadline and output cap, and where its scratch goes. */
export interface HelmOptions {
  /** Undefined: `helm` on PATH. */
  binary: string | undefined;
  /** The child's environment base (PATH): nothing else of the operator's environment leaks in. */
  env: Record<string, string>;
  timeoutMs: number;
  maxOutputBytes: number;
  /** Scratch directories (values files, Helm's own homes) are made under it and removed after. */
  workDir: string;
}

export const DEFAULT_HELM_OPTIONS: Omit<HelmOptions, 'workDir'> = {
  binary: undefined,
  env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
  timeoutMs: 60_000,
  maxOutputBytes: 32 * 1024 * 1024,
};

/** What the templates see of the cluster (.Capabilities), from its discovery. */
export interface Capabilities {
  kubeVersion?: string;
  apiVersions: string[];
}

/** One render of a chart. */
export interface ChartRender {
  /** The chart's directory (holding Chart.yaml). */
  chartDir: string;
  /** Values files are looked up under it and may not leave it (the chart, or a Git checkout). */
  root: string;
  releaseName: string;
  namespace: string;
  /** Paths relative to `root`, merged in order after the chart's own values.yaml. */
  valuesFiles: readonly string[];
  /** YAML documents merged after the files, in order (valuesFrom, then the inline values). */
  values: readonly string[];
  includeCRDs: boolean;
  skipTests: boolean;
  capabilities?: Capabilities;
}

const inside = (root: string, path: string) => {
  const rel = relative(root, path);
  return !isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`);
};

/** A digest of everything a render depends on besides the chart's files (its cache key part). Pure. */
export function renderDigest(r: Omit<ChartRender, 'chartDir' | 'root'>): string {
  return createHash('sha256').update(JSON.stringify(r)).digest('hex');
}

/**
 * Refuses a chart (from Git) with a symlink that resolves outside `root`: Helm follows symlinks, so
 * one to /etc/passwd would put that file into a template. Walks through symlinked directories once.
 */
export async function guardChartTree(chartDir: string, root: string): Promise<void> {
  const realRoot = await realpath(root);
  const seen = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    const real = await realpath(dir);
    if (seen.has(real)) return;
    seen.add(real);
    for (const name of await readdir(dir)) {
      const abs = join(dir, name);
      let info = await lstat(abs);
      if (info.isSymbolicLink()) {
        const target = await realpath(abs).catch(() => undefined);
        if (target === undefined || !inside(realRoot, target))
          throw new ReconcileError(
            REASON.SecurityViolation,
            `the chart's symlink ${abs.slice(chartDir.length + 1)} points outside the repository; refused`,
          );
        info = await stat(target);
      }
      if (info.isDirectory()) await walk(abs);
    }
  };
  await walk(chartDir);
}

/** Whether `dir` holds a chart. */
export async function isChart(dir: string): Promise<boolean> {
  return stat(join(dir, 'Chart.yaml')).then(
    (s) => s.isFile(),
    () => false,
  );
}

/**
 * `helm template` output as manifest files, one per template (its `# Source:` line), in order, so
 * that parse errors name the template. Pure.
 */
export function splitHelmOutput(out: string): ManifestFile[] {
  const files: ManifestFile[] = [];
  const byPath = new Map<string, string[]>();
  for (const doc of out.split(/^---\s*$/m)) {
    if (doc.trim() === '') continue;
    const path = /^# Source: (.+)$/m.exec(doc)?.[1]?.trim() ?? 'helm template';
    let docs = byPath.get(path);
    if (!docs) {
      docs = [];
      byPath.set(path, docs);
      files.push({ path, content: '' });
    }
    docs.push(doc);
  }
  return files.map((f) => ({ path: f.path, content: (byPath.get(f.path) ?? []).join('---\n') }));
}

/**
 * Renders a chart with the real Helm: the release name and namespace, .Capabilities from the
 * cluster, the values files (jailed to `root`) and the other values through files of mode 0600 in a
 * scratch directory removed afterwards, Helm's homes in that directory too, and no network (no
 * repository configuration, no proxies). A deadline kills Helm's whole process group. A template
 * error is BuildFailed with Helm's message.
 */
export async function helmTemplate(r: ChartRender, opts: HelmOptions, clock: Clock): Promise<ManifestFile[]> {
  const realRoot = await realpath(r.root);
  const files: string[] = [];
  for (const f of r.valuesFiles) {
    const target = resolve(realRoot, f);
    const real = await realpath(target).catch(() => undefined);
    if (!inside(realRoot, target) || (real && !inside(realRoot, real)))
      throw new ReconcileError(
        REASON.SecurityViolation,
        `values file ${f} is outside the chart's source; refused`,
      );
    if (!real) throw new ReconcileError(REASON.BuildFailed, `values file ${f} was not found`);
    files.push(real);
  }
  await mkdir(opts.workDir, { recursive: true });
  const scratch = await mkdtemp(join(opts.workDir, 'helm-'));
  try {
    await chmod(scratch, 0o700);
    for (const [i, text] of r.values.entries()) {
      const path = join(scratch, `values-${i}.yaml`);
      await writeFile(path, text, { mode: 0o600 });
      files.push(path);
    }
    const args = [
      'template',
      r.releaseName,
      r.chartDir,
      '--namespace',
      r.namespace,
      ...(r.includeCRDs ? ['--include-crds'] : []),
      ...(r.skipTests ? ['--skip-tests'] : []),
      ...(r.capabilities?.kubeVersion ? ['--kube-version', r.capabilities.kubeVersion] : []),
      ...(r.capabilities?.apiVersions.length ? ['--api-versions', r.capabilities.apiVersions.join(',')] : []),
      ...files.flatMap((f) => ['--values', f]),
    ];
    const binary = opts.binary ?? 'helm';
    const result = await runProcess(binary, args, {
      cwd: scratch,
      env: {
        ...opts.env,
        HOME: scratch,
        HELM_CACHE_HOME: join(scratch, 'cache'),
        HELM_CONFIG_HOME: join(scratch, 'config'),
        HELM_DATA_HOME: join(scratch, 'data'),
        HELM_REPOSITORY_CONFIG: join(scratch, 'repositories.yaml'),
        HELM_REGISTRY_CONFIG: join(scratch, 'registry.json'),
      },
      clock,
      timeoutMs: opts.timeoutMs,
      maxOutputBytes: opts.maxOutputBytes,
    });
    if (result.notFound)
      throw new ReconcileError(
        REASON.BuildFailed,
        `helm was not found (${binary}); install it or pass --helm-path`,
      );
    if (result.timedOut)
      throw new ReconcileError(
        REASON.BuildFailed,
        `helm template took longer than ${opts.timeoutMs / 1000}s; stopped`,
      );
    if (result.overflowed)
      throw new ReconcileError(
        REASON.LimitExceeded,
        `helm template wrote more than ${opts.maxOutputBytes} bytes; stopped`,
      );
    if (result.code !== 0) {
      const why = result.stderr
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('WARNING') && !l.startsWith('Use --debug'))
        .slice(-3)
        .join('; ')
        .replaceAll(scratch, '<values>')
        .replaceAll(r.chartDir, '<chart>');
      throw new ReconcileError(
        REASON.BuildFailed,
        `helm template: ${sanitizeMessage(why || `exit ${result.code}`)}`,
      );
    }
    return splitHelmOutput(result.stdout);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
