import type { Artifact } from './git-source.ts';
import type { Condition, LocalObjectReference, ObjectMeta } from './meta.ts';

export interface ChartSourceSpec {
  /** An HTTP(S) chart repository (with index.yaml) or an OCI registry path (oci://host/path). */
  url: string;
  chart: string;
  /** An exact version or a semver range; the newest match is tracked. Default: the newest. */
  version?: string;
  interval?: string;
  timeout?: string;
  secretRef?: LocalObjectReference;
  suspend?: boolean;
}

export interface ChartSourceStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  /** `<chart>@<version>`, the chart archive's sha256, where it came from and when. */
  artifact?: Omit<Artifact, 'commitTime'> & { url?: string };
  lastHandledReconcileAt?: string;
}

export interface ChartSource {
  apiVersion: 'shoal.dev/v1alpha1';
  kind: 'ChartSource';
  metadata: ObjectMeta;
  spec: ChartSourceSpec;
  status?: ChartSourceStatus;
}
