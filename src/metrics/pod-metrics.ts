import type { PodMetrics } from '../autoscale/readings.ts';
import type { Kube } from '../kube/client.ts';

export type { PodMetrics } from '../autoscale/readings.ts';

/** The metrics.k8s.io PodMetrics of the pods a selector picks (what the HPA's metrics client lists). */
export async function listPodMetrics(
  kube: Kube,
  namespace: string,
  labelSelector: string,
): Promise<PodMetrics[]> {
  return (await kube.list<PodMetrics>('metrics.k8s.io/v1beta1', 'PodMetrics', { namespace, labelSelector }))
    .items;
}
