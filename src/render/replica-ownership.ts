import type { AppSpec } from '../api/app-group.ts';
import type { KubeObject, RenderedObject } from './parse-manifests.ts';

/** Workload kinds whose `spec.replicas` an autoscaler may own. */
const SCALABLE = new Set(['Deployment', 'StatefulSet']);

interface ScaleTarget {
  kind?: string;
  name?: string;
}

/** Names of workloads another autoscaler in the set targets: an HPA or a KEDA ScaledObject. */
function externallyScaled(objects: readonly KubeObject[]): Map<string, { min: number; max: number }> {
  const out = new Map<string, { min: number; max: number }>();
  for (const o of objects) {
    const spec = o.spec as
      | {
          scaleTargetRef?: ScaleTarget;
          minReplicas?: number;
          maxReplicas?: number;
          minReplicaCount?: number;
          maxReplicaCount?: number;
        }
      | undefined;
    const target = spec?.scaleTargetRef;
    if (!target?.name) continue;
    if (o.kind === 'HorizontalPodAutoscaler') {
      out.set(`${target.kind ?? 'Deployment'}/${target.name}`, {
        min: spec?.minReplicas ?? 1,
        max: spec?.maxReplicas ?? Number.MAX_SAFE_INTEGER,
      });
    } else if (o.kind === 'ScaledObject' && o.apiVersion.startsWith('keda.sh/')) {
      out.set(`${target.kind ?? 'Deployment'}/${target.name}`, {
        min: spec?.minReplicaCount ?? 0,
        max: spec?.maxReplicaCount ?? 100,
      });
    }
  }
  return out;
}

/** Whether Shoal owns an app's replica count: it has a fixed count or an autoscaling policy. Pure. */
export const ownsReplicas = (app: AppSpec): boolean =>
  app.replicas !== undefined || app.autoscaling !== undefined;

const clamp = (n: number, min: number, max: number) => Math.min(max, Math.max(min, n));

/**
 * Marks the workloads whose replica count the sync must not send (DESIGN.md §1): those listed in
 * `spec.apps` with `autoscaling` or `replicas`, and those an HPA or ScaledObject in the set targets.
 * For each, `spec.replicas` is removed from what the sync applies, and `replicas.initial` says what
 * a new object starts at: the fixed count, or the manifest's count clamped to [min, max] (the HPA's
 * minimum when the manifest has none). Pure: returns new objects.
 */
export function assignReplicaOwnership(
  objects: readonly RenderedObject[],
  apps: readonly AppSpec[],
): RenderedObject[] {
  const external = externallyScaled(objects.map((o) => o.object));
  return objects.map((item) => {
    const o = item.object;
    if (!SCALABLE.has(o.kind)) return item;
    const app = apps.find((a) => a.name === o.metadata.name && ownsReplicas(a));
    const ext = external.get(`${o.kind}/${o.metadata.name}`);
    if (!app && !ext) return item;
    const spec = (o.spec ?? {}) as Record<string, unknown>;
    const manifest = typeof spec.replicas === 'number' ? spec.replicas : undefined;
    let initial: number;
    if (app?.replicas !== undefined) initial = app.replicas;
    else if (app?.autoscaling) {
      const min = app.autoscaling.minReplicas ?? 1;
      initial = clamp(manifest ?? min, min, app.autoscaling.maxReplicas);
    } else {
      const range = ext as { min: number; max: number };
      initial = clamp(manifest ?? range.min, range.min, range.max);
    }
    const { replicas: _dropped, ...rest } = spec;
    return { ...item, object: { ...o, spec: rest }, replicas: { initial } };
  });
}
