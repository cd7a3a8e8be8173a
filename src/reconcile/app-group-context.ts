import type { AppGroup, HooksStatus } from '../api/app-group.ts';
import type { ChartSource } from '../api/chart-source.ts';
import type { GitSource } from '../api/git-source.ts';
import type { AppliedObject } from '../apply/apply-staged.ts';
import type { Owner, PruneResult } from '../apply/prune.ts';
import type { CachedObjects, SyncMemo } from '../apply/sync-memo.ts';
import type { TenancyPolicy, TenancySubject } from '../apply/tenancy.ts';
import type { InventoryLimits, ParsedInventory } from '../diff/inventory.ts';
import type { GroupHealth } from '../health/summarize.ts';
import type { Kube } from '../kube/client.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Capabilities, HelmOptions } from '../render/helm.ts';
import type { KustomizeOptions } from '../render/kustomize.ts';
import type { ManifestParser } from '../render/parse-in-worker.ts';
import type { RenderedObject } from '../render/parse-manifests.ts';
import type { RenderCache } from '../render/render-cache.ts';
import type { Clock } from '../runtime/clock.ts';
import type { ChartCache } from '../source/chart-cache.ts';
import type { GitCache } from '../source/git-cache.ts';
import type { UrlPolicy } from '../source/url-policy.ts';
import { type CachedReads, liveReads } from './cached-reads.ts';
import type { StepObserver } from './run-steps.ts';
import type { SyncReport } from './sync-report.ts';

export interface AppGroupReconcilerDeps {
  kube: Kube;
  git: GitCache;
  clock: Clock;
  events: EventRecorder;
  random: () => number;
  /** How long to wait before looking again at a source that is not ready. */
  sourceRetryMs: number;
  /**
   * Since when each group (by key) has been waiting only on this process's own preparation
   * (WaitingError.local: its source's artifact not checked out here yet, or the source not looked at
   * once); while that lasts less than LOCAL_WAIT_MS the group's status is left as it is. Without it,
   * every wait is reported.
   */
  localWaits?: Map<string, number>;
  /** ServiceAccount (in the group's namespace) to apply as when spec.serviceAccountName is unset. */
  defaultServiceAccount?: string;
  /** Who may write what with the operator's identity. */
  tenancy: TenancyPolicy;
  /** What each group's last successful apply left, to skip re-syncs that would change nothing. */
  memo: SyncMemo;
  /** Parsed manifests by tree digest and path. */
  renderCache: RenderCache;
  /** Parses manifests off the event loop. */
  parser: ManifestParser;
  /** How kustomizations are built (binary, remote bases), and kustomize's HOME. */
  kustomize: { options: KustomizeOptions; home: string };
  /** Unpacked charts (ChartSource artifacts and chart dependencies). */
  charts: ChartCache;
  /** How `helm template` runs. */
  helm: HelmOptions;
  /** What the cluster's discovery says, for the charts' .Capabilities (cached by the operator). */
  capabilities?: () => Promise<Capabilities | undefined>;
  /** Which hosts and protocols chart dependencies may come from. */
  policy: UrlPolicy;
  /** Caps on one group's inventory (it must fit in the status). */
  inventoryLimits: InventoryLimits;
  /** Called once a group has applied a revision it had not applied before. */
  onApplied?: (group: AppGroup, revision: string) => void;
  /** Called after every sync with what it did to each object (the dashboard's change set). */
  onSynced?: (group: AppGroup, report: SyncReport) => void;
  /** Managed objects from the operator's watch caches, to check an unchanged re-sync without a LIST. */
  cachedObjects?: CachedObjects;
  /** The AppGroups whose inventory lists an object id (from the AppGroup cache); default: none known. */
  claims?: (id: string) => readonly string[];
  /** Reads AppGroups and GitSources (from the informer caches, in the operator); default: GET. */
  reads?: CachedReads;
  /** Told of every step (its name and duration, for the log and a histogram). */
  observeStep?: StepObserver;
}

/** One reconcile of one AppGroup: what its steps found so far. */
export interface AppGroupContext {
  deps: AppGroupReconcilerDeps;
  group: AppGroup;
  /** The client that renders, dry-runs, applies and prunes: the group's identity. */
  applier: Kube;
  /** The group as the tenancy policy sees it. */
  tenant: TenancySubject;
  /** The inventory in status, parsed defensively (it came from the API). */
  inventory: ParsedInventory;
  intervalMs: number;
  timeoutMs: number;
  source?: GitSource;
  chartSource?: ChartSource;
  /** Set when the group renders a chart (a ChartSource, or a Git path holding Chart.yaml). */
  chartDir?: string;
  revision?: string;
  digest?: string;
  artifactDir?: string;
  objects: RenderedObject[];
  /** Helm hooks of the render: applied in their phases, outside the inventory. */
  hooks: RenderedObject[];
  /** The hooks of this release, as they stand after this run. */
  hookStatus?: HooksStatus;
  applied: AppliedObject[];
  /** memoDigest of what the apply step left (or found unchanged): status.appliedDigest. */
  appliedDigest?: string;
  pruned?: PruneResult;
  health?: GroupHealth;
}

export function ownerOf(group: AppGroup): Owner {
  return { groupName: group.metadata.name ?? '', groupNamespace: group.metadata.namespace ?? '' };
}

/** The ServiceAccount a group applies as: its own, else the operator's default; undefined: the operator. */
export function serviceAccountOf(
  deps: Pick<AppGroupReconcilerDeps, 'defaultServiceAccount'>,
  group: AppGroup,
): string | undefined {
  return group.spec.serviceAccountName ?? deps.defaultServiceAccount;
}

/**
 * The identity a group applies with: its spec.serviceAccountName, else the operator's configured
 * default, both in the group's namespace (impersonated); else the operator's own.
 */
export function applierFor(deps: AppGroupReconcilerDeps, group: AppGroup): Kube {
  const sa = serviceAccountOf(deps, group);
  return sa
    ? deps.kube.impersonating(`system:serviceaccount:${group.metadata.namespace ?? ''}:${sa}`)
    : deps.kube;
}

export function tenantOf(
  deps: Pick<AppGroupReconcilerDeps, 'defaultServiceAccount'>,
  group: AppGroup,
): TenancySubject {
  return {
    namespace: group.metadata.namespace ?? '',
    name: group.metadata.name ?? '',
    ...(group.spec.targetNamespace ? { targetNamespace: group.spec.targetNamespace } : {}),
    impersonating: serviceAccountOf(deps, group) !== undefined,
  };
}

/** How this reconciler reads AppGroups and GitSources. */
export function reads(deps: AppGroupReconcilerDeps): CachedReads {
  return deps.reads ?? liveReads(deps.kube);
}
