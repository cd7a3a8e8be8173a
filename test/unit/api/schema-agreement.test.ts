import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appGroupSpecSchema, appGroupStatusSchema } from '../../../src/api/schema/app-group-schema.ts';
import type { Schema } from '../../../src/api/schema/builders.ts';
import {
  chartSourceSpecSchema,
  chartSourceStatusSchema,
} from '../../../src/api/schema/chart-source-schema.ts';
import { renderCrdFiles } from '../../../src/api/schema/crd-files.ts';
import { gitSourceSpecSchema, gitSourceStatusSchema } from '../../../src/api/schema/git-source-schema.ts';
import { fullAppGroup, fullChartSource, fullGitSource } from '../../fixtures/full-objects.ts';

/** Every property path of a schema; arrays as [], free-form values (preserve-unknown) as leaves. */
function schemaPaths(schema: Schema, prefix = ''): string[] {
  if (schema.properties) {
    return Object.entries(schema.properties).flatMap(([k, v]) => {
      const p = `${prefix}.${k}`;
      const children = schemaPaths(v, p);
      return children.length > 0 ? children : [p];
    });
  }
  if (schema.items) return schemaPaths(schema.items, `${prefix}[]`);
  return [];
}

/** Every property path of a value, in the same notation. */
function valuePaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return [...new Set(value.flatMap((v) => valuePaths(v, `${prefix}[]`)))];
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => {
      const p = `${prefix}.${k}`;
      const children = k === 'value' && prefix.endsWith('patch[]') ? [] : valuePaths(v, p);
      return children.length > 0 ? children : [p];
    });
  }
  return [];
}

const sorted = (xs: string[]) => [...new Set(xs)].sort();

describe('the TypeScript types and the CRD schemas agree', () => {
  // The fixtures are typed DeepRequired<...>: tsc forces them to hold every field of the TS types and
  // nothing else. Comparing their paths with the schema's proves the two cannot drift apart.
  it.each([
    ['GitSource spec', gitSourceSpecSchema, () => fullGitSource.spec],
    ['GitSource status', gitSourceStatusSchema, () => fullGitSource.status],
    ['AppGroup spec', appGroupSpecSchema, () => fullAppGroup.spec],
    ['AppGroup status', appGroupStatusSchema, () => fullAppGroup.status],
    ['ChartSource spec', chartSourceSpecSchema, () => fullChartSource.spec],
    ['ChartSource status', chartSourceStatusSchema, () => fullChartSource.status],
  ] as [string, Schema, () => unknown][])('%s: same fields', (_, schema, value) => {
    expect(sorted(valuePaths(value()))).toEqual(sorted(schemaPaths(schema)));
  });
});

describe('crds/', () => {
  it('holds exactly what `npm run crds` generates from src/api/schema', async () => {
    for (const [name, text] of renderCrdFiles()) {
      const committed = await readFile(join(import.meta.dirname, '..', '..', '..', 'crds', name), 'utf8');
      expect(committed, `crds/${name} is stale: run npm run crds`).toBe(text);
    }
  });

  it('documents every field, so kubectl explain has something to say', () => {
    const undocumented: string[] = [];
    const walk = (s: Schema, path: string) => {
      if (!s.description) undocumented.push(path);
      for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${path}.${k}`);
      if (s.items) walk(s.items, `${path}[]`);
    };
    walk(appGroupSpecSchema, 'appgroup.spec');
    walk(gitSourceSpecSchema, 'gitsource.spec');
    expect(undocumented).toEqual([]);
  });
});
