import { parseAllDocuments } from 'yaml';
import { REASON } from '../api/conditions.ts';
import type { KubeObject } from '../api/object.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import type { HookInfo } from './hooks.ts';
import type { ManifestFile } from './manifest-file.ts';

/** A Kubernetes object as rendered from Git, with where it came from. */
export interface RenderedObject {
  object: KubeObject;
  /** `file` or `file#<document index>` for multi-document files. */
  source: string;
  /**
   * Set when another field manager owns `spec.replicas` (Shoal's autoscaler, an HPA): the sync
   * never sends it, and a new object starts at `initial`.
   */
  replicas?: { initial: number };
  /** A Helm hook: applied in its phase around the sync, and kept out of the inventory. */
  hook?: HookInfo;
}

export type { KubeObject } from '../api/object.ts';

export interface ParseBudget {
  /** Aliases per document (the `yaml` library's defence against billion-laughs). */
  maxAliasCount: number;
  maxDepth: number;
  maxNodes: number;
}

export const DEFAULT_PARSE_BUDGET: ParseBudget = { maxAliasCount: 100, maxDepth: 64, maxNodes: 1_000_000 };

function checkShape(value: unknown, budget: ParseBudget, where: string): void {
  let nodes = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (++nodes > budget.maxNodes)
      throw new ReconcileError(REASON.ParseFailed, `${where}: more than ${budget.maxNodes} nodes`);
    if (depth > budget.maxDepth)
      throw new ReconcileError(REASON.ParseFailed, `${where}: nested deeper than ${budget.maxDepth} levels`);
    if (v !== null && typeof v === 'object')
      for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
}

function asObject(value: unknown, where: string): KubeObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ReconcileError(
      REASON.BuildFailed,
      `${where}: not a Kubernetes object (a ${Array.isArray(value) ? 'list' : typeof value})`,
    );
  }
  const v = value as Record<string, unknown>;
  const meta = v.metadata as Record<string, unknown> | undefined;
  if (typeof v.apiVersion !== 'string' || v.apiVersion === '')
    throw new ReconcileError(REASON.BuildFailed, `${where}: missing apiVersion`);
  if (typeof v.kind !== 'string' || v.kind === '')
    throw new ReconcileError(REASON.BuildFailed, `${where}: missing kind`);
  if (meta === null || typeof meta !== 'object' || typeof meta.name !== 'string' || meta.name === '') {
    const hint =
      meta && typeof meta.generateName === 'string'
        ? ' (generateName is not supported: objects need a stable name)'
        : '';
    throw new ReconcileError(REASON.BuildFailed, `${where}: missing metadata.name${hint}`);
  }
  return v as KubeObject;
}

/**
 * Parses manifest files (YAML, multi-document, or JSON) into objects, in file order then document
 * order. Empty documents are skipped; `kind: List` is expanded into its items. Alias, depth and node
 * budgets bound the work. Errors name the file, the line and the document. Pure.
 */
export function parseManifests(
  files: readonly ManifestFile[],
  budget: ParseBudget = DEFAULT_PARSE_BUDGET,
): RenderedObject[] {
  const out: RenderedObject[] = [];
  for (const file of files) {
    const docs = parseAllDocuments(file.content, { prettyErrors: true, uniqueKeys: true });
    const list = Array.isArray(docs) ? docs : [docs];
    list.forEach((doc, index) => {
      const where = list.length > 1 ? `${file.path}#${index}` : file.path;
      const err = doc.errors[0];
      if (err) {
        const line = err.linePos?.[0]?.line;
        throw new ReconcileError(
          REASON.ParseFailed,
          `${file.path}${line ? `:${line}` : ''}: ${err.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`,
        );
      }
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: budget.maxAliasCount });
      } catch (e) {
        throw new ReconcileError(
          REASON.ParseFailed,
          `${where}: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
      if (value === null || value === undefined) return;
      checkShape(value, budget, where);
      const maybeList = value as { kind?: unknown; items?: unknown };
      if (
        typeof maybeList.kind === 'string' &&
        maybeList.kind.endsWith('List') &&
        Array.isArray(maybeList.items)
      ) {
        maybeList.items.forEach((item, i) => {
          out.push({ object: asObject(item, `${where} item ${i}`), source: where });
        });
        return;
      }
      out.push({ object: asObject(value, where), source: where });
    });
  }
  return out;
}
