import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { ensureDebianPackage } from './debian.ts';

const run = promisify(execFile);
export const SSHD = '/usr/sbin/sshd';

export interface TestSshd {
  port: number;
  /** The client's private key (OpenSSH format) that the server accepts. */
  identity: string;
  /** A known_hosts line for the server's host key at 127.0.0.1:port. */
  knownHosts: string;
  /** `ssh://<user>@127.0.0.1:<port><path>` for a repository at an absolute path. */
  urlFor(path: string): string;
  stop(): Promise<void>;
}

/** Debian's openssh-server, installed when missing (as root). */
export const ensureSshdInstalled = (log: (line: string) => void) =>
  ensureDebianPackage(SSHD, 'openssh-server', log);

/**
 * Debian's OpenSSH server on loopback with a fresh host key, accepting one generated client key for
 * the current user (public-key only: no passwords, no PAM).
 */
export async function startSshd(): Promise<TestSshd> {
  if (!existsSync(SSHD)) {
    throw new Error(`${SSHD} is missing: install Debian's openssh-server (the test setup does this as root)`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'shoal-sshd-'));
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client_key')]);
  await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'client_key.pub')), { mode: 0o600 });
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  const user = (await run('id', ['-un'])).stdout.trim();
  await writeFile(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      `AllowUsers ${user}`,
      'LogLevel ERROR',
    ].join('\n'),
  );
  await mkdir('/run/sshd', { recursive: true }).catch(() => {});
  const child = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(true));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
    });
    if (up) break;
    if (i > 100 || child.exitCode !== null) throw new Error(`sshd did not start: ${stderr}`);
    await sleep(50);
  }
  const hostPub = (await readFile(join(dir, 'host_key.pub'), 'utf8')).trim().split(' ').slice(0, 2).join(' ');
  return {
    port,
    identity: await readFile(join(dir, 'client_key'), 'utf8'),
    knownHosts: `[127.0.0.1]:${port} ${hostPub}\n`,
    urlFor: (path) => `ssh://${user}@127.0.0.1:${port}${path}`,
    async stop() {
      child.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
