/**
 * The one shape of a Kubernetes object in Shoal: JSON as the API server sends it (every field
 * optional, since a malformed or foreign object may lack any), and the rendered form Shoal applies
 * (identity fields present). Pure types.
 */

/** metav1.ManagedFieldsEntry, as JSON. */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  subresource?: string;
  fieldsType?: string;
  fieldsV1?: unknown;
}

/** The metadata Shoal reads of any object. */
export interface ObjectMetadata {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  managedFields?: ManagedFieldsEntry[];
}

/**
 * Any object as the API server answers it (a watch event, a GET, a list item). Shoal's own kinds
 * (AppGroup, GitSource, Lease...) are assignable to it; the rest of an object is read through a
 * narrower type where it is needed.
 */
export interface KubernetesObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMetadata;
}

/** An object as Shoal renders and applies it: apiVersion, kind and name are always there. */
export interface KubeObject extends KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMetadata & { name: string } & Record<string, unknown>;
  [field: string]: unknown;
}

/** Workload kinds whose replica count an autoscaler may own (through the scale subresource). */
export type ScalableKind = 'Deployment' | 'StatefulSet';
