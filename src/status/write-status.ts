import { isDeepStrictEqual } from 'node:util';
import type { Kube } from '../kube/client.ts';

export interface StatusRef {
  group: string;
  version: string;
  plural: string;
  namespace: string;
  name: string;
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
