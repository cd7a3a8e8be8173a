import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { useCluster } from '../support/cluster.ts';
import { CHARTS, REAL_WORLD } from '../support/fixtures.ts';
import { shoalCli } from '../support/shoal-cli.ts';

const { cp, kubectl, newNamespace } = useCluster();
const realWorld = REAL_WORLD;

const shoal = (...args: string[]) => shoalCli(cp.kubeconfig, ...args);
const helmPath = `--helm-path=${inject('helm')}`;

describe('shoal render', () => {
  it('renders Online Boutique (35 documents, comment preamble) without a cluster', async () => {
    const r = await shoal('render', join(realWorld, 'online-boutique'), '-n', 'shop');
    expect(r.code).toBe(0);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS());
    expect(docs).toHaveLength(35);
    expect(docs.every((d) => d.metadata.namespace === 'shop')).toBe(true);
  });

  it('leaves cluster-scoped objects without a namespace (a StorageClass after its StatefulSet)', async () => {
    const r = await shoal(
      'render',
      join(realWorld, 'cassandra-statefulset'),
      '-n',
      'db',
      '--group',
      'db/cassandra',
    );
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS());
    const sc = docs.find((d) => d.kind === 'StorageClass');
    expect(sc.metadata.namespace).toBeUndefined();
    expect(docs.find((d) => d.kind === 'StatefulSet').metadata.labels).toMatchObject({
      'shoal.dev/group-name': 'cassandra',
    });
  });

  it('fails with the file name on invalid input (exit 2)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'render-'));
    await writeFile(join(dir, 'bad.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n');
    const r = await shoal('render', dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bad.yaml:4');
    await rm(dir, { recursive: true });
  });
});

describe('shoal render and diff of a chart directory', () => {
  it('renders a chart with values files in order and a release name, with no cluster at all', async () => {
    const demo = join(CHARTS, 'demo');
    const extra = await mkdtemp(join(tmpdir(), 'values-'));
    await writeFile(join(extra, 'mine.yaml'), 'greeting: hello\ncolor: green\n');
    const r = await shoalCli(
      '/nonexistent/kubeconfig',
      'render',
      demo,
      '-n',
      'shop',
      '--values',
      join(demo, 'values-prod.yaml'),
      '-f',
      join(extra, 'mine.yaml'),
      '--release-name',
      'web',
      helmPath,
    );
    await rm(extra, { recursive: true });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS());
    const cm = docs.find((d) => d.kind === 'ConfigMap');
    expect(cm.metadata).toMatchObject({ name: 'web-settings', namespace: 'shop' });
    // values.yaml < values-prod.yaml < mine.yaml
    expect(cm.data.color).toBe('green');
    expect(cm.data.greeting).toBe('hello');
    expect(cm.data.chart).toBe('demo-1.0.0');
    expect(r.stdout).toContain('# Source: demo/templates/configmap.yaml');
  });

  it('says how in --help', async () => {
    for (const command of ['render', 'diff']) {
      const r = await shoalCli('/nonexistent/kubeconfig', command, '--help');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`usage: shoal ${command} <dir> [flags]`);
      expect(r.stdout).toMatch(/-f, --values FILE .*\(repeatable\)/);
    }
  });

  it('prints hooks marked with their phase, and a template error exits 2 with Helm’s message', async () => {
    const r = await shoalCli('/nonexistent/kubeconfig', 'render', join(CHARTS, 'hooks'), helmPath);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('# Hook: pre-install, pre-upgrade (weight -5)');
    expect(r.stdout).toContain('# Hook: post-install, post-upgrade (weight 0)');
    const dir = await mkdtemp(join(tmpdir(), 'chart-'));
    await writeFile(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: broken\nversion: 0.1.0\n');
    await mkdir(join(dir, 'templates'));
    await writeFile(join(dir, 'templates', 'x.yaml'), '{{ required "name is required" .Values.name }}\n');
    const bad = await shoalCli('/nonexistent/kubeconfig', 'render', dir, helmPath);
    await rm(dir, { recursive: true });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('name is required');
    expect(bad.stdout).toBe('');
  });

  it('diffs a chart against the cluster, hooks left out', async () => {
    const ns = await newNamespace('chart-diff');
    const r = await shoal('diff', join(CHARTS, 'hooks'), '-n', ns, '--release-name', 'web', helmPath);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`+ Deployment/${ns}/web-app (created)`);
    expect(r.stdout).not.toContain('Job/');
    expect(r.stdout).toContain('1 to create, 0 to change, 0 to delete, 0 unchanged');
  });
});

describe('shoal diff', () => {
  let ns: string;
  let dir: string;
  const secretValue = 's3cret-value-not-for-your-eyes';

  beforeAll(async () => {
    ns = await newNamespace('diff');
    dir = await mkdtemp(join(tmpdir(), 'diff-'));
    await writeFile(
      join(dir, 'frontend.yaml'),
      (await import('node:fs')).readFileSync(join(realWorld, 'guestbook', 'frontend-deployment.yaml')),
    );
    await writeFile(
      join(dir, 'secret.yaml'),
      `apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {password: ${secretValue}}\n`,
    );
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports objects to create, exits 1, and masks Secret data', async () => {
    const r = await shoal('diff', dir, '-n', ns);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`+ Deployment/${ns}/frontend (created)`);
    expect(r.stdout).toContain(`+ Secret/${ns}/creds (created)`);
    expect(r.stdout).toContain('2 to create, 0 to change, 0 to delete, 0 unchanged');
    expect(r.stdout).not.toContain(secretValue);
  });

  it('exits 0 when applying would change nothing', async () => {
    await kubectl('apply', '--server-side', '--field-manager=shoal', '-n', ns, '-f', dir);
    const r = await shoal('diff', dir, '-n', ns);
    expect(r.stdout).toContain('0 to create, 0 to change, 0 to delete, 2 unchanged');
    expect(r.code).toBe(0);
  });

  it('shows drift as an RFC 6902 patch, naming the field manager that owns the drifted field', async () => {
    await kubectl('-n', ns, 'set', 'image', 'deployment/frontend', 'php-redis=registry.invalid/evil:1');
    await kubectl(
      '-n',
      ns,
      'patch',
      'secret',
      'creds',
      '-p',
      JSON.stringify({ stringData: { password: 'changed-by-hand' } }),
    );
    const text = await shoal('diff', dir, '-n', ns);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(
      '    replace /spec/template/spec/containers/0/image "gcr.io/google-samples/gb-frontend:v5"   (now owned by kubectl-set (update))',
    );
    expect(text.stdout).not.toContain(secretValue);
    expect(text.stdout).not.toContain('changed-by-hand');
    const json = await shoal('diff', dir, '-n', ns, '-o', 'json-patch');
    const entries = JSON.parse(json.stdout) as {
      object: string;
      action: string;
      patch: { op: string; path: string; value?: unknown }[];
    }[];
    const deployment = entries.find((e) => e.object === `Deployment/${ns}/frontend`);
    expect(deployment?.action).toBe('configured');
    expect(deployment?.patch).toEqual([
      {
        op: 'replace',
        path: '/spec/template/spec/containers/0/image',
        value: 'gcr.io/google-samples/gb-frontend:v5',
      },
    ]);
    expect(entries.find((e) => e.object === `Secret/${ns}/creds`)?.patch).toEqual([
      { op: 'replace', path: '/data/password', value: '*** (masked)' },
    ]);
  });
});
