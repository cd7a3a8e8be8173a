import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/api/object.ts';
import { hookState } from '../../../src/apply/hooks.ts';
import { missingDependencies } from '../../../src/render/chart-dependencies.ts';
import { DEFAULT_HELM_OPTIONS, helmTemplate, splitHelmOutput } from '../../../src/render/helm.ts';
import { hookBatches, hookOf } from '../../../src/render/hooks.ts';
import { realClock } from '../../../src/runtime/clock.ts';
import { CHARTS } from '../../support/fixtures.ts';

const obj = (kind: string, name: string, annotations: Record<string, string> = {}): KubeObject => ({
  apiVersion: kind === 'Job' ? 'batch/v1' : 'v1',
  kind,
  metadata: { name, annotations },
});

describe('helm template output', () => {
  it('is split per template by its # Source line, documents of one template kept together', () => {
    const out = [
      '---',
      '# Source: demo/templates/a.yaml',
      'kind: ConfigMap',
      '---',
      '# Source: demo/templates/b.yaml',
      'kind: Secret',
      '---',
      '# Source: demo/templates/a.yaml',
      'kind: Service',
      '---',
      'kind: Orphan',
      '',
    ].join('\n');
    const files = splitHelmOutput(out);
    expect(files.map((f) => f.path)).toEqual([
      'demo/templates/a.yaml',
      'demo/templates/b.yaml',
      'helm template',
    ]);
    expect(files[0]?.content).toContain('kind: ConfigMap');
    expect(files[0]?.content).toContain('kind: Service');
    expect(files[0]?.content.split('---').length).toBe(2);
    expect(splitHelmOutput('\n---\n\n')).toEqual([]);
  });
});

describe('helmTemplate without helm', () => {
  it('is BuildFailed saying how to point at it', async () => {
    const work = await mkdtemp(join(tmpdir(), 'helm-work-'));
    const render = {
      chartDir: join(CHARTS, 'demo'),
      root: join(CHARTS, 'demo'),
      releaseName: 'x',
      namespace: 'default',
      valuesFiles: [],
      values: [],
      includeCRDs: true,
      skipTests: true,
    };
    const err = await helmTemplate(
      render,
      { ...DEFAULT_HELM_OPTIONS, binary: '/nonexistent/helm', workDir: work },
      realClock,
    ).catch((e: unknown) => e as { reason: string; message: string });
    expect(err).toMatchObject({
      reason: 'BuildFailed',
      message: 'helm was not found (/nonexistent/helm); install it or pass --helm-path',
    });
    const outside = await helmTemplate(
      { ...render, valuesFiles: ['../podinfo/values.yaml'] },
      { ...DEFAULT_HELM_OPTIONS, binary: '/nonexistent/helm', workDir: work },
      realClock,
    ).catch((e: unknown) => e as { reason: string });
    expect(outside).toMatchObject({ reason: 'SecurityViolation' });
    await rm(work, { recursive: true, force: true });
  });
});

