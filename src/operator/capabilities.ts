import type { Kube } from '../kube/client.ts';
import type { Capabilities } from '../render/helm.ts';
import type { Clock } from '../runtime/clock.ts';
import type { Log } from '../runtime/logger.ts';

/** Discovery is asked again after this long (CRDs come and go). */
const TTL_MS = 5 * 60_000;

/**
 * What charts see as .Capabilities: the cluster's version and API versions from discovery, asked
 * once per five minutes and shared by every render; one in flight at a time. When discovery fails,
 * the last answer serves (or none: Helm's defaults), and the failure is logged.
 */
export function cachedCapabilities(
  kube: Kube,
  clock: Clock,
  log: Log,
): () => Promise<Capabilities | undefined> {
  let last: { at: number; value: Capabilities } | undefined;
  let pending: Promise<Capabilities | undefined> | undefined;
  return () => {
    const now = clock.now().getTime();
    if (last && now - last.at < TTL_MS) return Promise.resolve(last.value);
    pending ??= kube
      .discovery()
      .then(
        (d) => {
          last = { at: clock.now().getTime(), value: { kubeVersion: d.version, apiVersions: d.apiVersions } };
          return last.value;
        },
        (err: unknown) => {
          log({
            level: 'warn',
            msg: 'discovery failed; charts see the last known capabilities',
            error: String(err),
          });
          return last?.value;
        },
      )
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}
