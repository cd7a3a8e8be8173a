import { randomBytes } from 'node:crypto';
import type { AppGroup } from '../api/app-group.ts';
import type { RunConfig } from '../config.ts';
import type { Metrics } from '../http/metrics.ts';
import type { Kube } from '../kube/client.ts';
import { LeaseApi, leaseRequestTimeoutMs } from '../kube/lease-api.ts';
import type { Clock } from '../runtime/clock.ts';
import { type GuardReport, guard } from '../runtime/guard.ts';
import type { InformerLike } from '../runtime/informer.ts';
import type { Log } from '../runtime/logger.ts';
import { ShardCoordinator } from '../runtime/shard-coordinator.ts';
import { shardOf } from '../runtime/shards.ts';
import type { WorkQueue } from '../runtime/work-queue.ts';

type SourceKind = 'GitSource' | 'ChartSource';
const keyOf = (namespace: string | undefined, name: string | undefined) => `${namespace ?? ''}/${name ?? ''}`;
const sourceKeyOf = (g: AppGroup) => keyOf(g.metadata.namespace, g.spec.sourceRef.name);
const sourceKindOf = (g: AppGroup): SourceKind => g.spec.sourceRef.kind ?? 'GitSource';

/** Lets one reconcile of a key run (returning what to call when it ends), or refuses it (undefined). */
export type Gate = (key: string) => (() => void) | undefined;

/**
 * Who writes what on this replica. Unsharded (one leader, or no election): everything, while it
 * leads. Sharded: the AppGroups (and their autoscaling) whose shard Lease it holds; a source's status
 * belongs to its own shard's holder, and the source is reconciled, into this pod's own artifact cache,
 * by every member with a group that needs it.
 */
export interface Sharding {
  coordinator: ShardCoordinator | undefined;
  /** For AppGroup and Autoscale reconciles. */
  groupGate: Gate;
  /** For GitSource and ChartSource reconciles. */
  sourceGate: (kind: SourceKind) => Gate;
  ownsGroup: (key: string) => boolean;
  /** Whether this replica writes the source's status (and its events). */
  writesSourceStatus: (key: string) => boolean;
  /** More than one member is live: a push must reach the others too. */
  shared: () => boolean;
  /** What /readyz adds. */
  readyDetail: () => string;
}

export interface ShardingWiring {
  kube: Kube;
  clock: Clock;
  log: Log;
  metrics: Metrics;
  instance: string;
  election: RunConfig['leaderElection'];
  groups: InformerLike<AppGroup>;
  sources: Record<SourceKind, InformerLike<{ metadata: { name?: string; namespace?: string } }>>;
  queues: Record<'AppGroup' | 'Autoscale' | SourceKind, WorkQueue>;
  isScaled: (g: AppGroup) => boolean;
  leading: () => boolean;
}

