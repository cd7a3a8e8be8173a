// The digest of a build's inputs (every file under some directories, then some single files), by
// which the dashboard's and the operator's builds skip themselves when nothing changed.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** SHA-256 over `dirs` (every file, in name order, with its path) and then `files`, under `root`. */
export async function inputsDigest(
  root: string,
  dirs: readonly string[],
  files: readonly string[],
): Promise<string> {
  const h = createHash('sha256');
  const walk = async (dir: string): Promise<void> => {
    for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else h.update(`${p.slice(root.length)}\n`).update(await readFile(p));
    }
  };
  for (const d of dirs) await walk(join(root, d));
  for (const f of files) h.update(await readFile(join(root, f)));
  return h.digest('hex');
}
