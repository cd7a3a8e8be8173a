import { describeRef, type ObjectRef } from '../api/object-key.ts';

/** The operator's tenancy settings (flags). */
export interface TenancyPolicy {
  /**
   * Namespaces whose AppGroups may write anywhere with the operator's identity (default: the
   * operator's own namespace, where only cluster administrators create AppGroups).
   */
  privilegedNamespaces: ReadonlySet<string>;
  /** Whether a group that does not impersonate may write into its spec.targetNamespace. */
  allowCrossNamespaceTargets: boolean;
}

export const DEFAULT_TENANCY_POLICY: TenancyPolicy = {
  privilegedNamespaces: new Set(['shoal-system']),
  allowCrossNamespaceTargets: false,
};

/** What the policy needs to know of one group. */
export interface TenancySubject {
  namespace: string;
  name: string;
  targetNamespace?: string;
  /** The group applies as a ServiceAccount (its own or the operator's default): RBAC decides. */
  impersonating: boolean;
}

/**
 * Why `ref` may not be written (or deleted) by `group`, in a few words, or undefined when it may. A
 * group that impersonates a ServiceAccount is bounded by that account's RBAC and a group in a
 * privileged namespace is trusted; any other group applies with the operator's identity and so may
 * touch only namespaced objects in its own namespace (and its targetNamespace, when the operator
 * allows it). Pure.
 */
export function policyViolation(
  ref: ObjectRef,
  group: TenancySubject,
  policy: TenancyPolicy,
): string | undefined {
  if (group.impersonating || policy.privilegedNamespaces.has(group.namespace)) return undefined;
  if (ref.namespace === undefined) return `${describeRef(ref)} is cluster-scoped`;
  if (ref.namespace === group.namespace) return undefined;
  if (ref.namespace === group.targetNamespace) {
    if (policy.allowCrossNamespaceTargets) return undefined;
    return `${describeRef(ref)}: namespace ${ref.namespace} (the targetNamespace) is not permitted without --allow-cross-namespace-targets`;
  }
  return `${describeRef(ref)}: namespace ${ref.namespace} is not permitted`;
}

/** The rule a violation broke and the ways out, said once per message. Pure. */
export function policyRule(group: TenancySubject): string {
  return (
    `AppGroup ${group.namespace}/${group.name} applies with the operator's identity, so it may write only ` +
    `namespaced objects in ${group.namespace}: set spec.serviceAccountName to apply as a ServiceAccount whose ` +
    'RBAC allows more, or create the group in a privileged namespace'
  );
}

/** Every violation among `refs`, one line each. Pure. */
export function policyViolations(
  refs: readonly ObjectRef[],
  group: TenancySubject,
  policy: TenancyPolicy,
): string[] {
  return refs.flatMap((ref) => {
    const v = policyViolation(ref, group, policy);
    return v ? [v] : [];
  });
}
