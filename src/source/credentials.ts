import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REASON } from '../api/conditions.ts';
import { StalledError } from '../runtime/errors/stalled-error.ts';

/** How git is told about a GitSource's credentials, and what to clean up afterwards. */
export interface GitCredentials {
  /** Environment for git children: git config through GIT_CONFIG_COUNT/KEY/VALUE, GIT_SSH_COMMAND. */
  env: Record<string, string>;
  /**
   * A fingerprint of the credentials (a hash, never the secret): mirrors and ls-remote results are
   * shared only between sources with the same URL and the same credentials.
   */
  key: string;
  cleanup: () => Promise<void>;
}

export const NO_CREDENTIALS: GitCredentials = { env: {}, key: 'anonymous', cleanup: async () => {} };

function decode(data: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  return out;
}

const shellQuote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/**
 * Turns a Secret's data into git credentials, never putting a secret into a URL or argv:
 * - `username` + `password` (HTTPS basic) or `bearerToken`: an `http.extraHeader` in git's config
 *   environment;
 * - `ca.crt`: a file named by GIT_SSL_CAINFO;
 * - `identity` (an SSH private key) with `known_hosts` (required): files under `dir` (mode 0600) and
 *   an ssh command with strict host-key checking and no prompts.
 * Files are written under `dir` and removed by `cleanup`. A secret with none of these is Stalled.
 */
export async function prepareCredentials(
  data: Record<string, string> | undefined,
  secretName: string,
  dir: string,
): Promise<GitCredentials> {
  const s = decode(data);
  const configs: [string, string][] = [];
  const env: Record<string, string> = {};
  const files: Record<string, string> = {};
  if (s.bearerToken) configs.push(['http.extraHeader', `Authorization: Bearer ${s.bearerToken}`]);
  else if (s.username !== undefined && s.password !== undefined) {
    const basic = Buffer.from(`${s.username}:${s.password}`).toString('base64');
    configs.push(['http.extraHeader', `Authorization: Basic ${basic}`]);
  }
  if (s['ca.crt']) files['ca.crt'] = s['ca.crt'];
  if (s.identity) {
    if (!s.known_hosts) {
      throw new StalledError(
        REASON.InvalidSpec,
        `secret ${secretName}: an SSH identity needs known_hosts (host keys are always checked)`,
      );
    }
    files.identity = s.identity.endsWith('\n') ? s.identity : `${s.identity}\n`;
    files.known_hosts = s.known_hosts;
  }
  if (configs.length === 0 && Object.keys(files).length === 0) {
    throw new StalledError(
      REASON.InvalidSpec,
      `secret ${secretName} has none of username+password, bearerToken, identity+known_hosts or ca.crt`,
    );
  }
  const key = createHash('sha256')
    .update(JSON.stringify(Object.entries(s).sort()))
    .digest('hex')
    .slice(0, 16);
  const credDir = join(dir, `cred-${randomBytes(8).toString('hex')}`);
  if (Object.keys(files).length > 0) {
    await mkdir(credDir, { recursive: true, mode: 0o700 });
    for (const [name, content] of Object.entries(files))
      await writeFile(join(credDir, name), content, { mode: 0o600 });
  }
  if (files['ca.crt']) env.GIT_SSL_CAINFO = join(credDir, 'ca.crt');
  if (files.identity) {
    env.GIT_SSH_COMMAND = [
      'ssh',
      '-i',
      shellQuote(join(credDir, 'identity')),
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      `UserKnownHostsFile=${shellQuote(join(credDir, 'known_hosts'))}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=15',
      '-F',
      '/dev/null',
    ].join(' ');
  }
  if (configs.length > 0) {
    env.GIT_CONFIG_COUNT = String(configs.length);
    configs.forEach(([k, v], i) => {
      env[`GIT_CONFIG_KEY_${i}`] = k;
      env[`GIT_CONFIG_VALUE_${i}`] = v;
    });
  }
  return { env, key, cleanup: () => rm(credDir, { recursive: true, force: true }) };
}
