import fjp from 'fast-json-patch';
import type { AppGroupPatch, PatchTarget } from '../api/app-group.ts';
import { REASON } from '../api/conditions.ts';
import { groupOf, versionOf } from '../api/object-key.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import type { KubeObject, RenderedObject } from './parse-manifests.ts';

function matches(obj: KubeObject, target: PatchTarget): boolean {
  return (
    (target.group === undefined || groupOf(obj.apiVersion) === target.group) &&
    (target.version === undefined || versionOf(obj.apiVersion) === target.version) &&
    (target.kind === undefined || obj.kind === target.kind) &&
    (target.name === undefined || obj.metadata.name === target.name) &&
    (target.namespace === undefined || obj.metadata.namespace === target.namespace)
  );
}

function describeTarget(t: PatchTarget): string {
  return (
    Object.entries(t)
      .map(([k, v]) => `${k}=${v}`)
      .join(',') || 'any object'
  );
}

/**
 * Applies `spec.patches` (RFC 6902, with fast-json-patch) to the rendered objects, in order. Every
 * patch must match at least one object; an operation that fails (missing path, failing `test`) and
 * any write to `__proto__` or `constructor/prototype` fail with BuildFailed naming the patch. The
 * objects must still have apiVersion, kind and name afterwards. Pure: returns new objects.
 */
export function applyPatches(
  objects: readonly RenderedObject[],
  patches: readonly AppGroupPatch[],
): RenderedObject[] {
  let out = objects.map((o) => ({ ...o, object: structuredClone(o.object) }));
  patches.forEach((p, index) => {
    const where = `patches[${index}] (target ${describeTarget(p.target)})`;
    const targets = out.filter((o) => matches(o.object, p.target));
    if (targets.length === 0)
      throw new ReconcileError(REASON.BuildFailed, `${where} matches no rendered object`);
    out = out.map((o) => {
      if (!targets.includes(o)) return o;
      let patched: unknown;
      try {
        // validate=true checks each operation; banPrototypeModifications (the default) refuses
        // __proto__ and constructor/prototype paths instead of writing to Object.prototype.
        patched = fjp.applyPatch(
          o.object,
          fjp.deepClone(p.patch) as fjp.Operation[],
          true,
          false,
          true,
        ).newDocument;
      } catch (err) {
        const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
        throw new ReconcileError(
          REASON.BuildFailed,
          `${where} failed on ${o.object.kind}/${o.object.metadata.name}: ${message}`,
        );
      }
      const obj = patched as Partial<KubeObject> | null;
      if (!obj || typeof obj !== 'object' || !obj.apiVersion || !obj.kind || !obj.metadata?.name) {
        throw new ReconcileError(REASON.BuildFailed, `${where} removed apiVersion, kind or metadata.name`);
      }
      return { ...o, object: obj as KubeObject };
    });
  });
  return out;
}
