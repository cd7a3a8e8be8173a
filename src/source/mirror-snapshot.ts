import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Every file under `dir`, as paths relative to it. */
async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(join(dir, e.name), rel)));
    else out.push(rel);
  }
  return out;
}

/** A mirror's files (relative paths) and the content of the small ones a fetch rewrites. */
export interface MirrorSnapshot {
  files: Set<string>;
  /** shallow, FETCH_HEAD, packed-refs and every ref: their content before. */
  content: Map<string, string>;
}

const REWRITTEN = /^(shallow|FETCH_HEAD|packed-refs|refs\/.*)$/;

export async function snapshotMirror(mirror: string): Promise<MirrorSnapshot> {
  const files = new Set(await listFiles(mirror));
  const content = new Map<string, string>();
  for (const name of files) {
    if (REWRITTEN.test(name)) content.set(name, await readFile(join(mirror, name), 'utf8').catch(() => ''));
  }
  return { files, content };
}

/**
 * Undoes a fetch that failed or was refused: removes every file it added (its packs, and the lock
 * files a killed git leaves, which would otherwise fail every later fetch), and puts the shallow
 * file and the refs back as they were.
 */
export async function restoreMirror(mirror: string, before: MirrorSnapshot): Promise<void> {
  for (const name of await listFiles(mirror)) {
    if (!before.files.has(name)) await rm(join(mirror, name), { force: true });
  }
  for (const [name, text] of before.content) await writeFile(join(mirror, name), text);
}

/** Bytes of the packs being received (git's tmp_pack_* files) in a mirror. */
export async function incomingBytes(mirror: string): Promise<number> {
  const packDir = join(mirror, 'objects', 'pack');
  const names = await readdir(packDir).catch(() => [] as string[]);
  let total = 0;
  for (const name of names) {
    if (!name.startsWith('tmp_')) continue;
    total += (await stat(join(packDir, name)).catch(() => undefined))?.size ?? 0;
  }
  return total;
}
