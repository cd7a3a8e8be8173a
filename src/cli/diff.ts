import type { AppGroup } from '../api/app-group.ts';
import { API_GROUP, API_VERSION, FIELD_MANAGERS, KINDS } from '../api/group.ts';
import { describeRef, inventoryId, type ObjectRef, refOf } from '../api/object-key.ts';
import { type DirCommandConfig, dirUsage, parseDirCommand, wantsHelp } from '../config.ts';
import { parseInventory } from '../diff/inventory.ts';
import { diffObject, type ObjectDiff } from '../diff/object-diff.ts';
import { Kube, type KubeConfigSource, loadKubeConfig } from '../kube/client.ts';
import { KubeApiError } from '../kube/kube-api-error.ts';
import { resolveScopes } from '../reconcile/resolve-scopes.ts';
import { decorate } from '../render/decorate.ts';
import { mapLimit } from '../runtime/map-limit.ts';
import { loadDir } from './load-dir.ts';

/** The directory command's settings; `group` (ns/name of an AppGroup) sets owner labels as it would, and its inventory gives deletions. */
export type DiffCommand = Omit<DirCommandConfig, 'kube'> & { kube: KubeConfigSource };

interface Entry {
  ref: ObjectRef;
  diff: ObjectDiff;
}

const SIGN: Record<ObjectDiff['action'], string> = {
  created: '+',
  configured: '~',
  deleted: '-',
  unchanged: '=',
};

function formatText(entries: readonly Entry[]): string {
  const lines: string[] = [];
  for (const { ref, diff } of entries) {
    if (diff.action === 'unchanged') continue;
    lines.push(`${SIGN[diff.action]} ${describeRef(ref)} (${diff.action})`);
    if (diff.action !== 'configured') continue;
    for (const op of diff.patch) {
      const owners = diff.owners[op.path];
      const value = op.value === undefined ? '' : ` ${JSON.stringify(op.value)}`;
      lines.push(`    ${op.op} ${op.path}${value}${owners ? `   (now owned by ${owners.join(', ')})` : ''}`);
    }
  }
  const count = (a: ObjectDiff['action']) => entries.filter((e) => e.diff.action === a).length;
  lines.push(
    `${count('created')} to create, ${count('configured')} to change, ${count('deleted')} to delete, ${count('unchanged')} unchanged`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * `shoal diff <dir> --namespace ns`: what applying <dir> would change. Every object is dry-run with
 * server-side apply (field manager shoal) and compared with the live object after normalisation.
 * Exit status 1 when anything would change, 0 when nothing would.
 */
export async function diffCommand(
  cmd: DiffCommand,
  out: (s: string) => void,
  kubeClient?: Kube,
): Promise<number> {
  const kube = kubeClient ?? new Kube(loadKubeConfig(cmd.kube));
  // A chart sees the cluster's capabilities, as in a sync; its hooks are not part of the diff.
  const discovered = await kube.discovery().catch(() => undefined);
  const loaded = (
    await loadDir(
      cmd,
      discovered ? { kubeVersion: discovered.version, apiVersions: discovered.apiVersions } : undefined,
    )
  ).filter((l) => !l.hook);
  const owner = cmd.group ? { groupName: cmd.group.name, groupNamespace: cmd.group.namespace } : undefined;
  const objects = decorate(loaded, {
    ...(owner ? { owner } : {}),
    targetNamespace: cmd.namespace,
    namespaced: await resolveScopes(
      kube,
      loaded.map((l) => l.object),
    ),
  });
  const entries: Entry[] = await mapLimit(objects, 8, async ({ object }) => {
    const ref = refOf(object);
    const [live, desired] = await Promise.all([
      kube.get<Record<string, unknown>>(ref),
      kube
        .apply(object, { fieldManager: FIELD_MANAGERS.sync, force: true, dryRun: true })
        .catch((err: unknown) => {
          throw new Error(`${describeRef(ref)}: ${KubeApiError.from(err).message}`);
        }),
    ]);
    return { ref, diff: diffObject(live, desired as Record<string, unknown>) };
  });
  if (cmd.group) {
    const group = await kube.get<AppGroup>({
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: KINDS.AppGroup.kind,
      namespace: cmd.group.namespace,
      name: cmd.group.name,
    });
    const rendered = new Set(objects.map((o) => inventoryId(refOf(o.object))));
    for (const { entry, ref } of parseInventory(group?.status?.inventory).entries) {
      if (rendered.has(entry.id)) continue;
      const live = await kube.get<Record<string, unknown>>(ref);
      if (live) entries.push({ ref, diff: diffObject(live, undefined) });
    }
  }
  if (cmd.output === 'json-patch') {
    out(
      `${JSON.stringify(
        entries.map((e) => ({
          object: describeRef(e.ref),
          action: e.diff.action,
          patch: e.diff.patch,
          owners: e.diff.owners,
        })),
        null,
        2,
      )}\n`,
    );
  } else out(formatText(entries));
  return entries.some((e) => e.diff.action !== 'unchanged') ? 1 : 0;
}

/** `shoal diff` from its arguments. */
export async function diffMain(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    process.stdout.write(dirUsage('diff'));
    return 0;
  }
  return diffCommand(parseDirCommand(args, process.env), (text) => process.stdout.write(text));
}
