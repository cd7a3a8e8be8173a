import type { Condition, LocalObjectReference, ObjectMeta, Quantity } from './meta.ts';

/** Selects rendered objects for a patch; every given field must match. */
export interface PatchTarget {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}

/** One RFC 6902 operation. */
export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: unknown;
  from?: string;
}

export interface AppGroupPatch {
  target: PatchTarget;
  patch: JsonPatchOperation[];
}

export interface MetricTarget {
  type: 'Utilization' | 'AverageValue' | 'Value';
  averageUtilization?: number;
  averageValue?: Quantity;
  value?: Quantity;
}

export interface ResourceMetricSource {
  name: 'cpu' | 'memory';
  target: MetricTarget;
}

export interface QueryMetricSource {
  query: string;
  target: MetricTarget;
}

export interface MetricSpec {
  type: 'Resource' | 'Pods' | 'Prometheus';
  resource?: ResourceMetricSource;
  pods?: QueryMetricSource;
  prometheus?: QueryMetricSource;
}

export interface ScalingPolicy {
  type: 'Pods' | 'Percent';
  value: number;
  periodSeconds: number;
}

export interface ScalingRules {
  stabilizationWindowSeconds?: number;
  selectPolicy?: 'Max' | 'Min' | 'Disabled';
  policies?: ScalingPolicy[];
  tolerance?: Quantity;
}

export interface ScalingBehavior {
  scaleUp?: ScalingRules;
  scaleDown?: ScalingRules;
}

export interface AutoscalingPolicy {
  minReplicas?: number;
  maxReplicas: number;
  metrics?: MetricSpec[];
  behavior?: ScalingBehavior;
  weight?: number;
  priority?: number;
}

/** Replica policy for one workload of the group. */
export interface AppSpec {
  name: string;
  replicas?: number;
  autoscaling?: AutoscalingPolicy;
}

export interface ResourceBudget {
  cpu?: Quantity;
  memory?: Quantity;
}

/** A group's source: a GitSource (the default) or a ChartSource, in the group's namespace. */
export interface SourceReference {
  kind?: 'GitSource' | 'ChartSource';
  name: string;
}

/** Where a chart's values come from besides the chart: a key of a ConfigMap or a Secret. */
export interface ValuesReference {
  kind: 'ConfigMap' | 'Secret';
  name: string;
  /** The key holding YAML values; default values.yaml. */
  key?: string;
  /** A missing object or key is skipped instead of failing the render. */
  optional?: boolean;
}

/** How a chart is rendered (`helm template`). */
export interface HelmSpec {
  /** Default: the AppGroup's name. */
  releaseName?: string;
  /** Inline values, merged last. */
  values?: Record<string, unknown>;
  /** Files inside the chart (or, for a chart in Git, inside the repository), in order. */
  valuesFiles?: string[];
  valuesFrom?: ValuesReference[];
  /** The chart's crds/ go in the first stage and are never pruned (default true). */
  includeCRDs?: boolean;
  /** Leave out `helm.sh/hook: test` objects (default true). */
  skipTests?: boolean;
}

export interface AppGroupSpec {
  sourceRef: SourceReference;
  helm?: HelmSpec;
  path?: string;
  targetNamespace?: string;
  interval?: string;
  timeout?: string;
  prune?: boolean;
  allowEmpty?: boolean;
  suspend?: boolean;
  serviceAccountName?: string;
  /** Take over existing objects that no other AppGroup owns (off: they are refused). */
  adopt?: boolean;
  dependsOn?: LocalObjectReference[];
  patches?: AppGroupPatch[];
  apps?: AppSpec[];
  budget?: ResourceBudget;
  metrics?: { prometheus?: { address: string } };
}

/** One entry of the inventory: `<namespace>_<name>_<group>_<kind>` and the object's version. */
export interface InventoryEntry {
  id: string;
  v: string;
  /** The object existed before this group applied it and was adopted (spec.adopt or shoal.dev/adopt). */
  adopted?: boolean;
  /** The object left Git while prune was off: kept in the cluster, listed here for a later prune. */
  stale?: boolean;
}

export interface MetricStatus {
  type: string;
  name: string;
  current?: string;
  target?: string;
}

export interface AppStatus {
  name: string;
  replicas: { current?: number; desired?: number; min?: number; max?: number };
  lastScaleTime?: string;
  reason?: string;
  metrics?: MetricStatus[];
  /** HPA's AbleToScale, ScalingActive and ScalingLimited, for this app. */
  conditions?: Condition[];
}

export interface HistoryEntry {
  revision: string;
  startedAt: string;
  finishedAt: string;
  result: 'Succeeded' | 'Failed';
  created: number;
  configured: number;
  deleted: number;
  message?: string;
}

/** Helm hooks of the release being applied: a release is one revision of the source at one generation. */
export interface HooksStatus {
  release: string;
  /** Whether the release is the group's first (install hooks) or a later one (upgrade hooks). */
  action?: 'install' | 'upgrade';
  pre?: 'Succeeded' | 'Failed';
  post?: 'Succeeded' | 'Failed';
}

export interface AppGroupStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  sync?: { status: 'Synced' | 'OutOfSync' | 'Unknown'; revision?: string };
  health?: { status: 'Healthy' | 'Progressing' | 'Degraded' | 'Missing' | 'Unknown'; message?: string };
  lastAppliedRevision?: string;
  lastAttemptedRevision?: string;
  lastHandledReconcileAt?: string;
  inventory?: InventoryEntry[];
  /**
   * A digest of the last finished apply (each object's desired hash and a digest of what it left
   * live, status aside, and the ServiceAccount): lets a new process skip re-applying a group
   * nothing changed in.
   */
  appliedDigest?: string;
  apps?: AppStatus[];
  budget?: {
    requested?: ResourceBudget;
    allocated?: ResourceBudget;
    limited?: string[];
    overcommitted?: boolean;
  };
  history?: HistoryEntry[];
  hooks?: HooksStatus;
}

export interface AppGroup {
  apiVersion: 'shoal.dev/v1alpha1';
  kind: 'AppGroup';
  metadata: ObjectMeta;
  spec: AppGroupSpec;
  status?: AppGroupStatus;
}
