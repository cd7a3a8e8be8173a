import { REASON } from '../api/conditions.ts';
import type { Kube } from '../kube/client.ts';
import type { Clock } from '../runtime/clock.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import { poll } from '../runtime/poll.ts';

interface Crd {
  apiVersion: string;
  kind: string;
  status?: { conditions?: { type: string; status: string }[] };
}

/** Polls until every named CRD reports Established=True, or throws ApplyFailed after `timeoutMs`. */
export async function waitForCrds(
  kube: Kube,
  names: readonly string[],
  opts: { clock: Clock; timeoutMs: number; pollMs?: number },
): Promise<void> {
  let pending = [...names];
  await poll(
    { clock: opts.clock, intervalMs: opts.pollMs ?? 200, timeoutMs: opts.timeoutMs },
    async () => {
      const states = await Promise.all(
        pending.map(async (name) => {
          const crd = await kube.get<Crd>({
            apiVersion: 'apiextensions.k8s.io/v1',
            kind: 'CustomResourceDefinition',
            name,
          });
          return (
            crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false
          );
        }),
      );
      pending = pending.filter((_, i) => !states[i]);
      return pending.length === 0 ? true : undefined;
    },
    () =>
      new ReconcileError(
        REASON.ApplyFailed,
        `CRDs not Established after ${opts.timeoutMs / 1000}s: ${pending.join(', ')}`,
      ),
  );
}
