import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
let installing: Promise<void> = Promise.resolve();

/**
 * Installs a Debian package when `binary` is missing and this process is root: the tests need the
 * real servers (sshd, Prometheus), and `apt-get` is the one way to get them here. Installs take
 * turns (dpkg holds a lock). Throws with the reason otherwise.
 */
export function ensureDebianPackage(binary: string, pkg: string, log: (line: string) => void): Promise<void> {
  if (existsSync(binary)) return Promise.resolve();
  if (process.getuid?.() !== 0)
    return Promise.reject(new Error(`${binary} is missing; install ${pkg} (apt-get install ${pkg})`));
  const next = installing.then(async () => {
    if (existsSync(binary)) return;
    log(`installing ${pkg} for the tests (apt-get)`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await run('apt-get', ['update', '-qq'], { env });
    await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { env });
  });
  installing = next.catch(() => undefined);
  return next;
}
