import { setTimeout as sleep } from 'node:timers/promises';
import { REASON } from '../api/conditions.ts';
import type { Kube } from '../kube/client.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';

interface Crd {
  status?: { conditions?: { type: string; status: string }[] };
}

/** Polls until every named CRD reports Established=True, or throws ApplyFailed after `timeoutMs`. */
export async function waitForCrds(
  kube: Kube,
  names: readonly string[],
  timeoutMs: number,
  pollMs = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pending = [...names];
  while (pending.length > 0) {
    const states = await Promise.all(
      pending.map(async (name) => {
        const crd = await kube.get<Crd & { apiVersion: string; kind: string }>({
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          name,
        });
        return crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
      }),
    );
    pending = pending.filter((_, i) => !states[i]);
    if (pending.length === 0) return;
    if (Date.now() > deadline) {
      throw new ReconcileError(
        REASON.ApplyFailed,
        `CRDs not Established after ${timeoutMs / 1000}s: ${pending.join(', ')}`,
      );
    }
    await sleep(pollMs);
  }
}
