import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import { parseDirCommand } from '../config.ts';
import { decorate } from '../render/decorate.ts';
import { DEFAULT_KUSTOMIZE_OPTIONS } from '../render/kustomize.ts';
import { loadManifests } from '../render/load.ts';
import { ManifestParser } from '../render/parse-in-worker.ts';
import { offlineScopes } from '../render/scopes.ts';

export interface RenderCommand {
  dir: string;
  kustomize: { binary: string | undefined; env: Record<string, string> };
  namespace: string;
  owner?: { groupName: string; groupNamespace: string };
}

/**
 * `shoal render <dir>`: the desired objects as YAML, no cluster needed (scopes from a built-in table
 * and the CRDs in the set). Errors name the file, as in a sync.
 */
export async function renderCommand(cmd: RenderCommand, out: (s: string) => void): Promise<number> {
  const parser = new ManifestParser();
  const loaded = await loadManifests(parser, resolve(cmd.dir), '.', [], {
    options: { ...DEFAULT_KUSTOMIZE_OPTIONS, ...cmd.kustomize },
    home: tmpdir(),
  }).finally(() => parser.close());
  const objects = decorate(loaded, {
    ...(cmd.owner ? { owner: cmd.owner } : {}),
    targetNamespace: cmd.namespace,
    namespaced: offlineScopes(loaded.map((l) => l.object)),
  });
  out(objects.map((o) => `# Source: ${o.source}\n${stringify(o.object, { lineWidth: 0 })}`).join('---\n'));
  return 0;
}

/** `shoal render` from its arguments. */
export async function renderMain(args: string[]): Promise<number> {
  const cfg = parseDirCommand(args, process.env);
  return renderCommand(
    {
      dir: cfg.dir,
      kustomize: cfg.kustomize,
      namespace: cfg.namespace,
      ...(cfg.group ? { owner: { groupName: cfg.group.name, groupNamespace: cfg.group.namespace } } : {}),
    },
    (text) => process.stdout.write(text),
  );
}
