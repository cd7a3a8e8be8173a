import { REASON } from '../api/conditions.ts';
import { groupOf } from '../api/object-key.ts';
import type { Kube } from '../kube/client.ts';
import { KubeApiError } from '../kube/kube-api-error.ts';
import type { KubeObject } from '../render/parse-manifests.ts';
import { bundledScopes } from '../render/scopes.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';

/**
 * Finds out whether each kind among `objects` is namespaced: from a CRD in the same set when it
 * defines the kind (it may not be installed yet), otherwise from discovery. An unknown kind fails
 * with DryRunFailed naming it; no object is applied.
 */
export async function resolveScopes(
  kube: Kube,
  objects: readonly KubeObject[],
): Promise<(apiVersion: string, kind: string) => boolean> {
  const fromBundle = bundledScopes(objects);
  const known = new Map<string, boolean>();
  const kinds = new Map(objects.map((o) => [`${o.apiVersion}/${o.kind}`, o]));
  await Promise.all(
    [...kinds.entries()].map(async ([key, o]) => {
      const bundled = fromBundle.get(`${groupOf(o.apiVersion)}/${o.kind}`);
      if (bundled !== undefined) {
        known.set(key, bundled);
        return;
      }
      try {
        known.set(key, await kube.isNamespaced(o.apiVersion, o.kind));
      } catch (err) {
        const e = KubeApiError.from(err);
        if (e.code === 404) {
          throw new ReconcileError(
            REASON.DryRunFailed,
            `no matches for kind "${o.kind}" in version "${o.apiVersion}"`,
          );
        }
        throw new ReconcileError(
          REASON.DryRunFailed,
          `discovery failed for ${o.apiVersion} ${o.kind}: ${e.message}`,
          { cause: e },
        );
      }
    }),
  );
  return (apiVersion, kind) => known.get(`${apiVersion}/${kind}`) ?? true;
}
