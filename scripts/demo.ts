// `npm run demo`: a local control plane, a demo Git repository made from examples/, and the operator
// syncing it. Leaves everything running and says how to look around and how to stop.
import { execFileSync } from 'node:child_process';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  addProcess,
  type ControlPlaneState,
  ensureBinaries,
  ensureTierB,
  installCrds,
  installFinalizerPolicy,
  kubectl,
  readState,
  startControlPlane,
} from '../test/controlplane/control-plane.ts';
import { startTierB, USAGE_ANNOTATIONS } from '../test/controlplane/tier-b.ts';
import { buildDashboard } from './build-dashboard.ts';

const root = resolve(import.meta.dirname, '..');
/** Where the demo's operator serves the dashboard. */
const DASHBOARD_PORT = 9080;
const dir = resolve(process.env.SHOAL_CLUSTER_DIR ?? join(root, '.shoal', 'cluster'));
const repoDir = join(dir, 'demo-repo');
const NS = 'shoal-demo';

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s = '') => process.stdout.write(`${s}\n`);
const step = (s: string) => say(`\n${bold(`==> ${s}`)}`);

function git(...args: string[]): string {
  return execFileSync('git', args, {
    cwd: repoDir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: repoDir, GIT_CONFIG_NOSYSTEM: '1' },
    encoding: 'utf8',
  }).trim();
}

/** Commits everything in the demo repository; returns the commit. */
function commit(message: string): string {
  git('add', '-A');
  git('-c', 'user.name=Shoal demo', '-c', 'user.email=demo@shoal.dev', 'commit', '-q', '-m', message);
  return git('rev-parse', 'HEAD');
}

