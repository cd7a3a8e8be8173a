import { inject } from 'vitest';
import { clusterHelpers } from './test-cluster.ts';

/** The run's control plane (from the global setup): an admin client, kubectl, and fresh namespaces. */
export function useCluster() {
  return clusterHelpers(inject('controlPlane'));
}
