import { describe, expect, it } from 'vitest';
import { objectHealth } from '../../../src/health/rules.ts';
import { groupHealth } from '../../../src/health/summarize.ts';

const dep = (status: object, spec: object = { replicas: 3 }, generation = 2) => ({
  kind: 'Deployment',
  metadata: { generation },
  spec,
  status: { observedGeneration: 2, ...status },
});
const depOK = dep({ replicas: 3, updatedReplicas: 3, availableReplicas: 3, readyReplicas: 3 });
const depRolling = dep({ replicas: 4, updatedReplicas: 3, availableReplicas: 3 });
const depUpdating = dep({ replicas: 3, updatedReplicas: 1, availableReplicas: 3 });
const depNotProgressing = dep({
  replicas: 3,
  updatedReplicas: 1,
  conditions: [
    { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'took too long' },
  ],
});
const depStaleStatus = dep({ replicas: 3, updatedReplicas: 3, availableReplicas: 3 }, { replicas: 3 }, 3);

describe('objectHealth', () => {
  it.each([
    ['depOK', depOK, 'Current', '3 replicas available'],
    ['depRolling', depRolling, 'InProgress', '1 old replicas pending termination'],
    ['depUpdating', depUpdating, 'InProgress', '1 of 3 replicas updated'],
    ['depNotProgressing', depNotProgressing, 'Failed', 'progress deadline exceeded: took too long'],
    ['depStaleStatus', depStaleStatus, 'InProgress', 'status is for generation 2, spec is at 3'],
    [
      'depNoStatus',
      { kind: 'Deployment', metadata: { generation: 1 }, spec: {} },
      'InProgress',
      'no status yet',
    ],
    [
      'stsReady',
      {
        kind: 'StatefulSet',
        spec: { replicas: 2 },
        status: { readyReplicas: 2, currentRevision: 'a', updateRevision: 'a' },
      },
      'Current',
      '2 replicas ready',
    ],
    [
      'stsRolling',
      {
        kind: 'StatefulSet',
        spec: { replicas: 2 },
        status: { readyReplicas: 2, updatedReplicas: 1, currentRevision: 'a', updateRevision: 'b' },
      },
      'InProgress',
      '1 of 2 replicas at the update revision',
    ],
    [
      'dsOK',
      {
        kind: 'DaemonSet',
        status: { desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 2 },
      },
      'Current',
      '2 pods available',
    ],
    [
      'rsShort',
      { kind: 'ReplicaSet', spec: { replicas: 2 }, status: { availableReplicas: 1 } },
      'InProgress',
      '1 of 2 replicas available',
    ],
    [
      'jobDone',
      { kind: 'Job', status: { conditions: [{ type: 'Complete', status: 'True' }] } },
      'Current',
      'job complete',
    ],
    [
      'jobFailed',
      {
        kind: 'Job',
        status: { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] },
      },
      'Failed',
      'job failed: BackoffLimitExceeded',
    ],
    [
      'pvcPending',
      { kind: 'PersistentVolumeClaim', status: { phase: 'Pending' } },
      'InProgress',
      'phase Pending',
    ],
    ['pvcBound', { kind: 'PersistentVolumeClaim', status: { phase: 'Bound' } }, 'Current', 'bound'],
    ['svcClusterIP', { kind: 'Service', spec: { type: 'ClusterIP' } }, 'Current', 'current'],
    [
      'svcLBPending',
      { kind: 'Service', spec: { type: 'LoadBalancer' }, status: { loadBalancer: {} } },
      'InProgress',
      'waiting for a load balancer address',
    ],
    [
      'crdEstablished',
      { kind: 'CustomResourceDefinition', status: { conditions: [{ type: 'Established', status: 'True' }] } },
      'Current',
      'established',
    ],
    [
      'customReady',
      { kind: 'Foo', status: { conditions: [{ type: 'Ready', status: 'True' }] } },
      'Current',
      'ready',
    ],
    [
      'customNotReady',
      { kind: 'Foo', status: { conditions: [{ type: 'Ready', status: 'False', message: 'waiting' }] } },
      'InProgress',
      'waiting',
    ],
    [
      'customStalled',
      { kind: 'Foo', status: { conditions: [{ type: 'Stalled', status: 'True', message: 'broken' }] } },
      'Failed',
      'broken',
    ],
    ['configMap', { kind: 'ConfigMap' }, 'Current', 'current'],
    [
      'deleting',
      { kind: 'ConfigMap', metadata: { deletionTimestamp: '2026-01-01T00:00:00Z' } },
      'InProgress',
      'being deleted',
    ],
  ])('%s is %s', (_, obj, status, message) => {
    expect(objectHealth(obj)).toEqual({ status, message });
  });
});

describe('groupHealth', () => {
  const ok = { name: 'a', health: { status: 'Current' as const, message: 'ok' } };
  const wip = { name: 'b', health: { status: 'InProgress' as const, message: 'rolling' } };
  const bad = { name: 'c', health: { status: 'Failed' as const, message: 'broken' } };
  it.each([
    ['all current', [ok], 0, 'Healthy'],
    ['one in progress', [ok, wip], 1_000, 'Progressing'],
    ['in progress past the timeout', [ok, wip], 60_000, 'Degraded'],
    ['one failed', [ok, wip, bad], 0, 'Degraded'],
    ['nothing applied', [], 0, 'Missing'],
  ])('%s: %s', (_, objects, forMs, status) => {
    expect(groupHealth(objects, forMs, 30_000).status).toBe(status);
  });

  it('names what is waiting, and the timeout', () => {
    expect(groupHealth([wip], 60_000, 30_000).message).toBe('not healthy after 30s: b: rolling');
  });
});
