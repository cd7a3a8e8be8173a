/**
 * What the operator's ServiceAccount needs, rule by rule: manifests/rbac.yaml grants exactly this
 * (a unit test compares them), and `shoal check` asks the API server (SubjectAccessReview) for each
 * verb. `scope: 'namespace'` rules are granted in the operator's own namespace (a Role).
 */
export interface Permission {
  group: string;
  resources: readonly string[];
  verbs: readonly string[];
  scope: 'cluster' | 'namespace';
  /** Which ClusterRole or Role grants it, and why it is needed. */
  role: 'shoal-controller' | 'shoal-applier' | 'shoal-leader-election';
  why: string;
}

const ALL_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] as const;

export const PERMISSIONS: readonly Permission[] = [
  {
    group: 'shoal.dev',
    resources: ['gitsources'],
    verbs: ['get', 'list', 'watch', 'patch'],
    scope: 'cluster',
    role: 'shoal-controller',
    why: 'read sources; a standby marks a pushed source with requested-at',
  },
  {
    group: 'shoal.dev',
    resources: ['appgroups'],
    verbs: ['get', 'list', 'watch', 'patch'],
    scope: 'cluster',
    role: 'shoal-controller',
    why: 'read groups; the shoal.dev/finalizer',
  },
  {
    group: 'shoal.dev',
    resources: ['chartsources'],
    verbs: ['get', 'list', 'watch'],
    scope: 'cluster',
    role: 'shoal-controller',
    why: 'read chart sources',
  },
  {
    group: 'shoal.dev',
    resources: ['gitsources/status', 'chartsources/status', 'appgroups/status'],
    verbs: ['get', 'patch', 'update'],
    scope: 'cluster',
    role: 'shoal-controller',
    why: 'write status',
  },
  {
    group: '',
    resources: ['secrets'],
    verbs: ['get'],
    scope: 'cluster',
    role: 'shoal-controller',
    why: 'credentials, webhook tokens and values that sources and groups name',
  },
  {
    group: 'events.k8s.io',
    resources: ['events'],
    verbs: ['create', 'patch', 'list', 'watch'],
    scope: 'cluster',
    role: 'shoal-controller',
    why: 'events about its objects',
  },
  {
    group: '',
    resources: ['serviceaccounts'],
    verbs: ['impersonate'],
    scope: 'cluster',
    role: 'shoal-controller',
    why: 'groups apply as their spec.serviceAccountName',
  },
  {
    group: 'apps',
    resources: ['deployments/scale', 'statefulsets/scale'],
    verbs: ['get', 'patch', 'update'],
    scope: 'cluster',
    role: 'shoal-controller',
    why: 'the replica counts the autoscaler owns',
  },
  {
    group: '',
    resources: ['pods'],
    verbs: ['get', 'list'],
    scope: 'cluster',
    role: 'shoal-controller',
    why: "the autoscaler reads pods' requests and readiness",
  },
  {
    group: 'authentication.k8s.io',
    resources: ['tokenreviews'],
    verbs: ['create'],
    scope: 'cluster',
    role: 'shoal-controller',
    why: "the dashboard verifies its viewers' bearer tokens",
  },
  {
    group: 'authorization.k8s.io',
    resources: ['subjectaccessreviews'],
    verbs: ['create'],
    scope: 'cluster',
    role: 'shoal-controller',
    why: 'the dashboard shows each viewer only what their RBAC allows',
  },
  {
    group: 'apps',
    resources: ['replicasets'],
    verbs: ['get', 'list'],
    scope: 'cluster',
    role: 'shoal-controller',
    why: "the dashboard's object tree: a Deployment's ReplicaSets",
  },
  {
    group: 'metrics.k8s.io',
    resources: ['pods'],
    verbs: ['get', 'list'],
    scope: 'cluster',
    role: 'shoal-controller',
    why: "the autoscaler reads pods' usage",
  },
  {
    group: '',
    resources: [
      'namespaces',
      'configmaps',
      'secrets',
      'services',
      'serviceaccounts',
      'persistentvolumeclaims',
    ],
    verbs: ALL_VERBS,
    scope: 'cluster',
    role: 'shoal-applier',
    why: 'groups that apply with the operator identity',
  },
  {
    group: 'apps',
    resources: ['deployments', 'statefulsets', 'daemonsets'],
    verbs: ALL_VERBS,
    scope: 'cluster',
    role: 'shoal-applier',
    why: 'groups that apply with the operator identity',
  },
  {
    group: 'batch',
    resources: ['jobs', 'cronjobs'],
    verbs: ALL_VERBS,
    scope: 'cluster',
    role: 'shoal-applier',
    why: 'groups that apply with the operator identity',
  },
  {
    group: 'autoscaling',
    resources: ['horizontalpodautoscalers'],
    verbs: ALL_VERBS,
    scope: 'cluster',
    role: 'shoal-applier',
    why: 'groups that apply with the operator identity',
  },
  {
    group: 'networking.k8s.io',
    resources: ['ingresses', 'networkpolicies'],
    verbs: ALL_VERBS,
    scope: 'cluster',
    role: 'shoal-applier',
    why: 'groups that apply with the operator identity',
  },
  {
    group: 'policy',
    resources: ['poddisruptionbudgets'],
    verbs: ALL_VERBS,
    scope: 'cluster',
    role: 'shoal-applier',
    why: 'groups that apply with the operator identity',
  },
  {
    group: 'apiextensions.k8s.io',
    resources: ['customresourcedefinitions'],
    verbs: ALL_VERBS,
    scope: 'cluster',
    role: 'shoal-applier',
    why: 'groups that apply with the operator identity',
  },
  {
    group: 'coordination.k8s.io',
    resources: ['leases'],
    verbs: ['get', 'list', 'create', 'update', 'delete'],
    scope: 'namespace',
    role: 'shoal-leader-election',
    why: 'leader election and shards (member and shard Leases; a dead member is deleted)',
  },
];

/** The API server versions this build is tested against and supports (major.minor). */
export const SUPPORTED_KUBERNETES = { min: '1.29', tested: '1.37' } as const;

/** The custom resource versions this build serves and stores. */
export const CRD_VERSION = 'v1alpha1';
