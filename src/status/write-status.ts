import { isDeepStrictEqual } from 'node:util';
import type { Kube } from '../kube/client.ts';

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

/**
 * Writes `next` to the status subresource (JSON merge patch) unless it equals `previous`: a periodic
 * reconcile that changed nothing costs no write. Returns whether it wrote.
 */
export async function writeStatusIfChanged(
  kube: Kube,
  ref: StatusRef,
  previous: unknown,
  next: object,
): Promise<boolean> {
  if (isDeepStrictEqual(JSON.parse(JSON.stringify(previous ?? {})), JSON.parse(JSON.stringify(next))))
    return false;
  await kube.patchStatus(ref, next);
  return true;
}
