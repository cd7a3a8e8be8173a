/** Condition types (kstatus) and the closed vocabulary of reasons Shoal sets on them. */
export const CONDITION = {
  Ready: 'Ready',
  Reconciling: 'Reconciling',
  Stalled: 'Stalled',
  Healthy: 'Healthy',
} as const;
export type ConditionType = (typeof CONDITION)[keyof typeof CONDITION];

export const REASON = {
  // progress
  Progressing: 'Progressing',
  Succeeded: 'Succeeded',
  ReconciliationSucceeded: 'ReconciliationSucceeded',
  Suspended: 'Suspended',
  // source
  FetchFailed: 'FetchFailed',
  AuthenticationFailed: 'AuthenticationFailed',
  RevisionNotFound: 'RevisionNotFound',
  SourceUnavailable: 'SourceUnavailable',
  SourceNotReady: 'SourceNotReady',
  DependencyNotReady: 'DependencyNotReady',
  LimitExceeded: 'LimitExceeded',
  SecurityViolation: 'SecurityViolation',
  UrlNotAllowed: 'UrlNotAllowed',
  // render and apply
  PathNotFound: 'PathNotFound',
  InvalidPath: 'InvalidPath',
  ParseFailed: 'ParseFailed',
  BuildFailed: 'BuildFailed',
  RemoteRefsDisabled: 'RemoteRefsDisabled',
  DryRunFailed: 'DryRunFailed',
  ApplyFailed: 'ApplyFailed',
  PruneFailed: 'PruneFailed',
  HealthCheckFailed: 'HealthCheckFailed',
  EmptySourceRefused: 'EmptySourceRefused',
  InvalidSpec: 'InvalidSpec',
  // ownership and tenancy
  OwnershipConflict: 'OwnershipConflict',
  PolicyViolation: 'PolicyViolation',
  HookFailed: 'HookFailed',
  Adopted: 'Adopted',
  // bookkeeping that went wrong
  InvalidInventory: 'InvalidInventory',
  StatusWriteFailed: 'StatusWriteFailed',
  DeletionBlocked: 'DeletionBlocked',
  // events
  NewArtifact: 'NewArtifact',
  Pruned: 'Pruned',
  Orphaned: 'Orphaned',
  PruneSkipped: 'PruneSkipped',
  StaleObjects: 'StaleObjects',
  DriftDetected: 'DriftDetected',
  // the autoscaler's events, in the HPA's words
  SuccessfulRescale: 'SuccessfulRescale',
  FailedRescale: 'FailedRescale',
  FailedGetScale: 'FailedGetScale',
  FailedGetResourceMetric: 'FailedGetResourceMetric',
  FailedGetPodsMetric: 'FailedGetPodsMetric',
  FailedGetExternalMetric: 'FailedGetExternalMetric',
  FailedComputeMetricsReplicas: 'FailedComputeMetricsReplicas',
} as const;
export type Reason = (typeof REASON)[keyof typeof REASON];
