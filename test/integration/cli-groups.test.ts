import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../support/cluster.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { shoalObjects } from '../support/objects.ts';
import { startShoal } from '../support/shoal.ts';
import { shoalCli } from '../support/shoal-cli.ts';

const { cp, kube, newNamespace } = useCluster();
const shoal = (...args: string[]) => shoalCli(cp.kubeconfig, ...args);

const cm = (v: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {v: "${v}"}\n`;

describe('shoal get, reconcile, suspend and resume', () => {
  let ns: string;
  let repo: TestRepo;
  let operator: Awaited<ReturnType<typeof startShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  const value = async () =>
    (
      await kube.get<{ data: { v: string } }>({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: ns,
        name: 'c',
      })
    )?.data.v;

  beforeAll(async () => {
    ns = await newNamespace('cli');
    o = shoalObjects(kube, ns);
    repo = await gitRepo({ 'apps/c.yaml': cm('1') });
    operator = await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    // Polls and re-syncs hourly: anything sooner is the CLI's doing.
    await o.source('repo', { url: repo.url, interval: '1h' });
    await o.group('app', { sourceRef: { name: 'repo' }, path: 'apps', interval: '1h' });
    await o.groupAt('app', await repo.head());
  });

  afterAll(async () => {
    await operator?.stop();
    await repo?.remove();
  });

  it('get groups and sources print kubectl-like tables, with sync and health', async () => {
    const groups = await shoal('get', 'groups', '-n', ns);
    expect(groups.code).toBe(0);
    const [header, row] = groups.stdout.trim().split('\n');
    expect(header?.split(/\s{2,}/)).toEqual(['NAME', 'READY', 'SYNC', 'HEALTH', 'REVISION', 'AGE']);
    expect(row).toMatch(/^app\s+True\s+Synced\s+Healthy\s+main@sha1:[0-9a-f]{40}\s+\d+s$/);
    const all = await shoal('get', 'groups', '-A');
    expect(all.stdout.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME/);
    expect(all.stdout).toMatch(new RegExp(`${ns}\\s+app\\s+True`));
    const sources = await shoal('get', 'sources', '-n', ns);
    expect(sources.stdout).toContain(repo.url);
    expect(sources.stdout).toMatch(/repo\s+file:\/\/\S+\s+True\s+Succeeded/);
  });

  it('reconcile group --with-source fetches and applies a new commit now', async () => {
    const commit = await repo.commit({ 'apps/c.yaml': cm('2') });
    const r = await shoal('reconcile', 'group', `${ns}/app`, '--with-source');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('gitsource/repo reconcile requested');
    await o.groupAt('app', commit, 15_000);
    expect(await value()).toBe('2');
  });

  it('suspend stops syncing until resume', async () => {
    expect((await shoal('suspend', 'group', `${ns}/app`)).stdout).toBe('appgroup/app suspended\n');
    const commit = await repo.commit({ 'apps/c.yaml': cm('3') });
    await shoal('reconcile', 'group', `${ns}/app`, '--with-source');
    await o.sourceAt('repo', commit);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await value()).toBe('2');
    expect((await shoal('get', 'groups', '-n', ns)).stdout).toMatch(/app\s+True\s+Suspended/);
    expect((await shoal('resume', 'group', `${ns}/app`)).stdout).toBe('appgroup/app resumed\n');
    await o.groupAt('app', commit, 15_000);
    expect(await value()).toBe('3');
  });

  it('says how to use it, with exit status 2', async () => {
    const r = await shoal('reconcile', 'group', 'no-slash');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('usage: shoal reconcile group <namespace>/<name>');
  });
});
