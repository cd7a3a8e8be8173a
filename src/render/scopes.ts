import { groupOf } from '../api/object-key.ts';
import type { KubeObject } from './parse-manifests.ts';

/** Built-in cluster-scoped kinds, for rendering without a cluster (`shoal render`). */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'CustomResourceDefinition',
  'APIService',
  'ClusterRole',
  'ClusterRoleBinding',
  'StorageClass',
  'PriorityClass',
  'RuntimeClass',
  'IngressClass',
  'CSIDriver',
  'CSINode',
  'VolumeAttachment',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'MutatingAdmissionPolicy',
  'MutatingAdmissionPolicyBinding',
  'FlowSchema',
  'PriorityLevelConfiguration',
  'CertificateSigningRequest',
  'ClusterTrustBundle',
  'DeviceClass',
]);

/** Scopes declared by CRDs in the same set, by `<group>/<Kind>`. Pure. */
export function bundledScopes(objects: readonly KubeObject[]): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const o of objects) {
    if (o.kind !== 'CustomResourceDefinition') continue;
    const spec = o.spec as { group?: string; scope?: string; names?: { kind?: string } } | undefined;
    if (spec?.group && spec.names?.kind)
      out.set(`${spec.group}/${spec.names.kind}`, spec.scope !== 'Cluster');
  }
  return out;
}

/**
 * Whether a kind is namespaced without asking a cluster: CRDs in the set, then the built-in table;
 * any other kind is taken as namespaced. Pure.
 */
export function offlineScopes(objects: readonly KubeObject[]): (apiVersion: string, kind: string) => boolean {
  const bundle = bundledScopes(objects);
  return (apiVersion, kind) => bundle.get(`${groupOf(apiVersion)}/${kind}`) ?? !CLUSTER_SCOPED.has(kind);
}
