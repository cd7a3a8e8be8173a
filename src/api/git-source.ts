import type { Condition, LocalObjectReference, ObjectMeta } from './meta.ts';

/** Which revision of the repository to follow: one kind, or a commit optionally with its branch. */
export interface GitRef {
  branch?: string;
  tag?: string;
  semver?: string;
  commit?: string;
}

export interface GitSourceSpec {
  url: string;
  ref?: GitRef;
  interval?: string;
  timeout?: string;
  secretRef?: LocalObjectReference;
  webhookSecretRef?: LocalObjectReference;
  suspend?: boolean;
}

/** The last fetched revision, as checked out in the artifact cache. */
export interface Artifact {
  revision: string;
  digest?: string;
  commitTime?: string;
  fetchedAt?: string;
}

export interface GitSourceStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  artifact?: Artifact;
  lastHandledReconcileAt?: string;
}

export interface GitSource {
  apiVersion: 'shoal.dev/v1alpha1';
  kind: 'GitSource';
  metadata: ObjectMeta;
  spec: GitSourceSpec;
  status?: GitSourceStatus;
}
