import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Static bearer-token users of the test control plane, for least-privilege tests. */
export const TEST_USERS = {
  admin: { token: 'admin-token', user: 'admin', groups: ['system:masters'] },
  developer: { token: 'dev-token', user: 'developer', groups: ['developers'] },
  viewer: { token: 'readonly-token', user: 'viewer', groups: ['viewers'] },
} as const;

interface CertSpec {
  name: string;
  subject: string;
  extensions: string[];
}

const SERVING_SANS = [
  'DNS:localhost',
  'DNS:kubernetes',
  'DNS:kubernetes.default',
  'DNS:kubernetes.default.svc',
  'DNS:kubernetes.default.svc.cluster.local',
  'IP:127.0.0.1',
  'IP:10.96.0.1',
].join(',');

const CERTS: CertSpec[] = [
  {
    name: 'apiserver',
    subject: '/CN=kube-apiserver',
    extensions: [
      `subjectAltName=${SERVING_SANS}`,
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
    ],
  },
  {
    name: 'admin',
    subject: '/O=system:masters/CN=kubernetes-admin',
    extensions: ['keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=clientAuth'],
  },
  {
    name: 'front-proxy-client',
    subject: '/CN=front-proxy-client',
    extensions: ['keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=clientAuth'],
  },
];

/**
 * Writes a throwaway PKI into `dir`: one CA, a serving certificate for loopback, an admin client
 * certificate (system:masters), a front-proxy client certificate, the service-account key pair and a
 * static token file. Uses the openssl command line; nothing here is fit for production.
 */
export async function writePki(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const ssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  await ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '3650',
    '-subj',
    '/CN=shoal-test-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  );
  await Promise.all(
    CERTS.map(async (c) => {
      await writeFile(join(dir, `${c.name}.ext`), `${c.extensions.join('\n')}\n`);
      await ssl(
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${c.name}.key`,
        '-out',
        `${c.name}.csr`,
        '-subj',
        c.subject,
      );
      await ssl(
        'x509',
        '-req',
        '-in',
        `${c.name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-set_serial',
        String(randomInt(1, 2 ** 47)),
        '-days',
        '3650',
        '-out',
        `${c.name}.crt`,
        '-extfile',
        `${c.name}.ext`,
      );
    }),
  );
  await ssl('genrsa', '-out', 'sa.key', '2048');
  await ssl('rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub');
  const tokens = Object.values(TEST_USERS).map(
    (u) => `${u.token},${u.user},uid-${u.user},"${u.groups.join(',')}"`,
  );
  await writeFile(join(dir, 'tokens.csv'), `${tokens.join('\n')}\n`, { mode: 0o600 });
}