async function k(state: ControlPlaneState, ...args: string[]): Promise<string> {
  const r = await kubectl(state, args);
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** The message podinfo's ConfigMap holds now (what Git says, or a hand edit). */
const uiMessage = (state: ControlPlaneState) =>
  k(
    state,
    '-n',
    'podinfo',
    'get',
    'configmap',
    'podinfo-config',
    '-o',
    'jsonpath={.data.PODINFO_UI_MESSAGE}',
  );

/**
 * Polls a field of the demo AppGroup (a kubectl jsonpath) until `done` accepts it; calls `changed` on
 * each new value. Returns the milliseconds it took; throws with the last value after `timeoutMs`.
 */
async function waitForGroup(
  state: ControlPlaneState,
  jsonpath: string,
  done: (value: string) => boolean,
  timeoutMs: number,
  changed: (value: string) => void = () => {},
): Promise<number> {
  const started = Date.now();
  let last: string | undefined;
  while (Date.now() - started < timeoutMs) {
    const r = await kubectl(state, ['-n', NS, 'get', 'appgroup', 'podinfo', '-o', `jsonpath={${jsonpath}}`]);
    if (r.stdout !== last) changed(r.stdout);
    last = r.stdout;
    if (done(r.stdout)) return Date.now() - started;
    await sleep(100);
  }
  throw new Error(
    `${jsonpath} of the AppGroup was still "${last ?? ''}" after ${timeoutMs / 1000}s; see ${state.logs['shoal-operator']}`,
  );
}

const waitForRevision = (state: ControlPlaneState, commit: string, timeoutMs: number) =>
  waitForGroup(state, '.status.lastAppliedRevision', (v) => v.endsWith(commit), timeoutMs);

/** Waits until the AppGroup's health is `want`, printing each health it passes through. */
const waitForHealth = (state: ControlPlaneState, want: string, timeoutMs: number) =>
  waitForGroup(
    state,
    '.status.health.status',
    (v) => v === want,
    timeoutMs,
    (v) => say(`  health: ${v || '(not assessed yet)'}`),
  );

async function main(): Promise<void> {
  step('A behaving cluster: etcd, kube-apiserver, controller-manager, scheduler, KWOK nodes, metrics-server');
  say('  (built from Go modules on first use; a cold build takes a while and prints its progress)');
  let state = await readState(dir);
  if (state) say(`reusing the control plane recorded in ${dir}`);
  else {
    const [binDir] = await Promise.all([
      ensureBinaries((l) => say(`  ${l}`)),
      ensureTierB((l) => say(`  ${l}`)),
    ]);
    state = await startControlPlane({ dir, binDir, log: (l) => say(`  ${l}`) });
  }
  if (state.pids.kwok === undefined) {
    const tierB = await ensureTierB((l) => say(`  ${l}`));
    await startTierB(state, tierB, { log: (l) => say(`  ${l}`) });
  }
  say(await k(state, 'get', 'nodes'));
  await installCrds(state, join(root, 'crds'));
  await installFinalizerPolicy(state, join(root, 'manifests', 'finalizer-policy.yaml'));
  say('CRDs installed: gitsources.shoal.dev, appgroups.shoal.dev (Established), and the finalizer policy');

  step('A demo Git repository made from examples/podinfo');
  await rm(repoDir, { recursive: true, force: true });
  await mkdir(repoDir, { recursive: true });
  await cp(join(root, 'examples', 'podinfo'), repoDir, { recursive: true });
  git('init', '-q', '-b', 'main');
  const first = commit('podinfo 6.14.0');
  say(`file://${repoDir} at ${first.slice(0, 8)}`);

  await buildDashboard();
  if (state.pids['shoal-operator'] === undefined) {
    step(`The operator: shoal run --allow-file-urls --privileged-namespaces=${NS}`);
    const p = await addProcess(state, 'shoal-operator', process.execPath, [
      join(root, 'src', 'main.ts'),
      'run',
      `--kubeconfig=${state.kubeconfig}`,
      '--allow-file-urls',
      // The demo's namespace plays the operator's own: its group may create the podinfo Namespace.
      `--privileged-namespaces=${NS}`,
      '--metrics-addr=127.0.0.1:0',
      '--webhook-addr=127.0.0.1:0',
      `--cache-dir=${join(dir, 'shoal-cache')}`,
      '--autoscaler-sync-period=5s',
      `--dashboard-addr=127.0.0.1:${DASHBOARD_PORT}`,
    ]);
    say(`running as pid ${p.pid}, logging JSON to ${p.log}`);
  }

  step('A GitSource (poll every 5s) and an AppGroup');
  const resources = `apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
---
apiVersion: shoal.dev/v1alpha1
kind: GitSource
metadata: {name: demo, namespace: ${NS}}
spec:
  url: file://${repoDir}
  ref: {branch: main}
  interval: 5s
---
apiVersion: shoal.dev/v1alpha1
kind: AppGroup
metadata: {name: podinfo, namespace: ${NS}}
spec:
  sourceRef: {name: demo}
  path: podinfo
  interval: 1m
  apps:
    - name: podinfo
      autoscaling:
        minReplicas: 2
        maxReplicas: 6
        metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}}]
`;
  say(resources.replace(/^/gm, '  '));
  const applied = await kubectl(state, ['apply', '-f', '-'], resources);
  if (applied.status !== 0) throw new Error(applied.stderr);

  const firstMs = await waitForRevision(state, first, 60_000);
  say(`synced ${first.slice(0, 8)} in ${(firstMs / 1000).toFixed(1)}s`);
  const healthyMs = await waitForHealth(state, 'Healthy', 120_000);
  say(`the rollout went Healthy ${(healthyMs / 1000).toFixed(1)}s later: pods Running on fake nodes`);
  say(await k(state, 'get', 'gitsources,appgroups', '-A', '-o', 'wide'));
  say(await k(state, '-n', 'podinfo', 'get', 'deployment,pods', '-o', 'wide'));

  step('Commit a change to Git and watch it land on the next poll');
  const cmPath = join(repoDir, 'podinfo', 'configmap.yaml');
  const depPath = join(repoDir, 'podinfo', 'deployment.yaml');
  await writeFile(
    cmPath,
    (await readFile(cmPath, 'utf8')).replace('Hello from Git', 'Hello again, from a new commit'),
  );
  await writeFile(depPath, (await readFile(depPath, 'utf8')).replace('podinfo:6.14.0', 'podinfo:6.14.1'));
  const second = commit('podinfo 6.14.1');
  say(`committed ${second.slice(0, 8)}: new message, image podinfo:6.14.1`);
  const secondMs = await waitForRevision(state, second, 60_000);
  say(`applied ${(secondMs / 1000).toFixed(1)}s after the commit (poll interval 5s)`);
  const message = await uiMessage(state);
  const image = await k(
    state,
    '-n',
    'podinfo',
    'get',
    'deployment',
    'podinfo',
    '-o',
    'jsonpath={.spec.template.spec.containers[0].image}',
  );
  say(`configmap podinfo-config: PODINFO_UI_MESSAGE=${message}`);
  say(`deployment podinfo: image ${image}`);
  const rolledMs = await waitForHealth(state, 'Healthy', 120_000);
  say(`rolled out and Healthy ${(rolledMs / 1000).toFixed(1)}s later`);
  say(await k(state, 'get', 'appgroups', '-A', '-o', 'wide'));
  say(await k(state, '-n', 'podinfo', 'get', 'pods', '-o', 'wide'));

  step('Someone edits a managed object by hand (kubectl edit); Shoal reverts it and records the diff');
  await kubectl(state, ['-n', 'podinfo', 'edit', 'configmap', 'podinfo-config'], undefined, {
    KUBE_EDITOR: 'sed -i s/PODINFO_UI_MESSAGE:.*/PODINFO_UI_MESSAGE:\\ edited\\ by\\ hand/',
  });
  const reverted = Date.now();
  for (;;) {
    const now = await uiMessage(state);
    if (now !== 'edited by hand') break;
    if (Date.now() - reverted > 30_000) throw new Error('the hand edit was not reverted within 30 s');
    await sleep(100);
  }
  say(
    `reverted ${((Date.now() - reverted) / 1000).toFixed(1)}s after the edit (the dashboard shows the diff, changed by kubectl-edit)`,
  );

  step('Load arrives: the pods use 150% of their CPU request, and the autoscaler answers');
  say("  (usage is simulated: KWOK reports a pod's kwok.x-k8s.io/usage-cpu annotation to metrics-server)");
  const running = await k(state, '-n', 'podinfo', 'get', 'pods', '-l', 'app=podinfo', '-o', 'name');
  const loaded = Date.now();
  const annotated = await kubectl(state, [
    '-n',
    'podinfo',
    'annotate',
    '--overwrite',
    ...running.split('\n').filter(Boolean),
    `${USAGE_ANNOTATIONS.cpu}=150m`,
  ]);
  if (annotated.status !== 0) throw new Error(annotated.stderr);
  let replicas = '2';
  for (const deadline = Date.now() + 120_000; replicas === '2' && Date.now() < deadline; await sleep(500)) {
    replicas = await k(
      state,
      '-n',
      'podinfo',
      'get',
      'deployment',
      'podinfo',
      '-o',
      'jsonpath={.spec.replicas}',
    );
  }
  say(`scaled 2 → ${replicas} replicas ${((Date.now() - loaded) / 1000).toFixed(1)}s after the load arrived`);
  say('  (metrics-server samples every 10s; the autoscaler decides every 5s here, 15s by default)');
  say(
    await k(
      state,
      '-n',
      NS,
      'get',
      'appgroup',
      'podinfo',
      '-o',
      'jsonpath={range .status.apps[*]}{.name}: {.replicas.current} → {.replicas.desired} ({.reason}); {.metrics[0].name} {.metrics[0].current} of {.metrics[0].target}{"\\n"}{end}',
    ),
  );
  say(await k(state, '-n', NS, 'get', 'events', '--field-selector', 'reason=SuccessfulRescale'));

  step('Look around');
  say(`  export KUBECONFIG='${state.kubeconfig}'`);
  say(`  export PATH='${state.binDir}':"$PATH"`);
  say('  kubectl get gitsources,appgroups -A');
  say(`  kubectl -n ${NS} get appgroup podinfo -o yaml      # status: conditions, inventory, history`);
  say(`  kubectl -n ${NS} get events`);
  say('  kubectl -n podinfo get pods -o wide; kubectl top pods -n podinfo   # fake nodes, simulated usage');
  say(`  kubectl -n ${NS} get appgroup podinfo -o jsonpath='{.status.apps}'   # the autoscaler's decisions`);
  say('  kubectl -n podinfo annotate pods --all --overwrite kwok.x-k8s.io/usage-cpu=20m   # load goes away');
  say(`  cd ${repoDir} && edit, git commit -am ...   # lands within about 5 s`);
  say(`  operator log: ${state.logs['shoal-operator']}`);
  step('The dashboard');
  await k(state, '-n', NS, 'create', 'serviceaccount', 'demo-admin', '--dry-run=client', '-o', 'yaml').then(
    (y) => kubectl(state, ['apply', '-f', '-'], y),
  );
  await kubectl(state, [
    'create',
    'clusterrolebinding',
    'shoal-demo-admin',
    '--clusterrole=cluster-admin',
    `--serviceaccount=${NS}:demo-admin`,
  ]);
  const token = (await k(state, '-n', NS, 'create', 'token', 'demo-admin', '--duration=24h')).trim();
  say(
    `  http://127.0.0.1:${DASHBOARD_PORT}/   sign in with this token (a demo ServiceAccount bound to cluster-admin, valid 24 h):`,
  );
  say(`  ${token}`);
  say('  or, with no token, as your kubeconfig user:  npm run shoal -- dashboard --open');
  step('Stop');
  say('  npm run cluster:down      # stops the operator and the control plane, removes .shoal/cluster');
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
