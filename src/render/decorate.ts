import { REASON } from '../api/conditions.ts';
import { LABELS } from '../api/group.ts';
import { describeRef, inventoryId, refOf } from '../api/object-key.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import type { KubeObject, RenderedObject } from './parse-manifests.ts';

export interface DecorateOptions {
  /** The owning group, whose owner labels every object gets; none for `shoal render` without --group. */
  owner?: { groupName: string; groupNamespace: string };
  /** Namespace for namespaced objects that name none. */
  targetNamespace: string;
  /** Whether a kind is namespaced (from discovery; looked up by the caller). */
  namespaced: (apiVersion: string, kind: string) => boolean;
}

/**
 * Gives namespaced objects without a namespace the target namespace, drops the namespace of
 * cluster-scoped objects, and sets the owner labels. Refuses duplicates (same group, kind, namespace
 * and name), naming both sources. Pure: returns new objects.
 */
export function decorate(objects: readonly RenderedObject[], opts: DecorateOptions): RenderedObject[] {
  const seen = new Map<string, string>();
  return objects.map(({ object, source, hook }) => {
    const namespaced = opts.namespaced(object.apiVersion, object.kind);
    const { namespace: _ns, ...metadata } = object.metadata;
    const next: KubeObject = {
      ...object,
      metadata: {
        ...metadata,
        ...(namespaced ? { namespace: object.metadata.namespace ?? opts.targetNamespace } : {}),
        ...(opts.owner || object.metadata.labels
          ? {
              labels: {
                ...object.metadata.labels,
                ...(opts.owner
                  ? {
                      [hook ? LABELS.hookGroupName : LABELS.groupName]: opts.owner.groupName,
                      [hook ? LABELS.hookGroupNamespace : LABELS.groupNamespace]: opts.owner.groupNamespace,
                    }
                  : {}),
              },
            }
          : {}),
      },
    };
    const ref = refOf(next);
    const id = inventoryId(ref);
    const first = seen.get(id);
    if (first !== undefined) {
      throw new ReconcileError(
        REASON.BuildFailed,
        `duplicate object ${describeRef(ref)} (in ${first} and ${source})`,
      );
    }
    seen.set(id, source);
    return { object: next, source, ...(hook ? { hook } : {}) };
  });
}
