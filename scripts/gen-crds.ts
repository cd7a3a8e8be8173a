// `npm run crds`: writes crds/*.yaml from the schemas in src/api/schema (the single source).
// `npm run crds -- --check` exits 1 when the committed files differ (the unit tests check it too).
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { renderCrdFiles } from '../src/api/schema/crd-files.ts';

const dir = resolve(import.meta.dirname, '..', 'crds');
const check = process.argv.includes('--check');
let stale = 0;
for (const [name, text] of renderCrdFiles()) {
  const path = join(dir, name);
  const current = await readFile(path, 'utf8').catch(() => '');
  if (current === text) continue;
  if (check) {
    process.stderr.write(`${path} is out of date; run npm run crds\n`);
    stale++;
  } else {
    await writeFile(path, text);
    process.stderr.write(`wrote ${path}\n`);
  }
}
if (stale > 0) process.exitCode = 1;
