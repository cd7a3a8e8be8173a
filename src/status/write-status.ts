import { isDeepStrictEqual } from 'node:util';
import type { Kube } from '../kube/client.ts';
import { KubeApiError } from '../kube/kube-api-error.ts';
import { type Clock, sleep } from '../runtime/clock.ts';

/** Status writes answered 409 are sent again this many times in all, with a growing pause. */
const CONFLICT_RETRIES = 5;
const CONFLICT_BACKOFF_MS = 50;

export interface StatusRef {
  group: string;
  version: string;
  plural: string;
  namespace: string;
  name: string;
}

/** The status subresource of one of Shoal's own objects. */
export function statusRefOf(
  plural: string,
  obj: { apiVersion: string; metadata: { name?: string; namespace?: string } },
): StatusRef {
  const [group = '', version = ''] = obj.apiVersion.split('/');
  return { group, version, plural, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name ?? '' };
}

/** Whether two values are equal as JSON (undefined members and an absent value count as absent). */
export function sameJson(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(JSON.parse(JSON.stringify(a ?? {})), JSON.parse(JSON.stringify(b ?? {})));
}

/**
 * Writes `next` to the status subresource (JSON merge patch) unless it equals `previous`: a periodic
 * reconcile that changed nothing costs no write. Returns whether it wrote, and the object's
 * resourceVersion after the write.
 */
export async function writeStatusIfChanged(
  kube: Kube,
  ref: StatusRef,
  previous: unknown,
  next: object,
  clock: Clock,
): Promise<{ wrote: false } | { wrote: true; resourceVersion: string | undefined }> {
  if (sameJson(previous, next)) return { wrote: false };
  for (let attempt = 1; ; attempt++) {
    try {
      return { wrote: true, resourceVersion: await kube.patchStatus(ref, next) };
    } catch (err) {
      // A conflict (someone else wrote the object meanwhile) is retried in place a few times: the
      // merge patch carries no resourceVersion, so sending it again is the re-get-and-retry.
      if (!(err instanceof KubeApiError && err.code === 409) || attempt >= CONFLICT_RETRIES) throw err;
      await sleep(clock, CONFLICT_BACKOFF_MS * attempt);
    }
  }
}
