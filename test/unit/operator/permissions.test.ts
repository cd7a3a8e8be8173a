import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { PERMISSIONS } from '../../../src/operator/permissions.ts';

const root = resolve(import.meta.dirname, '..', '..', '..');

interface Role {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
}

const grants = (
  role: string,
  scope: string,
  groups: string[],
  resources: readonly string[],
  verbs: readonly string[],
) =>
  groups.flatMap((g) =>
    resources.flatMap((r) => verbs.map((v) => `${role} ${scope} ${g || 'core'} ${r} ${v}`)),
  );

describe('the operator’s permissions', () => {
  it('manifests/rbac.yaml grants exactly what src/operator/permissions.ts says it needs', () => {
    const docs = parseAllDocuments(readFileSync(join(root, 'manifests', 'rbac.yaml'), 'utf8')).map(
      (d) => d.toJS() as Role,
    );
    const manifest = docs
      .filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role')
      .flatMap((d) =>
        (d.rules ?? []).flatMap((r) =>
          grants(
            d.metadata.name,
            d.kind === 'Role' ? 'namespace' : 'cluster',
            r.apiGroups,
            r.resources,
            r.verbs,
          ),
        ),
      )
      .sort();
    const needed = PERMISSIONS.flatMap((p) =>
      grants(p.role, p.scope, [p.group], p.resources, p.verbs),
    ).sort();
    expect(manifest).toEqual(needed);
    // Every role is bound to the operator's account.
    const bound = docs
      .filter((d) => d.kind.endsWith('Binding'))
      .map((d) => (d as unknown as { roleRef: { name: string } }).roleRef.name)
      .sort();
    expect(bound).toEqual(['shoal-applier', 'shoal-controller', 'shoal-leader-election']);
  });
});
