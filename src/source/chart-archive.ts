import { gunzipSync } from 'node:zlib';
import { REASON } from '../api/conditions.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';

/** Caps on a chart archive and what it unpacks to. */
export interface ChartLimits {
  maxArchiveBytes: number;
  maxFiles: number;
  maxFileBytes: number;
  /** Everything the archive unpacks to. */
  maxTotalBytes: number;
}

export const DEFAULT_CHART_LIMITS: ChartLimits = {
  maxArchiveBytes: 16 * 1024 * 1024,
  maxFiles: 5_000,
  maxFileBytes: 8 * 1024 * 1024,
  maxTotalBytes: 64 * 1024 * 1024,
};

const BLOCK = 512;

const text = (b: Buffer, at: number, len: number) => {
  const s = b.subarray(at, at + len);
  const end = s.indexOf(0);
  return s.subarray(0, end < 0 ? len : end).toString('utf8');
};
const octal = (b: Buffer, at: number, len: number) => Number.parseInt(text(b, at, len).trim() || '0', 8);

/** Records of a PAX extended header ("<len> <key>=<value>\n"...). Pure. */
function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    if (space < 0) break;
    const len = Number(data.subarray(i, space).toString());
    if (!Number.isInteger(len) || len <= 0) break;
    const record = data.subarray(space + 1, i + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    i += len;
  }
  return out;
}

/** Why a path in an archive may not be unpacked, or undefined. Pure. */
function badPath(path: string): string | undefined {
  if (path === '' || path.startsWith('/') || /^[A-Za-z]:/.test(path)) return 'an absolute path';
  if (path.includes('\\')) return 'a backslash';
  if (path.split('/').some((p) => p === '..')) return 'a .. segment';
  return undefined;
}

/**
 * The regular files of a gzipped tar (a Helm chart archive), read in memory: gzip bombs, files and
 * totals over the limits, absolute paths, `..` segments, symlinks, hard links and devices are all
 * refused (SecurityViolation or LimitExceeded, naming the entry) before anything touches a disk.
 * Directories are implied by the paths. Pure.
 */
export function readChartArchive(
  archive: Buffer,
  limits: ChartLimits = DEFAULT_CHART_LIMITS,
): Map<string, Buffer> {
  if (archive.length > limits.maxArchiveBytes)
    throw new ReconcileError(
      REASON.LimitExceeded,
      `the chart archive is ${archive.length} bytes, over the limit of ${limits.maxArchiveBytes}`,
    );
  let tar: Buffer;
  try {
    tar = gunzipSync(archive, { maxOutputLength: limits.maxTotalBytes + 64 * BLOCK });
  } catch (err) {
    const over = err instanceof RangeError || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
    throw new ReconcileError(
      over ? REASON.LimitExceeded : REASON.BuildFailed,
      over
        ? `the chart archive unpacks to more than the limit of ${limits.maxTotalBytes} bytes`
        : `the chart archive is not gzip: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const files = new Map<string, Buffer>();
  let total = 0;
  let pax = new Map<string, string>();
  let longName: string | undefined;
  for (let at = 0; at + BLOCK <= tar.length; ) {
    const header = tar.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) break;
    const declared = octal(header, 124, 12);
    const size = Number(pax.get('size') ?? declared);
    const type = String.fromCharCode(header[156] ?? 0);
    const prefix = text(header, 345, 155);
    const base = text(header, 0, 100);
    const name = pax.get('path') ?? longName ?? (prefix ? `${prefix}/${base}` : base);
    const dataAt = at + BLOCK;
    if (!Number.isFinite(size) || size < 0 || dataAt + size > tar.length)
      throw new ReconcileError(
        REASON.BuildFailed,
        `the chart archive is truncated at ${JSON.stringify(name)}`,
      );
    const data = tar.subarray(dataAt, dataAt + size);
    at = dataAt + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      pax = paxRecords(data);
      continue;
    }
    if (type === 'g') continue;
    if (type === 'L') {
      longName = text(data, 0, data.length);
      continue;
    }
    pax = new Map();
    longName = undefined;
    const path = name.replace(/^\.\//, '');
    const why = badPath(path);
    if (why)
      throw new ReconcileError(
        REASON.SecurityViolation,
        `the chart archive holds ${JSON.stringify(path)}: ${why}`,
      );
    if (type === '5') continue;
    if (type !== '0' && type !== '\0' && type !== '7') {
      const what =
        type === '2'
          ? 'a symlink'
          : type === '1'
            ? 'a hard link'
            : `an entry of type ${JSON.stringify(type)}`;
      throw new ReconcileError(
        REASON.SecurityViolation,
        `the chart archive holds ${what}: ${JSON.stringify(path)}`,
      );
    }
    if (size > limits.maxFileBytes)
      throw new ReconcileError(
        REASON.LimitExceeded,
        `the chart file ${path} is ${size} bytes, over the limit of ${limits.maxFileBytes}`,
      );
    total += size;
    if (total > limits.maxTotalBytes)
      throw new ReconcileError(
        REASON.LimitExceeded,
        `the chart unpacks to more than ${limits.maxTotalBytes} bytes`,
      );
    if (files.size >= limits.maxFiles)
      throw new ReconcileError(REASON.LimitExceeded, `the chart holds more than ${limits.maxFiles} files`);
    files.set(path, Buffer.from(data));
  }
  return files;
}

/** The chart's top directory (every file of a chart archive is under one), or an error. Pure. */
export function chartRoot(files: ReadonlyMap<string, Buffer>): string {
  const tops = new Set([...files.keys()].map((p) => p.split('/')[0] ?? ''));
  if (tops.size !== 1)
    throw new ReconcileError(REASON.BuildFailed, 'a chart archive holds exactly one top directory');
  const [top] = tops;
  if (!files.has(`${top}/Chart.yaml`))
    throw new ReconcileError(REASON.BuildFailed, `the chart archive has no ${top}/Chart.yaml`);
  return top as string;
}
