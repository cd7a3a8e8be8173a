import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareCredentials } from '../../../src/source/credentials.ts';
import { checkLimits } from '../../../src/source/git-cache.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('checkLimits', () => {
  const limits = { maxFileBytes: 100, maxTotalBytes: 150, maxFiles: 3 };
  const line = (path: string, size: number | '-') =>
    `100644 blob ${'a'.repeat(40)} ${String(size).padStart(7)}\t${path}`;

  it('returns the listing without sizes when within limits', () => {
    expect(checkLimits(`${line('a.yaml', 10)}\n${line('d/b.yaml', 20)}\n`, limits)).toBe(
      `100644 blob ${'a'.repeat(40)}\ta.yaml\n100644 blob ${'a'.repeat(40)}\td/b.yaml\n`,
    );
  });

  it.each([
    [
      'a file over the per-file cap',
      [line('big.bin', 101)],
      /file big\.bin is 101 bytes, over the limit of 100 bytes per file/,
    ],
    ['too much in total', [line('a', 90), line('b', 90)], /over the limit of 150 bytes in total \(at b\)/],
    [
      'too many files',
      [line('a', 1), line('b', 1), line('c', 1), line('d', 1)],
      /4 files, over the limit of 3/,
    ],
  ])('refuses %s with LimitExceeded', (_, lines, message) => {
    expect(() => checkLimits(`${lines.join('\n')}\n`, limits)).toThrow(message);
  });
});

describe('prepareCredentials', () => {
  it('puts basic auth into git config through the environment, never a URL', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'creds-'));
    const c = await prepareCredentials({ username: b64('bob'), password: b64('pw') }, 's', dir);
    expect(c.env).toEqual({
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${b64('bob:pw')}`,
    });
    expect(c.key).not.toContain('pw');
    await rm(dir, { recursive: true });
  });

  it('writes an SSH key and known_hosts with mode 0600 and checks host keys strictly; cleanup removes them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'creds-'));
    const c = await prepareCredentials(
      { identity: b64('KEY'), known_hosts: b64('host ssh-ed25519 AAAA'), 'ca.crt': b64('CA') },
      's',
      dir,
    );
    expect(c.env.GIT_SSH_COMMAND).toContain('StrictHostKeyChecking=yes');
    expect(c.env.GIT_SSH_COMMAND).toContain('BatchMode=yes');
    const keyFile = c.env.GIT_SSH_COMMAND?.match(/-i '([^']+)'/)?.[1] as string;
    expect(await readFile(keyFile, 'utf8')).toBe('KEY\n');
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(c.env.GIT_SSL_CAINFO as string, 'utf8')).toBe('CA');
    await c.cleanup();
    await expect(stat(keyFile)).rejects.toThrow();
    await rm(dir, { recursive: true });
  });

  it.each([
    [{ identity: b64('KEY') }, /needs known_hosts/],
    [{ unrelated: b64('x') }, /has none of/],
  ])('refuses an unusable secret as Stalled (%j)', async (data, message) => {
    await expect(prepareCredentials(data, 's', tmpdir())).rejects.toThrow(message);
  });
});
