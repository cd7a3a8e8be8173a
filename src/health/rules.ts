/** kstatus-style health of one object, from its spec and status alone. Pure: fetches nothing. */
export type ObjectHealth = 'Current' | 'InProgress' | 'Failed' | 'Unknown';

export interface HealthResult {
  status: ObjectHealth;
  message: string;
}

interface Cond {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

interface Obj {
  kind?: string;
  metadata?: { generation?: number; deletionTimestamp?: string };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown> & { conditions?: Cond[]; observedGeneration?: number };
}

const num = (v: unknown, fallback = 0) => (typeof v === 'number' ? v : fallback);
const cond = (o: Obj, type: string) => o.status?.conditions?.find((c) => c.type === type);
const current = (message = 'current'): HealthResult => ({ status: 'Current', message });
const progressing = (message: string): HealthResult => ({ status: 'InProgress', message });
const failed = (message: string): HealthResult => ({ status: 'Failed', message });

function deployment(o: Obj): HealthResult {
  const want = num(o.spec?.replicas, 1);
  const s = o.status ?? {};
  const p = cond(o, 'Progressing');
  if (p?.status === 'False' && p.reason === 'ProgressDeadlineExceeded')
    return failed(`progress deadline exceeded: ${p.message ?? ''}`.trim());
  if (num(s.updatedReplicas) < want)
    return progressing(`${num(s.updatedReplicas)} of ${want} replicas updated`);
  if (num(s.replicas) > num(s.updatedReplicas))
    return progressing(`${num(s.replicas) - num(s.updatedReplicas)} old replicas pending termination`);
  if (num(s.availableReplicas) < want)
    return progressing(`${num(s.availableReplicas)} of ${want} replicas available`);
  return current(`${want} replicas available`);
}

function statefulSet(o: Obj): HealthResult {
  const want = num(o.spec?.replicas, 1);
  const s = o.status ?? {};
  if (num(s.readyReplicas) < want) return progressing(`${num(s.readyReplicas)} of ${want} replicas ready`);
  const strategy = (o.spec?.updateStrategy as { type?: string } | undefined)?.type;
  if (strategy !== 'OnDelete' && s.updateRevision !== undefined && s.currentRevision !== s.updateRevision) {
    return progressing(`${num(s.updatedReplicas)} of ${want} replicas at the update revision`);
  }
  return current(`${want} replicas ready`);
}

function daemonSet(o: Obj): HealthResult {
  const s = o.status ?? {};
  const want = num(s.desiredNumberScheduled);
  if (num(s.updatedNumberScheduled) < want)
    return progressing(`${num(s.updatedNumberScheduled)} of ${want} pods updated`);
  if (num(s.numberAvailable) < want)
    return progressing(`${num(s.numberAvailable)} of ${want} pods available`);
  return current(`${want} pods available`);
}

function replicaSet(o: Obj): HealthResult {
  const want = num(o.spec?.replicas, 1);
  const s = o.status ?? {};
  if (num(s.availableReplicas) < want)
    return progressing(`${num(s.availableReplicas)} of ${want} replicas available`);
  return current(`${want} replicas available`);
}

function job(o: Obj): HealthResult {
  const f = cond(o, 'Failed');
  if (f?.status === 'True') return failed(`job failed: ${f.reason ?? ''} ${f.message ?? ''}`.trim());
  if (cond(o, 'Complete')?.status === 'True') return current('job complete');
  return progressing(`job running: ${num(o.status?.succeeded)} succeeded`);
}

function pvc(o: Obj): HealthResult {
  const phase = o.status?.phase;
  if (phase === 'Bound') return current('bound');
  if (phase === 'Lost') return failed('the volume is lost');
  return progressing(`phase ${String(phase ?? 'Pending')}`);
}

function service(o: Obj): HealthResult {
  if (o.spec?.type !== 'LoadBalancer') return current();
  const ingress = (o.status?.loadBalancer as { ingress?: unknown[] } | undefined)?.ingress ?? [];
  return ingress.length > 0
    ? current('load balancer ready')
    : progressing('waiting for a load balancer address');
}

function crd(o: Obj): HealthResult {
  if (cond(o, 'NamesAccepted')?.status === 'False')
    return failed(`names not accepted: ${cond(o, 'NamesAccepted')?.message ?? ''}`);
  return cond(o, 'Established')?.status === 'True'
    ? current('established')
    : progressing('not established yet');
}

/** Any other object: kstatus's generic rules over Stalled, Reconciling and Ready conditions. */
function generic(o: Obj): HealthResult {
  const stalled = cond(o, 'Stalled');
  if (stalled?.status === 'True') return failed(stalled.message ?? 'stalled');
  const reconciling = cond(o, 'Reconciling');
  if (reconciling?.status === 'True') return progressing(reconciling.message ?? 'reconciling');
  const ready = cond(o, 'Ready');
  if (ready?.status === 'False') return progressing(ready.message ?? 'not ready');
  if (ready?.status === 'Unknown') return progressing(ready.message ?? 'readiness unknown');
  return current(ready ? 'ready' : 'current');
}

const RULES: Record<string, (o: Obj) => HealthResult> = {
  Deployment: deployment,
  StatefulSet: statefulSet,
  DaemonSet: daemonSet,
  ReplicaSet: replicaSet,
  Job: job,
  PersistentVolumeClaim: pvc,
  Service: service,
  CustomResourceDefinition: crd,
};

/**
 * The health of one object, from what the API server returned (kstatus `Compute`: "It does not fetch
 * the state of the resource from a cluster"). A status older than the spec (observedGeneration <
 * generation) is InProgress whatever else it says.
 */
export function objectHealth(object: object): HealthResult {
  const obj = object as Obj;
  if (obj.metadata?.deletionTimestamp) return progressing('being deleted');
  const generation = obj.metadata?.generation;
  const observed = obj.status?.observedGeneration;
  if (generation !== undefined && observed !== undefined && observed < generation) {
    return progressing(`status is for generation ${observed}, spec is at ${generation}`);
  }
  const kinds = obj.kind && Object.hasOwn(RULES, obj.kind);
  if (kinds && obj.status === undefined && obj.kind !== 'Service') return progressing('no status yet');
  return (kinds ? (RULES[obj.kind as string] as (o: Obj) => HealthResult) : generic)(obj);
}
