import { stringify } from 'yaml';
import { type DirCommandConfig, dirUsage, parseDirCommand, wantsHelp } from '../config.ts';
import { decorate } from '../render/decorate.ts';
import { offlineScopes } from '../render/scopes.ts';
import { loadDir } from './load-dir.ts';

export type RenderCommand = Pick<
  DirCommandConfig,
  'dir' | 'kustomize' | 'helm' | 'chart' | 'namespace' | 'group'
>;

/**
 * `shoal render <dir>`: the desired objects as YAML, no cluster needed (scopes from a built-in table
 * and the CRDs in the set; a chart sees Helm's default capabilities). Errors name the file, as in a
 * sync. A chart's hooks are printed too, each marked with the phase it would run in.
 */
export async function renderCommand(cmd: RenderCommand, out: (s: string) => void): Promise<number> {
  const loaded = await loadDir(cmd);
  const owner = cmd.group ? { groupName: cmd.group.name, groupNamespace: cmd.group.namespace } : undefined;
  const objects = decorate(loaded, {
    ...(owner ? { owner } : {}),
    targetNamespace: cmd.namespace,
    namespaced: offlineScopes(loaded.map((l) => l.object)),
  });
  out(
    objects
      .map((o) => {
        const hook = o.hook;
        const phase = hook
          ? `# Hook: ${hook.phases.join(', ') || 'never run by Shoal'} (weight ${hook.weight})\n`
          : '';
        return `# Source: ${o.source}\n${phase}${stringify(o.object, { lineWidth: 0 })}`;
      })
      .join('---\n'),
  );
  return 0;
}

/** `shoal render` from its arguments. */
export async function renderMain(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    process.stdout.write(dirUsage('render'));
    return 0;
  }
  return renderCommand(parseDirCommand(args, process.env), (text) => process.stdout.write(text));
}
