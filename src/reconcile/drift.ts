import { hash } from 'node:crypto';
import { contentDigest } from '../api/cache-shapes.ts';
import { FIELD_MANAGERS } from '../api/group.ts';
import type { KubernetesObject } from '../api/object.ts';

/** An object a drift watch holds, with whatever else it carries (spec, data...). */
export type WatchedObject = KubernetesObject & { [field: string]: unknown };

/**
 * A short digest of a canonical text: a watch keeps one per object and manager, and 10,000 objects'
 * JSON would be megabytes where their digests are a fraction of one. Pure.
 */
const digest = (text: string) => hash('sha256', text, 'base64');

/**
 * What of an object counts for drift, as a digest: with a generation (most kinds with a spec), the
 * generation and the labels and annotations, so status updates never count; without one (ConfigMaps,
 * Secrets), its content (contentDigest: the whole object but status and server-kept metadata). Pure.
 */
export function driftFingerprint(o: WatchedObject): string {
  const m = o.metadata ?? {};
  if (m.generation !== undefined)
    return digest(JSON.stringify([m.generation, m.labels ?? {}, m.annotations ?? {}]));
  return contentDigest(o);
}

/** Each field manager's entry (status writes aside) as a comparable signature (a digest). Pure. */
export function managerSignatures(o: WatchedObject): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of o.metadata?.managedFields ?? []) {
    if (e.subresource === 'status' || !e.manager) continue;
    out.set(
      `${e.manager}|${e.operation ?? ''}|${e.subresource ?? ''}`,
      digest(JSON.stringify([e.time, e.fieldsV1])),
    );
  }
  return out;
}

const OURS: readonly string[] = [FIELD_MANAGERS.sync, FIELD_MANAGERS.autoscaler];

/**
 * The field manager that made an object's latest change, or undefined when Shoal's own managers
 * did: their changes are not drift. With the signatures of the version seen before, it is the
 * manager whose entry is new or changed (timestamps have one-second resolution, so a hand edit in
 * the same second as Shoal's apply ties with it); without them, the entry with the latest time, a
 * foreign one winning a tie. Pure.
 */
export function driftAuthor(o: WatchedObject, previous?: Map<string, string>): string | undefined {
  if (previous) {
    const changed = [...managerSignatures(o)].filter(([k, sig]) => previous.get(k) !== sig).map(([k]) => k);
    if (changed.length > 0) return changed.map((k) => k.split('|')[0] ?? '').find((m) => !OURS.includes(m));
  }
  const entries = (o.metadata?.managedFields ?? []).filter((e) => e.subresource !== 'status' && e.time);
  const latest = Math.max(...entries.map((e) => Date.parse(e.time ?? '')));
  const last = entries.filter((e) => Date.parse(e.time ?? '') === latest);
  return last.map((e) => e.manager ?? '').find((m) => m && !OURS.includes(m));
}

/** Managers whose scale-subresource writes are an autoscaler at work: the HPA controller (KEDA too). */
const AUTOSCALERS: readonly string[] = ['kube-controller-manager'];

/**
 * Whether `author`'s change is an autoscaler writing the replica count through the scale
 * subresource: expected for the workloads an HPA or ScaledObject targets (the sync never sends their
 * replicas), so neither drift nor a re-sync. A `kubectl scale` is not one of these. Pure.
 */
export function autoscalerScaled(o: WatchedObject, author: string): boolean {
  return (
    AUTOSCALERS.includes(author) &&
    (o.metadata?.managedFields ?? []).some((e) => e.manager === author && e.subresource === 'scale')
  );
}
