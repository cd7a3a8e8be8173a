import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_KUSTOMIZE_OPTIONS,
  kustomizationReferences,
  kustomizeBuild,
} from '../../../src/render/kustomize.ts';

describe('kustomizationReferences', () => {
  it('finds every path a kustomization reads, generators and patches included', () => {
    expect(
      kustomizationReferences({
        resources: ['deploy.yaml', '../base'],
        bases: ['../legacy'],
        components: ['../components/x'],
        patchesStrategicMerge: ['patch.yaml', 'apiVersion: v1\nkind: ConfigMap\n'],
        patches: [{ path: 'p.yaml' }, { patch: 'inline' }],
        patchesJson6902: [{ path: 'j.yaml' }],
        configMapGenerator: [{ files: ['config.json', 'key=other.txt'], envs: ['vars.env'] }],
        secretGenerator: [{ env: 'secret.env' }],
        openapi: { path: 'schema.json' },
      }).sort(),
    ).toEqual(
      [
        'deploy.yaml',
        '../base',
        '../legacy',
        '../components/x',
        'patch.yaml',
        'p.yaml',
        'j.yaml',
        'config.json',
        'other.txt',
        'vars.env',
        'secret.env',
        'schema.json',
      ].sort(),
    );
  });
});

describe('kustomizeBuild', () => {
  it('says clearly when the kustomize binary is missing', async () => {
    const root = await mkdtemp(join(tmpdir(), 'kust-'));
    await mkdir(join(root, 'app'));
    await writeFile(join(root, 'app', 'kustomization.yaml'), 'resources: []\n');
    await expect(
      kustomizeBuild(
        root,
        'app',
        { ...DEFAULT_KUSTOMIZE_OPTIONS, binary: join(root, 'no-such-kustomize') },
        root,
      ),
    ).rejects.toMatchObject({
      reason: 'BuildFailed',
      message: expect.stringContaining('kustomize was not found'),
    });
    await rm(root, { recursive: true });
  });
});
