import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../support/cluster.ts';
import { shoalObjects } from '../support/objects.ts';
import { shoalCommandProcess } from '../support/shoal-cli.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, newNamespace } = useCluster();

describe('shoal dashboard (the local dashboard, as your kubeconfig user)', () => {
  let ns: string;
  let proc: ReturnType<typeof shoalCommandProcess>;
  let url: string;

  beforeAll(async () => {
    ns = await newNamespace('local-dash');
    const o = shoalObjects(kube, ns);
    await o.source('repo', { url: 'https://git.example.invalid/repo.git', interval: '1h' });
    await o.group('app', { sourceRef: { name: 'repo' }, interval: '1h' });
    proc = shoalCommandProcess(cp.kubeconfig, ['dashboard', '--port', '0', '-n', ns]);
    url = await waitFor(
      'the dashboard URL',
      async () => /(http:\/\/127\.0\.0\.1:\d+)\//.exec(proc.output())?.[1],
      {
        timeoutMs: 30_000,
      },
    );
  });

  afterAll(async () => {
    await proc?.kill();
  });

  it('serves on loopback without a token, as the kubeconfig user, from its own caches', async () => {
    const who = await fetch(`${url}/api/whoami`);
    expect(who.status).toBe(200);
    const body = (await who.json()) as { user: string; csrf: string; mode: string };
    expect(body.mode).toBe('local');
    expect(body.user).toBe('kubernetes-admin');
    const overview = (await (await fetch(`${url}/api/overview`)).json()) as {
      rows: { kind: string; name: string }[];
    };
    expect(overview.rows.map((r) => `${r.kind}/${r.name}`).sort()).toEqual([
      'AppGroup/app',
      'GitSource/repo',
    ]);
  });

  it('acts as you, only from its own page (CSRF token and same origin)', async () => {
    const who = await fetch(`${url}/api/whoami`);
    const { csrf } = (await who.json()) as { csrf: string };
    const cookie = (who.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const path = `${url}/api/groups/${ns}/app/suspend`;
    expect((await fetch(path, { method: 'POST', headers: { cookie, origin: url } })).status).toBe(403);
    expect(
      (
        await fetch(path, {
          method: 'POST',
          headers: { cookie, 'x-csrf-token': csrf, origin: 'http://evil.example' },
        })
      ).status,
    ).toBe(403);
    const ok = await fetch(path, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf, origin: url } });
    expect(ok.status).toBe(200);
    const group = await kube.get<{ spec: { suspend?: boolean } }>({
      apiVersion: 'shoal.dev/v1alpha1',
      kind: 'AppGroup',
      namespace: ns,
      name: 'app',
    });
    expect(group?.spec.suspend).toBe(true);
  });

  it('offers no actions with --read-only', async () => {
    const ro = shoalCommandProcess(cp.kubeconfig, ['dashboard', '--port', '0', '-n', ns, '--read-only']);
    try {
      const base = await waitFor(
        'the URL',
        async () => /(http:\/\/127\.0\.0\.1:\d+)\//.exec(ro.output())?.[1],
        {
          timeoutMs: 30_000,
        },
      );
      const who = await fetch(`${base}/api/whoami`);
      const { csrf, readOnly } = (await who.json()) as { csrf: string; readOnly: boolean };
      expect(readOnly).toBe(true);
      const cookie = (who.headers.get('set-cookie') ?? '').split(';')[0] as string;
      const res = await fetch(`${base}/api/groups/${ns}/app/resume`, {
        method: 'POST',
        headers: { cookie, 'x-csrf-token': csrf, origin: base },
      });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: string }).error).toBe('the dashboard is read-only');
    } finally {
      await ro.kill();
    }
  });

  it('exits 0 on SIGINT', async () => {
    proc.child.kill('SIGINT');
    expect(await proc.exit).toBe(0);
  });
});
