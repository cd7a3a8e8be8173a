import type { Kube } from '../kube/client.ts';

/** metrics.k8s.io/v1beta1 PodMetrics, as JSON. */
export interface PodMetrics {
  metadata: { name: string; namespace?: string };
  timestamp: string;
  window: string;
  containers: { name: string; usage: Record<string, string> }[];
}

/** The metrics.k8s.io PodMetrics of the pods a selector picks (what the HPA's metrics client lists). */
export async function listPodMetrics(
  kube: Kube,
  namespace: string,
  labelSelector: string,
): Promise<PodMetrics[]> {
  return (await kube.list<PodMetrics>('metrics.k8s.io/v1beta1', 'PodMetrics', { namespace, labelSelector }))
    .items;
}
