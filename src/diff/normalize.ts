/** Server-owned metadata that never counts as a difference. */
const SERVER_METADATA = [
  'managedFields',
  'resourceVersion',
  'uid',
  'generation',
  'creationTimestamp',
  'selfLink',
] as const;
const SERVER_ANNOTATIONS = [
  'kubectl.kubernetes.io/last-applied-configuration',
  'deployment.kubernetes.io/revision',
];

/**
 * An object as it is compared: without status, server-owned metadata and annotations that servers
 * and clients write for themselves. Defaults are not stripped here: both sides of a diff come from
 * the API server (the live object and the dry-run result), so both carry them. Pure.
 */
export function normalize(obj: Record<string, unknown>): Record<string, unknown> {
  const { status: _status, ...rest } = obj;
  const metadata = { ...((rest.metadata as Record<string, unknown> | undefined) ?? {}) };
  for (const k of SERVER_METADATA) delete metadata[k];
  const annotations = { ...((metadata.annotations as Record<string, string> | undefined) ?? {}) };
  for (const k of SERVER_ANNOTATIONS) delete annotations[k];
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  else delete metadata.annotations;
  return { ...rest, metadata };
}
