import { spawn } from 'node:child_process';
import { DASHBOARD_USAGE, parseDashboardCommand, wantsHelp } from '../config.ts';
import { loadAssets } from '../dashboard/assets.ts';
import { selfAccessReviews, type Viewer } from '../dashboard/auth.ts';
import { DashboardMemory } from '../dashboard/memory.ts';
import { DashboardServer } from '../dashboard/server.ts';
import { Kube, loadKubeConfig } from '../kube/client.ts';
import { EventRecorder } from '../kube/events.ts';
import { ownCaches } from '../operator/caches.ts';
import { feedMemory, groupEvents, liveFromDrift } from '../operator/dashboard.ts';
import { driftWatch } from '../operator/drift-watch.ts';
import { realClock } from '../runtime/clock.ts';
import { logGuardReport } from '../runtime/guard.ts';
import { startResilient } from '../runtime/informer.ts';
import { jsonLogger } from '../runtime/logger.ts';

/** Who the kubeconfig is, as the API server says (SelfSubjectReview), else the kubeconfig's user name. */
async function whoAmI(kube: Kube): Promise<Viewer> {
  const review = (await kube
    .create({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview', metadata: {} } as never)
    .catch(() => undefined)) as
    | { status?: { userInfo?: { username?: string; groups?: string[] } } }
    | undefined;
  const info = review?.status?.userInfo;
  return { user: info?.username ?? kube.config.getCurrentUser()?.name ?? 'you', groups: info?.groups ?? [] };
}

/**
 * `shoal dashboard`: the dashboard on 127.0.0.1 with the kubeconfig's identity, like `kubectl proxy`:
 * its own caches (list+watch as you), what you may read, actions as you (the API server decides,
 * and SelfSubjectAccessReview decides what is offered). Runs until interrupted.
 */
export async function dashboardMain(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    process.stdout.write(DASHBOARD_USAGE);
    return 0;
  }
  const cfg = parseDashboardCommand(args, process.env);
  const log = jsonLogger(
    'warn',
    (s) => process.stderr.write(s),
    () => new Date(),
  );
  const kube = new Kube(loadKubeConfig(cfg.kube));
  const clock = realClock;
  const report = logGuardReport(log, () => {});
  const caches = ownCaches(kube, { namespace: cfg.namespace, clock, log, report });
  const events = groupEvents(kube, cfg.namespace);
  const drift = driftWatch(kube, {
    groups: caches.groups,
    namespace: cfg.namespace,
    clock,
    log,
    report,
    // This process never writes events: it is not the operator.
    events: new EventRecorder(kube, { clock, instance: 'shoal-dashboard', dedupeWindowMs: 0, log }),
    writes: () => false,
    onDrift: () => {},
  });
  const memory = new DashboardMemory();
  feedMemory(memory, caches.groups, report);
  const [viewer, assets] = await Promise.all([whoAmI(kube), loadAssets()]);
  await caches.runnable.start();
  const stopEvents = await startResilient(events, {
    clock,
    baseDelayMs: 1_000,
    maxDelayMs: 60_000,
    log,
    name: 'events',
  });
  await drift.runnable.start();
  const server = new DashboardServer(
    {
      groups: caches.groups,
      sources: caches.sources,
      chartSources: caches.chartSources,
      events,
      liveOf: liveFromDrift(() => drift.watcher),
      memory,
      kube,
    },
    {
      addr: `127.0.0.1:${cfg.port}`,
      mode: 'local',
      readOnly: cfg.readOnly,
      authorizer: selfAccessReviews(kube, clock),
      localViewer: viewer,
      assets,
      clock,
      log,
    },
  );
  const url = await server.start();
  process.stdout.write(`Shoal dashboard for ${viewer.user}: ${url}/\n`);
  if (cfg.open) spawn('xdg-open', [`${url}/`], { stdio: 'ignore', detached: true }).on('error', () => {});
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.stop();
  await drift.runnable.stop();
  await stopEvents();
  await caches.runnable.stop();
  return 0;
}
