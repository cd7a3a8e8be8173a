/** Fixed names of Shoal's API (DESIGN.md): group, version, kinds, labels, annotations, field managers. */
export const API_GROUP = 'shoal.dev';
export const API_VERSION = 'v1alpha1';
export const GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;

export const KINDS = {
  GitSource: { kind: 'GitSource', plural: 'gitsources', singular: 'gitsource', shortNames: ['gitsrc', 'gs'] },
  AppGroup: { kind: 'AppGroup', plural: 'appgroups', singular: 'appgroup', shortNames: ['ag'] },
  ChartSource: {
    kind: 'ChartSource',
    plural: 'chartsources',
    singular: 'chartsource',
    shortNames: ['chartsrc', 'cs'],
  },
} as const;

export const LABELS = {
  groupName: 'shoal.dev/group-name',
  groupNamespace: 'shoal.dev/group-namespace',
  /** A Helm hook's group: hooks are Shoal's, but outside the inventory and the drift watches. */
  hookGroupName: 'shoal.dev/hook-group-name',
  hookGroupNamespace: 'shoal.dev/hook-group-namespace',
} as const;

export const ANNOTATIONS = {
  requestedAt: 'shoal.dev/requested-at',
  prune: 'shoal.dev/prune',
  force: 'shoal.dev/force',
  /** `enabled` on a manifest: take over the live object even though Shoal did not create it. */
  adopt: 'shoal.dev/adopt',
} as const;

export const FIELD_MANAGERS = {
  sync: 'shoal',
  autoscaler: 'shoal-autoscaler',
} as const;

/** Keeps a deleted AppGroup until what it applied is pruned (or orphaned, with `prune: false`). */
export const FINALIZER = 'shoal.dev/finalizer';
