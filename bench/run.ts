// `npm run bench -- <name> [flags]`: runs one benchmark from bench/ (they print figures, never fail on them).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const names = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'stats.ts'].includes(f))
  .map((f) => f.replace(/\.ts$/, ''));
const [name, ...args] = process.argv.slice(2);
if (!name || !names.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <${names.join('|')}> [flags]\n`);
  process.exit(2);
}
const r = spawnSync(process.execPath, ['--expose-gc', join(import.meta.dirname, `${name}.ts`), ...args], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
