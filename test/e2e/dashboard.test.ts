/**
 * The dashboard in a real browser (Debian's Chromium through Playwright) against a real operator
 * (in this process, `--dashboard-addr`) and a real API server with tier B (controllers, KWOK
 * pods, metrics-server): states, live updates over server-sent events, the object tree down to
 * pods, a drift's diff with the manager that made it, an autoscaling chart after a scale-up, and
 * RBAC: a viewer who may read only namespace A sees nothing of B, actions need patch, and nothing is
 * served without a token. Every test saves a screenshot under .shoal/screenshots/.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startBrowser } from '../support/browser.ts';
import { useCluster } from '../support/cluster.ts';
import { REAL_WORLD } from '../support/fixtures.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { shoalObjects } from '../support/objects.ts';
import { startOperator } from '../support/operator.ts';
import { waitFor } from '../support/wait.ts';

const run = promisify(execFile);
const { cp, kube, kubectl, newNamespace, serviceAccountWithRole } = useCluster();
const settings = (v: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: "${v}"}\n`;
const shortSha = (sha: string) => sha.slice(0, 12);

describe('the dashboard in a browser', () => {
  let a: string;
  let b: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startOperator>>;
  let browser: Awaited<ReturnType<typeof startBrowser>>;
  let url: string;
  let adminToken: string;
  let viewerToken: string;
  let oa: ReturnType<typeof shoalObjects>;
  const shots: string[] = [];

  const signIn = async (token: string) => {
    const { page, errors } = await browser.page();
    await page.goto(url);
    await page.getByLabel('Kubernetes bearer token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('who').waitFor();
    // The page asked who it was before the sign-in: that 401 is expected, nothing after it is.
    errors.length = 0;
    return { page, errors };
  };
  const shot = async (page: Page, name: string) => shots.push(await browser.screenshot(page, name));
  const api = (path: string, token?: string, init: RequestInit = {}) =>
    fetch(`${url}${path}`, {
      ...init,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...init.headers },
    });

  beforeAll(async () => {
    a = await newNamespace('dash-a');
    b = await newNamespace('dash-b');
    const podinfo = join(REAL_WORLD, 'podinfo-kustomize');
    repo = await gitRepo({
      'web/deployment.yaml': await readFile(join(podinfo, 'deployment.yaml'), 'utf8'),
      'web/service.yaml': await readFile(join(podinfo, 'service.yaml'), 'utf8'),
      'web/settings.yaml': settings('a'),
      'broken/bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n',
      'other/settings.yaml': settings('b'),
    });
    shoal = await startOperator({
      kubeconfig: cp.kubeconfig,
      kustomize: inject('kustomize'),
      helm: inject('helm'),
      extraArgs: ['--allow-file-urls', '--dashboard-addr=127.0.0.1:0', '--autoscaler-sync-period=3s'],
    });
    url = shoal.dashboardUrl as string;
    oa = shoalObjects(kube, a);
    const ob = shoalObjects(kube, b);
    await oa.source('repo', { url: repo.url, interval: '1s' });
    await ob.source('repo', { url: repo.url, interval: '1h' });
    await oa.group('web', {
      sourceRef: { name: 'repo' },
      path: 'web',
      interval: '1h',
      timeout: '2m',
      // KWOK pods report 90m of CPU against podinfo's request of 100m: 90 % against a target of 50 %.
      patches: [
        {
          target: { kind: 'Deployment', name: 'podinfo' },
          patch: [
            { op: 'add', path: '/spec/template/metadata/annotations/kwok.x-k8s.io~1usage-cpu', value: '90m' },
          ],
        },
      ],
      apps: [
        {
          name: 'podinfo',
          autoscaling: {
            minReplicas: 2,
            maxReplicas: 4,
            metrics: [
              {
                type: 'Resource',
                resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
              },
            ],
          },
        },
      ],
    });
    await oa.group('broken', { sourceRef: { name: 'repo' }, path: 'broken', interval: '1h' });
    await ob.group('secret-b', { sourceRef: { name: 'repo' }, path: 'other', interval: '1h' });
    await kube.apply({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'dash-admin', namespace: a },
    });
    await kube.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `dash-admin-${a}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'dash-admin', namespace: a }],
    });
    await serviceAccountWithRole(a, 'viewer', [
      {
        apiGroups: ['shoal.dev'],
        resources: ['appgroups', 'gitsources', 'chartsources'],
        verbs: ['get', 'list', 'watch'],
      },
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
    ]);
    adminToken = (await kubectl('create', 'token', 'dash-admin', '-n', a)).trim();
    viewerToken = (await kubectl('create', 'token', 'viewer', '-n', a)).trim();
    browser = await startBrowser((l) => process.stderr.write(`[dashboard] ${l}\n`));
    await oa.groupAt('web', await repo.head(), 120_000);
    await ob.groupAt('secret-b', await repo.head(), 60_000);
  });

  afterAll(async () => {
    process.stderr.write(`[dashboard] screenshots:\n${shots.map((s) => `  ${s}`).join('\n')}\n`);
    await browser?.close();
    await shoal?.stop();
    await repo?.remove();
    await kubectl('delete', 'clusterrolebinding', `dash-admin-${a}`, '--ignore-not-found').catch(
      () => undefined,
    );
  });

  it('serves nothing without a token, refuses a bad one, and sends its security headers', async () => {
    expect((await api('/api/overview')).status).toBe(401);
    expect((await api('/api/overview', 'not-a-token')).status).toBe(401);
    const login = await api('/api/session', undefined, {
      method: 'POST',
      headers: { origin: url, 'content-type': 'application/json' },
      body: JSON.stringify({ token: 'not-a-token' }),
    });
    expect(login.status).toBe(401);
    const page = await api('/');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const html = await page.text();
    const asset = /assets\/(main\.[A-Z0-9]+\.js)/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const js = await api(`/assets/${asset}`);
    expect(js.headers.get('cache-control')).toContain('immutable');
  });

  it('lists the groups and sources with their states, and totals', async () => {
    const { page, errors } = await signIn(adminToken);
    const row = (kind: string, ns: string, name: string) => page.getByTestId(`row-${kind}-${ns}-${name}`);
    await row('AppGroup', a, 'web').waitFor();
    await waitFor(
      'web Ready in the page',
      async () => (await row('AppGroup', a, 'web').getAttribute('data-state')) === 'Ready',
    );
    await waitFor(
      'broken Failing',
      async () => (await row('AppGroup', a, 'broken').getAttribute('data-state')) === 'Failing',
    );
    expect(await row('AppGroup', a, 'broken').textContent()).toContain('ParseFailed');
    expect(await row('GitSource', a, 'repo').getAttribute('data-state')).toBe('Ready');
    expect(Number(await page.getByTestId('total-Failing').textContent())).toBeGreaterThanOrEqual(1);
    await page.getByLabel('Namespace').selectOption(b);
    await row('AppGroup', a, 'web').waitFor({ state: 'detached' });
    expect(await row('AppGroup', b, 'secret-b').count()).toBe(1);
    await page.getByLabel('Namespace').selectOption('');
    await shot(page, 'overview');
    expect(errors, errors.join('\n')).toEqual([]);
    await page.context().close();
  });

  it('shows a commit live, without a reload, soon after the status names it', async () => {
    const { page, errors } = await signIn(adminToken);
    const cell = page.getByTestId(`row-AppGroup-${a}-web`).locator('code');
    await cell.waitFor();
    // Set in the page; a reload would lose it.
    await page.evaluate('window.marker = 42');
    const commit = await repo.commit({ 'web/settings.yaml': settings('live') });
    const applied = await oa.groupAt('web', commit, 60_000);
    const statusAt = Date.now();
    await cell.filter({ hasText: shortSha(commit) }).waitFor({ timeout: 10_000 });
    const shownAfterMs = Date.now() - statusAt;
    process.stderr.write(`[dashboard] status to page: ${shownAfterMs} ms\n`);
    expect(applied.status?.lastAppliedRevision).toContain(commit);
    expect(await page.evaluate('window.marker')).toBe(42);
    await shot(page, 'overview-live');
    expect(errors, errors.join('\n')).toEqual([]);
    await page.context().close();
  });

  it('shows a failing group’s reason and message', async () => {
    const { page } = await signIn(adminToken);
    await page.goto(`${url}/#/groups/${a}/broken`);
    await page.getByTestId('ready-message').waitFor();
    expect(await page.getByTestId('ready').textContent()).toContain('ParseFailed');
    expect(await page.getByTestId('ready-message').textContent()).toContain('bad.yaml');
    await shot(page, 'group-failing');
    await page.context().close();
  });

  it('shows the podinfo group’s objects down to its ReplicaSet and pods on KWOK nodes', async () => {
    const { page, errors } = await signIn(adminToken);
    await page.goto(`${url}/#/groups/${a}/web`);
    const deployment = page.getByTestId('object-Deployment-podinfo');
    await deployment.waitFor();
    await page.getByTestId('object-Service-podinfo').waitFor();
    await waitFor(
      'the Deployment Current',
      async () => (await deployment.textContent())?.includes('Current'),
      { timeoutMs: 60_000 },
    );
    await deployment.getByRole('button').click();
    const pod = page.locator('[data-testid^="pod-podinfo-"]').first();
    await pod.waitFor();
    expect(await page.locator('[data-testid^="rs-podinfo-"]').count()).toBeGreaterThanOrEqual(1);
    expect(await pod.textContent()).toContain('Running');
    expect(await pod.textContent()).toContain('kwok-node-');
    await shot(page, 'group-tree');
    expect(errors, errors.join('\n')).toEqual([]);
    await page.context().close();
  });

  it('shows a kubectl edit drift as a diff naming kubectl-edit, once Shoal reverted it', async () => {
    await run('kubectl', ['--kubeconfig', cp.kubeconfig, '-n', a, 'edit', 'configmap', 'settings'], {
      env: { ...process.env, KUBE_EDITOR: 'sed -i s/mode:\\ live/mode:\\ edited/' },
    });
    await waitFor('Shoal to revert the edit', async () => {
      const cm = await kube.get<{ data: { mode: string } }>({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: a,
        name: 'settings',
      });
      return cm?.data.mode === 'live';
    });
    const { page, errors } = await signIn(adminToken);
    await page.goto(`${url}/#/groups/${a}/web`);
    const changes = page.getByTestId('changes');
    await changes.waitFor();
    await waitFor('the diff in the page', async () =>
      (await changes.textContent())?.includes('kubectl-edit'),
    );
    const text = (await changes.textContent()) ?? '';
    expect(text).toContain(`ConfigMap/${a}/settings`);
    expect(text).toContain('replace /data/mode "live"');
    expect(text).toContain('changed by kubectl-edit');
    await shot(page, 'group-drift-diff');
    expect(errors, errors.join('\n')).toEqual([]);
    await page.context().close();
  });

  it('charts the autoscaler: replicas with the rescale marked, CPU against its target', async () => {
    await waitFor(
      'the scale-up to 4',
      async () =>
        (await oa.getGroup('web'))?.status?.apps?.find((x) => x.name === 'podinfo')?.replicas.current === 4,
      { timeoutMs: 150_000, intervalMs: 500 },
    );
    const { page, errors } = await signIn(adminToken);
    await page.goto(`${url}/#/groups/${a}/web`);
    const app = page.getByTestId('autoscaling-podinfo');
    await app.waitFor();
    const replicas = app.locator('figure.chart').first();
    await waitFor(
      'a point and a marker',
      async () => Number(await replicas.getAttribute('data-markers')) >= 1,
    );
    expect(Number(await replicas.getAttribute('data-points'))).toBeGreaterThanOrEqual(2);
    expect(await app.locator('figure.chart').count()).toBeGreaterThanOrEqual(2);
    // The charts draw on their canvases after the figures (and their data attributes) are in place.
    await waitFor('both charts drawn', async () => (await app.locator('canvas').count()) >= 2);
    expect(await page.getByTestId('rescales-podinfo').textContent()).toMatch(/→ 4/);
    await shot(page, 'group-autoscaling');
    expect(errors, errors.join('\n')).toEqual([]);
    await page.context().close();
  });

  it('shows a viewer who may read only namespace A nothing of B, in the API and the page', async () => {
    const overview = (await (await api('/api/overview', viewerToken)).json()) as {
      rows: { namespace: string }[];
      namespaces: string[];
    };
    expect(overview.rows.length).toBeGreaterThan(0);
    expect(new Set(overview.rows.map((r) => r.namespace))).toEqual(new Set([a]));
    expect(overview.namespaces).toEqual([a]);
    expect((await api(`/api/groups/${b}/secret-b`, viewerToken)).status).toBe(403);
    expect((await api(`/api/groups/${b}/secret-b/autoscaling`, viewerToken)).status).toBe(403);
    const { page } = await signIn(viewerToken);
    await page.getByTestId(`row-AppGroup-${a}-web`).waitFor();
    expect(await page.content()).not.toContain(b);
    await page.goto(`${url}/#/groups/${b}/secret-b`);
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('not allowed');
    await shot(page, 'viewer-namespace-a');
    await page.context().close();
  });

  it('refuses an action to a viewer without patch (no write), and takes one from a viewer with it', async () => {
    const ref = { apiVersion: 'shoal.dev/v1alpha1', kind: 'AppGroup', namespace: a, name: 'web' };
    const before = await kube.get<{
      metadata: { resourceVersion: string; annotations?: Record<string, string> };
    }>(ref);
    const refused = await api(`/api/groups/${a}/web/reconcile`, viewerToken, { method: 'POST' });
    expect(refused.status).toBe(403);
    const after = await kube.get<{ metadata: { resourceVersion: string } }>(ref);
    expect(after?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);
    // A browser session without the CSRF token is refused too.
    const { page } = await signIn(adminToken);
    const forged = await page.evaluate(
      async (path) => (await fetch(path, { method: 'POST' })).status,
      `/api/groups/${a}/web/reconcile`,
    );
    expect(forged).toBe(403);
    await page.goto(`${url}/#/groups/${a}/web`);
    await page.getByRole('button', { name: 'Reconcile now' }).click();
    await page.getByRole('status').waitFor();
    await waitFor(
      'the requested-at annotation',
      async () =>
        (await kube.get<{ metadata: { annotations?: Record<string, string> } }>(ref))?.metadata.annotations?.[
          'shoal.dev/requested-at'
        ],
    );
    await shot(page, 'group-action');
    await page.context().close();
    // The viewer's page offers no buttons at all.
    const viewer = await signIn(viewerToken);
    await viewer.page.goto(`${url}/#/groups/${a}/web`);
    await viewer.page.getByTestId('tree').waitFor();
    expect(await viewer.page.getByRole('button', { name: 'Reconcile now' }).count()).toBe(0);
    await viewer.page.context().close();
  });

  it('follows the system’s dark theme', async () => {
    const { page } = await browser.page({ colorScheme: 'dark' });
    await page.goto(url);
    await page.getByLabel('Kubernetes bearer token').fill(adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId(`row-AppGroup-${a}-web`).waitFor();
    const bg = await page.evaluate('getComputedStyle(document.body).backgroundColor');
    expect(bg).toBe('rgb(13, 17, 23)');
    await shot(page, 'overview-dark');
    await page.context().close();
  });
});
