import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifests } from '../../../src/render/read-manifests.ts';

// A checked-out tree on disk (the artifact), hostile in the ways a repository can be.
describe('readManifests', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'artifact-'));
    await mkdir(join(root, 'apps', 'nested'), { recursive: true });
    await mkdir(join(root, 'apps', '.github'), { recursive: true });
    await writeFile(join(root, 'apps', 'b.yaml'), 'b');
    await writeFile(join(root, 'apps', 'a.yml'), 'a');
    await writeFile(join(root, 'apps', 'nested', 'c.json'), 'c');
    await writeFile(join(root, 'apps', 'logo.png'), 'binary');
    await writeFile(join(root, 'apps', 'README.md'), 'docs');
    await writeFile(join(root, 'apps', '.github', 'ci.yaml'), 'hidden');
    await symlink('b.yaml', join(root, 'apps', 'inside-link.yaml'));
    await mkdir(join(root, 'evil'));
    await symlink('/etc/passwd', join(root, 'evil', 'passwd.yaml'));
    await mkdir(join(root, 'big'));
    await writeFile(join(root, 'big', 'huge.yaml'), 'x'.repeat(2048));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('reads YAML and JSON recursively in a stable order, skipping dot-files and other extensions', async () => {
    const files = await readManifests(root, 'apps');
    expect(files.map((f) => f.path)).toEqual(['a.yml', 'b.yaml', 'inside-link.yaml', 'nested/c.json']);
    expect(files.find((f) => f.path === 'inside-link.yaml')?.content).toBe('b');
  });

  it.each([
    ['../..', 'InvalidPath', /outside the repository/],
    ['/etc', 'InvalidPath', /outside the repository/],
    ['nope', 'PathNotFound', /was not found/],
    ['evil', 'SecurityViolation', /symlink passwd\.yaml points outside the repository; refused/],
  ])('path %s fails with %s', async (path, reason, message) => {
    await expect(readManifests(root, path)).rejects.toMatchObject({
      reason,
      message: expect.stringMatching(message),
    });
  });

  it('checks sizes before reading, naming the file and the limit', async () => {
    await expect(
      readManifests(root, 'big', { maxFileBytes: 1024, maxTotalBytes: 1e9, maxFiles: 10 }),
    ).rejects.toMatchObject({
      reason: 'LimitExceeded',
      message: 'file huge.yaml is 2048 bytes, over the 1024-byte limit per file',
    });
  });
});
