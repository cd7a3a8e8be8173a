import { describe, expect, it } from 'vitest';
import { parseManifests } from '../../../src/render/parse-manifests.ts';

const file = (path: string, content: string) => ({ path, content });

describe('parseManifests', () => {
  it('reads multi-document files in order, skipping empty documents and comments', () => {
    const out = parseManifests([
      file(
        'a.yaml',
        '# preamble\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\n# trailing\n',
      ),
      file('b.json', '{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "b"}}'),
    ]);
    expect(out.map((o) => `${o.source}:${o.object.kind}/${o.object.metadata.name}`)).toEqual([
      'a.yaml#0:ConfigMap/a',
      'a.yaml#2:Secret/s',
      'b.json:Service/b',
    ]);
  });

  it('expands kind: List', () => {
    const out = parseManifests([
      file(
        'list.yaml',
        'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: y}}\n',
      ),
    ]);
    expect(out.map((o) => o.object.metadata.name)).toEqual(['x', 'y']);
  });

  it.each([
    ['a tab indent', 'apiVersion: v1\nkind: A\nmetadata:\n\tname: a\n', /ParseFailed|x\.yaml:4: Tabs/],
    ['an unclosed quote', 'apiVersion: "v1\nkind: A\n', /x\.yaml:\d+/],
    [
      'a duplicate key',
      'apiVersion: v1\napiVersion: v2\nkind: A\nmetadata: {name: a}\n',
      /x\.yaml:2: Map keys must be unique/,
    ],
    ['a missing kind', 'apiVersion: v1\nmetadata: {name: a}\n', /x\.yaml: missing kind/],
    ['a missing apiVersion', 'kind: A\nmetadata: {name: a}\n', /x\.yaml: missing apiVersion/],
    [
      'generateName only',
      'apiVersion: v1\nkind: A\nmetadata: {generateName: a-}\n',
      /missing metadata\.name \(generateName is not supported/,
    ],
    ['a scalar document', 'just a string\n', /x\.yaml: not a Kubernetes object \(a string\)/],
    ['a list document', '- a\n- b\n', /x\.yaml: not a Kubernetes object \(a list\)/],
  ])('refuses %s with a message naming the file', (_, content, message) => {
    expect(() => parseManifests([file('x.yaml', content)])).toThrow(message);
  });

  it('refuses a YAML alias bomb quickly, through the alias budget', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    const names = 'bcdefghi'.split('');
    names.forEach((n, i) => {
      const prev = i === 0 ? 'a' : names[i - 1];
      lines.push(`${n}: &${n} [${Array(9).fill(`*${prev}`).join(',')}]`);
    });
    const started = performance.now();
    expect(() => parseManifests([file('bomb.yaml', `${lines.join('\n')}\n`)])).toThrow(
      /bomb\.yaml: Excessive alias count/,
    );
    // A generous bound: expanding the bomb would take minutes and gigabytes.
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('refuses documents nested deeper than the budget', () => {
    const deep = `${'['.repeat(100)}${']'.repeat(100)}`;
    expect(() =>
      parseManifests([file('deep.yaml', `apiVersion: v1\nkind: A\nmetadata: {name: a}\nx: ${deep}\n`)]),
    ).toThrow(/deep\.yaml: nested deeper than 64 levels/);
  });
});
