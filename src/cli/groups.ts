import type { AppGroup } from '../api/app-group.ts';
import { CONDITION } from '../api/conditions.ts';
import type { GitSource } from '../api/git-source.ts';
import { ANNOTATIONS, API_GROUP, API_VERSION, KINDS } from '../api/group.ts';
import type { Condition } from '../api/meta.ts';
import { parseKey } from '../api/object-key.ts';
import { parseClusterCommand } from '../config.ts';
import { Kube, loadKubeConfig } from '../kube/client.ts';
import { type Lease, mayAcquire } from '../runtime/leader-election.ts';
import { SHARD_ANNOTATIONS, SHARD_LABELS, shardOf } from '../runtime/shards.ts';

const GV = `${API_GROUP}/${API_VERSION}`;

/** Formats rows as kubectl does: upper-case headers, columns padded to the widest cell. Pure. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3)))
      .join('')
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`;
}

/** "5m", "3h", "2d", like kubectl's AGE column. Pure. */
export function age(created: string | undefined, now: Date): string {
  if (!created) return '<unknown>';
  const s = Math.max(0, Math.floor((now.getTime() - Date.parse(created)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

const ready = (c: Condition[] | undefined) => c?.find((x) => x.type === CONDITION.Ready);

export interface GetOptions {
  kind: 'groups' | 'sources';
  /** undefined: all namespaces. */
  namespace: string | undefined;
  now: Date;
  /** -o wide: the replica writing each group (sharded installations). */
  wide?: boolean;
}

/**
 * The holder of each live shard Lease, per installation (the leader-election id). Empty when the
 * Leases cannot be listed (not sharded, or no permission).
 */
async function shardHolders(
  kube: Kube,
  now: Date,
): Promise<{ count: number; holders: Map<number, string> }[]> {
  const { items } = await kube
    .list<Lease>('coordination.k8s.io/v1', 'Lease', { labelSelector: `${SHARD_LABELS.role}=shard` })
    .catch(() => ({ items: [] as Lease[] }));
  const byInstallation = new Map<string, { count: number; holders: Map<number, string> }>();
  for (const l of items) {
    const id = `${l.metadata.namespace}/${l.metadata.labels?.[SHARD_LABELS.memberOf] ?? ''}`;
    const count = Number(l.metadata.annotations?.[SHARD_ANNOTATIONS.count]);
    const shard = Number(l.metadata.annotations?.[SHARD_ANNOTATIONS.shard]);
    if (!Number.isInteger(count) || !Number.isInteger(shard)) continue;
    const entry = byInstallation.get(id) ?? { count, holders: new Map() };
    byInstallation.set(id, entry);
    if (l.spec.holderIdentity && !mayAcquire(l, '', now)) entry.holders.set(shard, l.spec.holderIdentity);
  }
  return [...byInstallation.values()];
}

/** `shoal get groups|sources [-A]`: a table like `kubectl get`, with sync and health for groups. */
export async function getCommand(kube: Kube, opts: GetOptions): Promise<string> {
  const scope = opts.namespace ? { namespace: opts.namespace } : {};
  const all = opts.namespace === undefined;
  if (opts.kind === 'groups') {
    const { items } = await kube.list<AppGroup>(GV, KINDS.AppGroup.kind, scope);
    const installations = opts.wide ? await shardHolders(kube, opts.now) : [];
    const owner = (g: AppGroup) =>
      installations
        .map((i) => i.holders.get(shardOf(`${g.metadata.namespace}/${g.metadata.name}`, i.count)))
        .filter((h) => h !== undefined)
        .join(',') || '<none>';
    const rows = items.map((g) => [
      ...(all ? [g.metadata.namespace ?? ''] : []),
      g.metadata.name ?? '',
      ready(g.status?.conditions)?.status ?? 'Unknown',
      g.spec.suspend ? 'Suspended' : (g.status?.sync?.status ?? 'Unknown'),
      g.status?.health?.status ?? 'Unknown',
      g.status?.lastAppliedRevision ?? '',
      age(g.metadata.creationTimestamp, opts.now),
      ...(opts.wide ? [owner(g)] : []),
    ]);
    return table(
      [
        ...(all ? ['NAMESPACE'] : []),
        ...['NAME', 'READY', 'SYNC', 'HEALTH', 'REVISION', 'AGE'],
        ...(opts.wide ? ['OWNER'] : []),
      ],
      rows,
    );
  }
  const { items } = await kube.list<GitSource>(GV, KINDS.GitSource.kind, scope);
  const rows = items.map((s) => [
    ...(all ? [s.metadata.namespace ?? ''] : []),
    s.metadata.name ?? '',
    s.spec.url,
    ready(s.status?.conditions)?.status ?? 'Unknown',
    s.spec.suspend ? 'Suspended' : (ready(s.status?.conditions)?.reason ?? ''),
    s.status?.artifact?.revision ?? '',
    age(s.metadata.creationTimestamp, opts.now),
  ]);
  return table([...(all ? ['NAMESPACE'] : []), 'NAME', 'URL', 'READY', 'STATUS', 'REVISION', 'AGE'], rows);
}

const ref = (plural: string, namespace: string, name: string) => ({
  group: API_GROUP,
  version: API_VERSION,
  plural,
  namespace,
  name,
});

/**
 * `shoal reconcile group ns/name [--with-source]`: sets `shoal.dev/requested-at` (on the source too,
 * first, with --with-source), which the operator handles at once.
 */
export async function reconcileCommand(
  kube: Kube,
  namespace: string,
  name: string,
  withSource: boolean,
  now: Date,
): Promise<string> {
  const token = now.toISOString();
  const annotate = { metadata: { annotations: { [ANNOTATIONS.requestedAt]: token } } };
  let out = '';
  if (withSource) {
    const group = await kube.get<AppGroup>({ apiVersion: GV, kind: KINDS.AppGroup.kind, namespace, name });
    if (!group) throw new Error(`appgroup ${namespace}/${name} not found`);
    await kube.mergePatch(ref(KINDS.GitSource.plural, namespace, group.spec.sourceRef.name), annotate);
    out += `gitsource/${group.spec.sourceRef.name} reconcile requested\n`;
  }
  await kube.mergePatch(ref(KINDS.AppGroup.plural, namespace, name), annotate);
  return `${out}appgroup/${name} reconcile requested (${ANNOTATIONS.requestedAt}=${token})\n`;
}

/** `shoal suspend|resume group ns/name`: sets spec.suspend. */
export async function suspendCommand(
  kube: Kube,
  namespace: string,
  name: string,
  suspend: boolean,
): Promise<string> {
  await kube.mergePatch(ref(KINDS.AppGroup.plural, namespace, name), { spec: { suspend } });
  return `appgroup/${name} ${suspend ? 'suspended' : 'resumed'}\n`;
}

/** `shoal get|reconcile|suspend|resume` from their arguments. */
export async function groupsMain(command: string, args: string[]): Promise<number> {
  const cfg = parseClusterCommand(args, process.env);
  const [what, target] = cfg.args;
  const out = (text: string) => process.stdout.write(text);
  if (command === 'get') {
    if (what !== 'groups' && what !== 'sources')
      throw new Error('usage: shoal get groups|sources [-A | -n ns] [-o wide]');
    const kube = new Kube(loadKubeConfig(cfg.kube));
    out(
      await getCommand(kube, {
        kind: what,
        namespace: cfg.allNamespaces ? undefined : (cfg.namespace ?? 'default'),
        now: new Date(),
        wide: cfg.wide,
      }),
    );
    return 0;
  }
  const { namespace, name } = parseKey(target ?? '');
  if (what !== 'group' || !namespace || !name)
    throw new Error(`usage: shoal ${command} group <namespace>/<name>`);
  const kube = new Kube(loadKubeConfig(cfg.kube));
  if (command === 'reconcile') out(await reconcileCommand(kube, namespace, name, cfg.withSource, new Date()));
  else out(await suspendCommand(kube, namespace, name, command === 'suspend'));
  return 0;
}
