/** The metadata fields Shoal reads and writes; a subset of metav1.ObjectMeta. */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

/** metav1.Condition. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface LocalObjectReference {
  name: string;
}

/** A Kubernetes quantity as it appears in JSON: "500m", "2Gi" or a plain number. */
export type Quantity = string | number;
