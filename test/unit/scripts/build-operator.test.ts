import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildOperator, OPERATOR_BUNDLE, OPERATOR_DIR } from '../../../scripts/build-operator.ts';

const run = promisify(execFile);

describe('the operator bundle the image ships (scripts/build-operator.ts)', () => {
  beforeAll(async () => {
    await buildOperator();
  }, 60_000);

  it('runs as the shoal command on its own', async () => {
    const { stdout } = await run(process.execPath, [OPERATOR_BUNDLE, 'version']);
    const pkg = JSON.parse(
      await readFile(join(import.meta.dirname, '..', '..', '..', 'package.json'), 'utf8'),
    );
    expect(stdout).toContain(`shoal ${pkg.version}`);
  });

  it('is ASCII: one other character and V8 keeps the whole 4 MB source at two bytes a character', async () => {
    for (const f of ['shoal.mjs', 'parse-worker.mjs']) {
      const bytes = await readFile(join(OPERATOR_DIR, f));
      const at = bytes.findIndex((b) => b > 0x7f);
      expect(at === -1 ? '' : bytes.subarray(Math.max(0, at - 40), at + 10).toString()).toBe('');
    }
  });

  it('carries what the sources read beside themselves at run time', async () => {
    await expect(readFile(join(OPERATOR_DIR, 'git-group.sh'), 'utf8')).resolves.toContain('#!');
  });
});
