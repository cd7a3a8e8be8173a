import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { useCluster } from '../support/cluster.ts';
import { REAL_WORLD } from '../support/fixtures.ts';
import { shoalCli } from '../support/shoal-cli.ts';

const { cp, kubectl, newNamespace } = useCluster();
const realWorld = REAL_WORLD;

const shoal = (...args: string[]) => shoalCli(cp.kubeconfig, ...args);

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