/** Sharding for `shoal run`: undefined coordinator unless leader election is on with --shards=auto. */
export function sharding(w: ShardingWiring): Sharding {
  const count = w.election.enabled ? w.election.shardCount : undefined;
  if (count === undefined) {
    const whileLeading: Gate = () => (w.leading() ? () => {} : undefined);
    return {
      coordinator: undefined,
      groupGate: whileLeading,
      sourceGate: () => whileLeading,
      ownsGroup: () => w.leading(),
      writesSourceStatus: () => true,
      shared: () => false,
      readyDetail: () => '',
    };
  }
  const identity = `${w.instance}_${randomBytes(4).toString('hex')}`;
  /** Sources this member has reconciled since it took the groups that need them. */
  const fetching = new Set<string>();
  const coordinator: ShardCoordinator = new ShardCoordinator(
    new LeaseApi(w.kube.config, { timeoutMs: leaseRequestTimeoutMs(w.election) }),
    {
      namespace: w.election.namespace,
      id: w.election.name,
      identity,
      shardCount: count,
      leaseDurationMs: w.election.leaseDurationMs,
      renewDeadlineMs: w.election.renewDeadlineMs,
      retryPeriodMs: w.election.retryPeriodMs,
      clock: w.clock,
      log: w.log,
      onAcquired: (shard) => {
        // The shard's groups sync now (the previous owner's queue entries are not ours), and the
        // sources they need are fetched into this pod's cache; a source of its own shard too.
        for (const g of w.groups.list()) {
          const key = keyOf(g.metadata.namespace, g.metadata.name);
          if (shardOf(key, count) !== shard) continue;
          w.queues.AppGroup.add(key);
          if (w.isScaled(g)) w.queues.Autoscale.add(key);
          w.queues[sourceKindOf(g)].add(sourceKeyOf(g));
        }
        for (const kind of ['GitSource', 'ChartSource'] as const)
          for (const s of w.sources[kind].list()) {
            const key = keyOf(s.metadata.namespace, s.metadata.name ?? '');
            if (shardOf(key, count) === shard) w.queues[kind].add(key);
          }
      },
      onChange: (held) => w.metrics.leader.set(held.length > 0 ? 1 : 0),
    },
  );
  w.metrics.shardGroupsOf = () => {
    const counts = new Map<number, number>(coordinator.held().map((k) => [k, 0]));
    for (const g of w.groups.list()) {
      const k = shardOf(keyOf(g.metadata.namespace, g.metadata.name), count);
      const n = counts.get(k);
      if (n !== undefined) counts.set(k, n + 1);
    }
    return counts;
  };
  const needsSource = (kind: SourceKind, key: string) => {
    if (coordinator.owns(key)) return true;
    const namespace = key.slice(0, key.indexOf('/'));
    return w.groups
      .list(namespace)
      .some(
        (g) =>
          sourceKindOf(g) === kind &&
          sourceKeyOf(g) === key &&
          coordinator.owns(keyOf(g.metadata.namespace, g.metadata.name)),
      );
  };
  const groupGate: Gate = (key) => {
    const done = coordinator.admit(key);
    if (!done) return undefined;
    // A group taken since its source was last needed here: fetch the source into this pod's cache.
    const [namespace, name] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
    const g =
      w.groups.get?.(name, namespace) ?? w.groups.list(namespace).find((x) => x.metadata.name === name);
    if (g && !fetching.has(`${sourceKindOf(g)}|${sourceKeyOf(g)}`))
      w.queues[sourceKindOf(g)].add(sourceKeyOf(g));
    return done;
  };
  return {
    coordinator,
    groupGate,
    sourceGate: (kind) => (key) => {
      if (!needsSource(kind, key)) {
        fetching.delete(`${kind}|${key}`);
        return undefined;
      }
      fetching.add(`${kind}|${key}`);
      return () => {};
    },
    ownsGroup: (key) => coordinator.owns(key),
    writesSourceStatus: (key) => coordinator.owns(key),
    shared: () => coordinator.members.length > 1,
    readyDetail: () =>
      `member ${identity}: shards ${coordinator.held().join(',') || '-'} of ${count}; members ${coordinator.members.length}\n`,
  };
}

/** Calls `fn` when an object's status.artifact.digest changes (not on its first sight). */
export function onArtifactChange<
  T extends { metadata: { uid?: string }; status?: { artifact?: { digest?: string } } },
>(informer: InformerLike<T>, report: GuardReport, fn: (obj: T) => void): void {
  const seen = new Map<string, string | undefined>();
  const consider = (obj: T) => {
    const id = obj.metadata.uid ?? '';
    const digest = obj.status?.artifact?.digest;
    const had = seen.has(id);
    const before = seen.get(id);
    seen.set(id, digest);
    if (had && digest !== before && digest !== undefined) fn(obj);
  };
  informer.on('add', guard('artifact add', consider, report));
  informer.on('update', guard('artifact update', consider, report));
  informer.on(
    'delete',
    guard('artifact delete', (obj: T) => seen.delete(obj.metadata.uid ?? ''), report),
  );
}
