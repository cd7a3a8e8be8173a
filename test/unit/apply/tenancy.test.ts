import { describe, expect, it } from 'vitest';
import {
  policyRule,
  policyViolation,
  policyViolations,
  type TenancyPolicy,
} from '../../../src/apply/tenancy.ts';

const policy: TenancyPolicy = {
  privilegedNamespaces: new Set(['shoal-system']),
  allowCrossNamespaceTargets: false,
};
const tenant = { namespace: 'tenant', name: 'app', targetNamespace: 'tenant-web', impersonating: false };
const cm = (namespace?: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  name: 'c',
  ...(namespace ? { namespace } : {}),
});
const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'all' };

describe('the tenancy policy', () => {
  it.each([
    ['a namespaced object in its own namespace', cm('tenant'), tenant, policy, false],
    ['an object in another namespace', cm('kube-system'), tenant, policy, true],
    ['a cluster-scoped object', role, tenant, policy, true],
    ['its targetNamespace without the flag', cm('tenant-web'), tenant, policy, true],
    [
      'its targetNamespace with the flag',
      cm('tenant-web'),
      tenant,
      { ...policy, allowCrossNamespaceTargets: true },
      false,
    ],
    [
      'another namespace than its target, with the flag',
      cm('kube-system'),
      tenant,
      { ...policy, allowCrossNamespaceTargets: true },
      true,
    ],
    [
      'anything, when it impersonates (RBAC decides)',
      role,
      { ...tenant, impersonating: true },
      policy,
      false,
    ],
    [
      'anything, from a privileged namespace',
      cm('kube-system'),
      { ...tenant, namespace: 'shoal-system' },
      policy,
      false,
    ],
  ] as const)('%s: refused=%s', (_, ref, group, p, refused) => {
    expect(policyViolation(ref, group, p) !== undefined).toBe(refused);
  });

  it('names the object and what broke the rule; the rule and the way out are said once', () => {
    const [ns, cluster] = policyViolations([cm('kube-system'), role], tenant, policy);
    expect(ns).toBe('ConfigMap/kube-system/c: namespace kube-system is not permitted');
    expect(cluster).toBe('ClusterRole/all is cluster-scoped');
    expect(policyViolation(cm('tenant-web'), tenant, policy)).toContain('--allow-cross-namespace-targets');
    expect(policyRule(tenant)).toContain('spec.serviceAccountName');
  });
});
