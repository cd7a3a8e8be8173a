import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../support/cluster.ts';
import { gitRepo, type TestRepo } from '../support/git-repo.ts';
import { waitForApplyStep } from '../support/metrics.ts';
import { shoalObjects } from '../support/objects.ts';
import { startProxiedShoal, startShoal } from '../support/shoal.ts';
import { waitFor } from '../support/wait.ts';

const { cp, kube, kubectl, newNamespace } = useCluster();

// PodTemplates: a kind no other test uses, so the API server's own request counters for it are ours.
const podTemplate = (i: number) => `apiVersion: v1
kind: PodTemplate
metadata: {name: t${i}, labels: {tier: web}}
template:
  metadata: {labels: {app: t${i}}}
  spec: {containers: [{name: app, image: "registry.invalid/t:${i}"}]}
`;

/** apiserver_request_total for podtemplates, by verb (dry runs counted apart; SSA is verb APPLY). */
async function podTemplateRequests(): Promise<Record<string, number>> {
  const text = await kubectl('get', '--raw', '/metrics');
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{') || !line.includes('resource="podtemplates"')) continue;
    const verb = line.match(/verb="([A-Z]+)"/)?.[1] ?? '?';
    const dry = line.match(/dry_run="([^"]*)"/)?.[1];
    const key = dry ? `${verb}(dry-run)` : verb;
    out[key] = (out[key] ?? 0) + Number(line.split(' ').pop());
  }
  return out;
}

const diff = (a: Record<string, number>, b: Record<string, number>) =>
  Object.fromEntries(
    Object.keys({ ...a, ...b })
      .map((k) => [k, (b[k] ?? 0) - (a[k] ?? 0)])
      .filter(([, v]) => v !== 0),
  );

describe('re-syncs', () => {
  let ns: string;
  let repo: TestRepo;
  let shoal: Awaited<ReturnType<typeof startShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  const resync = async () => {
    const token = `r-${Date.now()}`;
    await kubectl('-n', ns, 'annotate', '--overwrite', 'appgroup', 'app', `shoal.dev/requested-at=${token}`);
    await waitFor(
      're-sync handled',
      async () => (await o.getGroup('app'))?.status?.lastHandledReconcileAt === token,
    );
  };

  beforeAll(async () => {
    ns = await newNamespace('resync');
    o = shoalObjects(kube, ns);
    repo = await gitRepo(
      Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`apps/t${i}.yaml`, podTemplate(i)])),
    );
    shoal = await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    await o.source('repo', { url: repo.url, interval: '1h' });
    await o.group('app', { sourceRef: { name: 'repo' }, path: 'apps', interval: '1h' });
    await o.groupAt('app', await repo.head());
  });

  afterAll(async () => {
    await shoal?.stop();
    await repo?.remove();
  });

  it('a re-sync of an unchanged group writes nothing and dry-runs nothing: one LIST', async () => {
    await resync();
    const before = await podTemplateRequests();
    await resync();
    expect(diff(before, await podTemplateRequests())).toEqual({ LIST: 1 });
  });

  it('drift by hand (kubectl edit) is reverted, by a full dry-run and apply', async () => {
    const before = await podTemplateRequests();
    await kubectl('-n', ns, 'label', '--overwrite', 'podtemplate', 't3', 'tier=hacked');
    // The drift watch reverts it within moments; the re-sync after it then finds nothing to do.
    await waitFor('reverted', async () => {
      const t3 = await kube.get<{ metadata: { labels: Record<string, string> } }>({
        apiVersion: 'v1',
        kind: 'PodTemplate',
        namespace: ns,
        name: 't3',
      });
      return t3?.metadata.labels.tier === 'web';
    });
    await resync();
    const live = await kube.get<{ metadata: { labels: Record<string, string> } }>({
      apiVersion: 'v1',
      kind: 'PodTemplate',
      namespace: ns,
      name: 't3',
    });
    expect(live?.metadata.labels.tier).toBe('web');
    const spent = diff(before, await podTemplateRequests());
    // Server-side apply is counted as verb APPLY; dry runs carry dry_run="All".
    expect(spent['APPLY(dry-run)']).toBe(10);
    expect(spent.APPLY).toBe(10);
  });

  const tierOf = async (name: string) =>
    (
      await kube.get<{ metadata: { labels: Record<string, string> } }>({
        apiVersion: 'v1',
        kind: 'PodTemplate',
        namespace: ns,
        name,
      })
    )?.metadata.labels.tier;

  /**
   * Stops the operator, runs `meanwhile`, and starts a new process (no memo of its own syncs); once
   * it has run the group's apply step, returns the request counters from before its start.
   */
  const restart = async (meanwhile: () => Promise<unknown> = async () => undefined) => {
    await shoal.stop();
    await meanwhile();
    const before = await podTemplateRequests();
    shoal = await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    await waitForApplyStep(shoal.metricsUrl);
    return before;
  };

  it('a restarted operator finds an unchanged group unchanged by its status.appliedDigest: no dry run, no apply', async () => {
    const digest = (await o.getGroup('app'))?.status?.appliedDigest;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const before = await restart();
    const spent = diff(before, await podTemplateRequests());
    expect(spent['APPLY(dry-run)']).toBeUndefined();
    expect(spent.APPLY).toBeUndefined();
    const group = await o.getGroup('app');
    expect(group?.status?.appliedDigest).toBe(digest);
    expect(group?.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('an object changed while no operator ran: the restarted one applies the group in full and reverts it', async () => {
    const before = await restart(() =>
      kubectl('-n', ns, 'label', '--overwrite', 'podtemplate', 't6', 'tier=edited-while-down'),
    );
    await waitFor('reverted', async () => (await tierOf('t6')) === 'web');
    const spent = diff(before, await podTemplateRequests());
    expect(spent['APPLY(dry-run)']).toBe(10);
    expect(spent.APPLY).toBe(10);
  });

  /**
   * Restarts the operator behind a proxy that answers the drift cache's list of every managed
   * PodTemplate (cluster-wide) `delayMs` late; once the group's apply step ran, returns the
   * PodTemplate requests other than watches.
   */
  const restartBehindSlowCache = async (delayMs: number) => {
    await shoal.stop();
    const proxied = await startProxiedShoal({
      kubeconfig: cp.kubeconfig,
      namespace: ns,
      rules: [(r) => (r.path === '/api/v1/podtemplates' && !r.watch ? { delayMs } : undefined)],
    });
    try {
      await waitForApplyStep(proxied.metricsUrl);
      return proxied.proxy
        .requests((r) => !r.watch && /\/podtemplates(\/|$)/.test(r.path))
        .map((r) => `${r.method} ${r.path}${r.query.has('dryRun') ? ' (dry run)' : ''}`);
    } finally {
      await proxied.stop();
      shoal = await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns });
    }
  };

  it('restarted while its drift cache is still listing, the group waits for the cache rather than list its objects beside it', async () => {
    // 2 s late (a list of 10,000 objects takes about 1 s here): the group is ready to be checked
    // well before. One list, the cache's: no labelled list of the group's namespace, no dry run.
    expect(await restartBehindSlowCache(2_000)).toEqual(['GET /api/v1/podtemplates']);
  });

  it('a drift cache that takes longer than 5 s does not hold the group: it lists its own objects', async () => {
    expect(await restartBehindSlowCache(7_000)).toEqual([
      'GET /api/v1/podtemplates',
      `GET /api/v1/namespaces/${ns}/podtemplates`,
    ]);
  });
});
