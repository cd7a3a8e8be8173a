import { describe, expect, it } from 'vitest';
import { namespaceOfPath } from '../../../src/kube/list-watch.ts';

describe('namespaceOfPath (the namespace an informer lists in)', () => {
  it.each([
    ['/api/v1/namespaces/a/configmaps', 'a'],
    ['/apis/shoal.dev/v1alpha1/namespaces/team-b/appgroups', 'team-b'],
    ['/apis/events.k8s.io/v1/namespaces/c/events/', 'c'],
    ['/apis/shoal.dev/v1alpha1/appgroups', undefined],
    ['/api/v1/configmaps', undefined],
    // The namespaces themselves, and a kind named like the segment, are across all namespaces.
    ['/api/v1/namespaces', undefined],
    ['/apis/example.com/v1/namespaces', undefined],
  ])('%s → %s', (path, namespace) => {
    expect(namespaceOfPath(path)).toBe(namespace);
  });
});