describe('hooks', () => {
  it('reads phases, weight and delete policies, with Helm’s defaults', () => {
    expect(hookOf(obj('ConfigMap', 'plain'))).toBeUndefined();
    expect(
      hookOf(
        obj('Job', 'migrate', { 'helm.sh/hook': 'pre-install, pre-upgrade', 'helm.sh/hook-weight': '-5' }),
      ),
    ).toEqual({
      phases: ['pre-install', 'pre-upgrade'],
      weight: -5,
      deletePolicies: ['before-hook-creation'],
    });
    expect(
      hookOf(
        obj('Pod', 't', {
          'helm.sh/hook': 'test-success',
          'helm.sh/hook-weight': 'heavy',
          'helm.sh/hook-delete-policy': 'hook-succeeded,hook-failed,nonsense',
        }),
      ),
    ).toEqual({ phases: ['test'], weight: 0, deletePolicies: ['hook-succeeded', 'hook-failed'] });
    // A pre-delete hook is a hook (not applied with the release) that Shoal never runs.
    expect(hookOf(obj('Job', 'cleanup', { 'helm.sh/hook': 'pre-delete' }))?.phases).toEqual([]);
  });

  it('batches a phase by weight, lowest first, in kind and name order within a weight', () => {
    const items = [
      obj('Job', 'b', { 'helm.sh/hook': 'pre-install', 'helm.sh/hook-weight': '1' }),
      obj('Job', 'a', { 'helm.sh/hook': 'pre-install', 'helm.sh/hook-weight': '1' }),
      obj('ConfigMap', 'z', { 'helm.sh/hook': 'pre-install', 'helm.sh/hook-weight': '-1' }),
      obj('Job', 'post', { 'helm.sh/hook': 'post-install' }),
      obj('ConfigMap', 'main'),
    ].map((object) => {
      const hook = hookOf(object);
      return hook ? { object, hook } : { object };
    });
    const names = (phase: 'pre-install' | 'post-install') =>
      hookBatches(items, phase).map((b) => b.map((i) => i.object.metadata.name));
    expect(names('pre-install')).toEqual([['z'], ['a', 'b']]);
    expect(names('post-install')).toEqual([['post']]);
  });

  it('a Job is done when Complete, failed when Failed; other hooks when Current', () => {
    const job = (conditions: { type: string; status: string; message?: string }[]) => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'j' },
      status: { conditions },
    });
    expect(hookState(job([]))).toEqual({ done: false });
    expect(hookState(job([{ type: 'Complete', status: 'True' }]))).toEqual({ done: true });
    expect(hookState(job([{ type: 'Failed', status: 'True', message: 'BackoffLimitExceeded' }]))).toEqual({
      done: true,
      failed: 'BackoffLimitExceeded',
    });
    expect(hookState({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } })).toEqual({
      done: true,
    });
  });
});

describe('chart dependencies', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const chart = async (files: Record<string, string>) => {
    const dir = await mkdtemp(join(tmpdir(), 'deps-'));
    dirs.push(dir);
    for (const [path, text] of Object.entries(files)) {
      await mkdir(join(dir, path, '..'), { recursive: true });
      await writeFile(join(dir, path), text);
    }
    return dir;
  };

  it('lists what charts/ lacks, at the version Chart.lock pins', async () => {
    const dir = await chart({
      'Chart.yaml':
        'apiVersion: v2\nname: p\nversion: 1.0.0\ndependencies:\n' +
        '- {name: a, version: ">=1", repository: "https://charts.example"}\n' +
        '- {name: b, version: "2.x", repository: "oci://registry.example/charts"}\n' +
        '- {name: c, version: "1.0.0", repository: "https://charts.example"}\n' +
        '- {name: d, version: "1.0.0", repository: "https://charts.example"}\n',
      'Chart.lock': 'dependencies:\n- {name: a, version: 1.4.2, repository: "https://charts.example"}\n',
      'charts/c/Chart.yaml': 'apiVersion: v2\nname: c\nversion: 1.0.0\n',
      'charts/d-1.0.0.tgz': '',
    });
    expect(await missingDependencies(dir)).toEqual([
      { name: 'a', version: '1.4.2', repository: 'https://charts.example' },
      { name: 'b', version: '2.x', repository: 'oci://registry.example/charts' },
    ]);
  });

  it('refuses file:// and other schemes, and says how to vendor', async () => {
    const local = await chart({
      'Chart.yaml':
        'apiVersion: v2\nname: p\nversion: 1.0.0\ndependencies:\n- {name: a, version: 1.0.0, repository: "file://../a"}\n',
    });
    await expect(missingDependencies(local)).rejects.toThrow(
      'the dependency a (file://../a) is not in charts/; vendor it (helm dependency build)',
    );
    const ssh = await chart({
      'Chart.yaml':
        'apiVersion: v2\nname: p\nversion: 1.0.0\ndependencies:\n- {name: a, version: 1.0.0, repository: "git@host:x"}\n',
    });
    await expect(missingDependencies(ssh)).rejects.toThrow('only https://, http:// and oci:// are fetched');
    const none = await chart({ 'Chart.yaml': 'apiVersion: v2\nname: p\nversion: 1.0.0\n' });
    expect(await missingDependencies(none)).toEqual([]);
  });
});
