import type { AppGroup } from '../api/app-group.ts';
import { withoutManagedFields } from '../api/cache-shapes.ts';
import type { ObjectRef } from '../api/object-key.ts';
import { loadAssets } from '../dashboard/assets.ts';
import { subjectAccessReviews, TokenReviewer } from '../dashboard/auth.ts';
import { DashboardMemory } from '../dashboard/memory.ts';
import { type ClusterEvent, DashboardServer } from '../dashboard/server.ts';
import type { Kube } from '../kube/client.ts';
import type { DriftWatcher } from '../reconcile/drift-watcher.ts';
import type { Clock } from '../runtime/clock.ts';
import { type GuardReport, guard } from '../runtime/guard.ts';
import { type InformerLike, startResilient } from '../runtime/informer.ts';
import type { Log } from '../runtime/logger.ts';
import type { Runnable } from '../runtime/manager.ts';
import type { OwnCaches } from './caches.ts';

/**
 * A cache of the events about AppGroups (events.k8s.io, `regarding.kind=AppGroup`), for the
 * dashboard's recent events: read from memory, not per page view.
 */
export function groupEvents(kube: Kube, namespace: string | undefined): InformerLike<ClusterEvent> {
  const base = namespace ? `/apis/events.k8s.io/v1/namespaces/${namespace}` : '/apis/events.k8s.io/v1';
  return kube.informer(`${base}/events`, 'events.k8s.io/v1', 'Event', {
    fieldSelector: 'regarding.kind=AppGroup',
    transform: withoutManagedFields,
  }) as unknown as InformerLike<ClusterEvent>;
}

/** The live object of `ref` in a drift watch's cache, or 'not-watched' when no watch holds its kind. */
export const liveFromDrift =
  (drift: () => DriftWatcher) =>
  (ref: ObjectRef): object | undefined | 'not-watched' => {
    const list = drift().cached(ref.apiVersion, ref.kind, ref.namespace);
    return list ? list.find((o) => o.metadata?.name === ref.name) : 'not-watched';
  };

/** Feeds the memory from the AppGroup cache: autoscaling points as status changes, forgets deleted groups. */
export function feedMemory(
  memory: DashboardMemory,
  groups: InformerLike<AppGroup>,
  report: GuardReport,
): void {
  const observe = guard('dashboard memory', (g: AppGroup) => memory.observe(g), report);
  groups.on('add', observe);
  groups.on('update', observe);
  groups.on(
    'delete',
    guard(
      'dashboard memory',
      (g: AppGroup) => memory.forget(g.metadata.namespace ?? '', g.metadata.name ?? ''),
      report,
    ),
  );
}

/**
 * `shoal run --dashboard-addr`: the dashboard served by the operator from its caches (its own
 * objects, the drift watches' live objects, events about groups) and in-memory histories; viewers
 * sign in with a Kubernetes bearer token (TokenReview) and see what SubjectAccessReview allows.
 */
export function operatorDashboard(opts: {
  kube: Kube;
  addr: string;
  readOnly: boolean;
  namespace: string | undefined;
  caches: OwnCaches;
  drift: () => DriftWatcher;
  memory: DashboardMemory;
  clock: Clock;
  log: Log;
  report: GuardReport;
}): { runnables: Runnable[]; url: () => string | undefined } {
  const events = groupEvents(opts.kube, opts.namespace);
  feedMemory(opts.memory, opts.caches.groups, opts.report);
  let server: DashboardServer | undefined;
  let url: string | undefined;
  let stopEvents: (() => Promise<void>) | undefined;
  return {
    url: () => url,
    runnables: [
      {
        name: 'dashboard events cache',
        group: 'caches',
        async start() {
          stopEvents = await startResilient(events, {
            clock: opts.clock,
            baseDelayMs: 1_000,
            maxDelayMs: 60_000,
            log: opts.log,
            name: 'events',
            relistEveryMs: 10 * 60_000,
          });
        },
        async stop() {
          await stopEvents?.();
        },
      },
      {
        name: 'dashboard',
        group: 'servers',
        async start() {
          server = new DashboardServer(
            {
              groups: opts.caches.groups,
              sources: opts.caches.sources,
              chartSources: opts.caches.chartSources,
              events,
              liveOf: liveFromDrift(opts.drift),
              memory: opts.memory,
              kube: opts.kube,
            },
            {
              addr: opts.addr,
              mode: 'operator',
              readOnly: opts.readOnly,
              authorizer: subjectAccessReviews(opts.kube, opts.clock),
              tokens: new TokenReviewer(opts.kube, opts.clock),
              assets: await loadAssets(),
              clock: opts.clock,
              log: opts.log,
            },
          );
          url = await server.start();
          opts.log({ msg: 'serving the dashboard', addr: opts.addr, url });
        },
        async stop() {
          await server?.stop();
        },
      },
    ],
  };
}

export { DashboardMemory };
