import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useCluster } from '../support/cluster.ts';
import { FaultProxy, type ProxiedRequest } from '../support/fault-proxy.ts';
import { gitRepo } from '../support/git-repo.ts';
import { shoalObjects } from '../support/objects.ts';
import { namespaceShoalProcess } from '../support/shoal-cli.ts';
import { waitFor } from '../support/wait.ts';

/**
 * The fault soak: for SHOAL_SOAK_SECONDS (20 in the default suite; `npm run soak` runs 300), random
 * commits, hand edits, hand deletions, API errors and operator restarts against four groups. At the
 * end everything must have converged to Git, and no object still declared in Git may have been
 * deleted by Shoal. Object names are never reused, so "still declared" is exact: a delete is right
 * only for a name some earlier commit removed.
 */
const SECONDS = Number(process.env.SHOAL_SOAK_SECONDS ?? 20);
const GROUPS = ['g0', 'g1', 'g2', 'g3'];

const { cp, kube, kubectl, newNamespace } = useCluster();

/** A seeded generator, so a failing run can be replayed (the seed is in the test name). */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.SHOAL_SOAK_SEED ?? Date.now() % 100_000);
const cm = (name: string, v: number) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {v: "${v}"}\n`;

describe('fault soak', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  it(
    `${SECONDS} s of commits, hand edits, deletions, API errors and restarts converge, and delete nothing declared (seed ${SEED})`,
    async () => {
      const rand = random(SEED);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
      const ns = await newNamespace('soak');
      const o = shoalObjects(kube, ns);
      const tmp = await mkdtemp(join(tmpdir(), 'shoal-soak-'));
      cleanups.push(() => rm(tmp, { recursive: true, force: true }));

      // The model: per group, the declared objects and their values; and every name ever removed.
      let counter = 0;
      const declared = new Map<string, Map<string, number>>(GROUPS.map((g) => [g, new Map()]));
      const removedAt = new Map<string, number>();
      const files: Record<string, string | null> = {};
      for (const g of GROUPS) {
        for (let i = 0; i < 3; i++) {
          const name = `${g}-cm-${counter++}`;
          declared.get(g)?.set(name, 1);
          files[`apps/${g}/${name}.yaml`] = cm(name, 1);
        }
      }
      const repo = await gitRepo(files as Record<string, string>);
      cleanups.push(() => repo.remove());

      const proxy = await FaultProxy.start(cp.kubeconfig, { tag: 'soak' });
      cleanups.push(() => proxy.close());
      const kubeconfig = await proxy.kubeconfig(tmp);
      let failing = 0;
      proxy.rule((r: ProxiedRequest) => {
        if (Date.now() >= failing || r.path.includes('/leases/')) return undefined;
        const x = rand();
        if (x < 0.15) return { status: 500, reason: 'InternalError' };
        if (x < 0.25) return { status: 409, reason: 'Conflict' };
        if (x < 0.3) return { status: 429, reason: 'TooManyRequests', headers: { 'Retry-After': '1' } };
        if (x < 0.35) return 'drop';
        return undefined;
      });
      const start = () => {
        const p = namespaceShoalProcess(kubeconfig, ns, join(tmp, 'cache'));
        cleanups.push(() => p.kill());
        return p;
      };
      let operator = start();

      await o.source('repo', { url: repo.url, interval: '1s' });
      for (const g of GROUPS)
        await o.group(g, { sourceRef: { name: 'repo' }, path: `apps/${g}`, prune: true, interval: '5s' });
      for (const g of GROUPS) await o.groupAt(g, await repo.head(), 60_000);

      const counts = { commits: 0, edits: 0, deletions: 0, faults: 0, restarts: 0 };
      let lastRestart = Date.now();
      const live = async () =>
        (await kube.list<{ metadata: { name: string } }>('v1', 'ConfigMap', { namespace: ns })).items
          .map((c) => c.metadata.name)
          .filter((n) => n.includes('-cm-'));
      const deadline = Date.now() + SECONDS * 1000;
      while (Date.now() < deadline) {
        const action = rand();
        if (action < 0.4) {
          // A commit: add, change and remove objects of one group.
          const g = pick(GROUPS);
          const objects = declared.get(g) as Map<string, number>;
          const change: Record<string, string | null> = {};
          for (const name of [...objects.keys()]) {
            const r = rand();
            if (r < 0.2 && objects.size > 1) {
              objects.delete(name);
              change[`apps/${g}/${name}.yaml`] = null;
              removedAt.set(name, Date.now());
            } else if (r < 0.5) {
              const v = (objects.get(name) ?? 0) + 1;
              objects.set(name, v);
              change[`apps/${g}/${name}.yaml`] = cm(name, v);
            }
          }
          if (rand() < 0.6) {
            const name = `${g}-cm-${counter++}`;
            objects.set(name, 1);
            change[`apps/${g}/${name}.yaml`] = cm(name, 1);
          }
          await repo.commit(change);
          counts.commits++;
        } else if (action < 0.6) {
          const names = await live();
          if (names.length > 0) {
            await kubectl(
              '-n',
              ns,
              'patch',
              'configmap',
              pick(names),
              '--type=merge',
              '-p',
              '{"data":{"v":"by-hand"}}',
            ).catch(() => {});
            counts.edits++;
          }
        } else if (action < 0.75) {
          const names = await live();
          if (names.length > 0) {
            await kubectl('-n', ns, 'delete', 'configmap', pick(names), '--wait=false').catch(() => {});
            counts.deletions++;
          }
        } else if (action < 0.9) {
          failing = Date.now() + 1_000 + rand() * 2_000;
          counts.faults++;
        } else if (Date.now() - lastRestart > 8_000) {
          await operator.kill();
          operator = start();
          lastRestart = Date.now();
          counts.restarts++;
        }
        await new Promise((r) => setTimeout(r, 200 + rand() * 500));
      }
      failing = 0;

      // Convergence: every group at the head, the cluster exactly what Git declares.
      const head = await repo.head();
      for (const g of GROUPS)
        await o.groupAt(g, head, 120_000).catch((err: Error) => {
          throw new Error(`${err.message} (${JSON.stringify(counts)})\n${operator.output().slice(-4000)}`);
        });
      const want = new Map([...declared.values()].flatMap((m) => [...m.entries()]));
      await waitFor(
        'the cluster to match Git',
        async () => {
          const items = (
            await kube.list<{ metadata: { name: string }; data?: { v?: string } }>('v1', 'ConfigMap', {
              namespace: ns,
            })
          ).items.filter((c) => c.metadata.name.includes('-cm-'));
          const got = new Map(items.map((c) => [c.metadata.name, c.data?.v]));
          // What differs, so a timeout says which objects and how (and what the operator said).
          const wrongValue = [...want]
            .filter(([n, v]) => got.get(n) !== String(v))
            .map(([n, v]) => `${n}: ${got.get(n) ?? 'missing'} (Git: ${v})`);
          const extra = [...got.keys()].filter((n) => !want.has(n)).map((n) => `${n}: not in Git`);
          if (wrongValue.length + extra.length === 0) return true;
          throw new Error(
            `${[...wrongValue, ...extra].join(', ')} (${JSON.stringify(counts)})\n${operator.output().slice(-4000)}`,
          );
        },
        { timeoutMs: 60_000 },
      );
      // No delete of a name that no commit had removed before it.
      const wrong = proxy.log.filter((r) => {
        if (r.method !== 'DELETE' || !r.path.includes(`/namespaces/${ns}/configmaps/`)) return false;
        const name = r.path.split('/').pop() ?? '';
        const removed = removedAt.get(name);
        return removed === undefined || removed > r.at;
      });
      expect(wrong.map((r) => `${r.path} at ${r.at}`)).toEqual([]);
      expect(counts.commits, JSON.stringify(counts)).toBeGreaterThan(0);
      console.log(
        `fault soak (seed ${SEED}, ${SECONDS} s): ${JSON.stringify(counts)}, ${proxy.log.length} API requests`,
      );
    },
    (SECONDS + 300) * 1000,
  );
});
