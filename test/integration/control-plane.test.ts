import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEST_USERS } from '../controlplane/pki.ts';
import { useCluster } from '../support/cluster.ts';

const { cp, kubectlRaw } = useCluster();

describe('the test control plane', () => {
  it('is the pinned Kubernetes release, on loopback, with a matching kubectl', async () => {
    const { stdout } = await kubectlRaw(['version', '-o', 'json']);
    const v = JSON.parse(stdout) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    const pinned = (
      await readFile(join(import.meta.dirname, '..', 'controlplane', 'versions.env'), 'utf8')
    ).match(/^KUBE_VERSION=(\S+)$/m)?.[1];
    expect(v.serverVersion.gitVersion).toBe(pinned);
    expect(v.clientVersion.gitVersion).toBe(pinned);
    expect(cp.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('authorizes with RBAC: static-token users get nothing until a role grants it', async () => {
    const asDev = (...args: string[]) => kubectlRaw(['--context=developer', ...args]);
    const denied = await asDev('get', 'secrets', '-n', 'default');
    expect(denied.status).not.toBe(0);
    expect(denied.stderr).toContain('User "developer" cannot list resource "secrets"');
    expect(
      (
        await kubectlRaw(['auth', 'can-i', 'list', 'secrets', '--as=developer', '--as-group=developers'])
      ).stdout.trim(),
    ).toBe('no');
    expect((await kubectlRaw(['auth', 'can-i', '*', '*'])).stdout.trim()).toBe('yes');
    expect(Object.keys(TEST_USERS)).toEqual(['admin', 'developer', 'viewer']);
  });
});
