import type { KubeConfig } from '@kubernetes/client-node';
import { LEASE_TYPE, type Lease } from '../runtime/leader-election.ts';
import { KubeApiError } from './kube-api-error.ts';
import { type RawRequest, rawJson } from './raw-request.ts';

/**
 * The Lease calls of leader election and sharding, each bounded by a timeout far shorter than other
 * requests' (REQUEST_TIMEOUT_MS). With that one, a request on a connection that went dead without a
 * reset (a black-holed partition, a proxy or a load balancer that lost it) would hold the renewal
 * behind it past the renew deadline, and the member would be fenced although a new connection would
 * have been answered at once. An aborted request takes its connection down with it, so the next try
 * opens a new one.
 *
 * A client of its own (not the writers' Kube): fencing the writers must not keep a member from
 * releasing its Leases. No discovery: a Lease's path is fixed.
 */
export class LeaseApi {
  readonly #config: KubeConfig;
  readonly #timeoutMs: number;

  constructor(config: KubeConfig, opts: { timeoutMs: number }) {
    this.#config = config;
    this.#timeoutMs = opts.timeoutMs;
  }

  async get(ref: { name: string; namespace: string }): Promise<Lease | undefined> {
    try {
      return await this.#request<Lease>({ method: 'GET', path: leasePath(ref.namespace, ref.name) });
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  create(lease: Lease): Promise<Lease> {
    return this.#request<Lease>({
      method: 'POST',
      path: leasePath(lease.metadata.namespace),
      body: JSON.stringify(lease),
      contentType: 'application/json',
    });
  }

  /** PUT, guarded by the Lease's resourceVersion (409 when someone wrote it since). */
  replace(lease: Lease): Promise<Lease> {
    return this.#request<Lease>({
      method: 'PUT',
      path: leasePath(lease.metadata.namespace, lease.metadata.name),
      body: JSON.stringify(lease),
      contentType: 'application/json',
    });
  }

  async list(opts: { namespace: string; labelSelector: string }): Promise<Lease[]> {
    const list = await this.#request<{ items?: Lease[] | null }>({
      method: 'GET',
      path: leasePath(opts.namespace),
      query: { labelSelector: opts.labelSelector },
    });
    // A list's items carry no apiVersion and kind; writes need them.
    return (list.items ?? []).map((l) => ({ ...l, ...LEASE_TYPE }));
  }

  /** Deletes the Lease only as it was read (409 when it was renewed since). */
  async delete(lease: Lease): Promise<void> {
    const { resourceVersion } = lease.metadata;
    await this.#request({
      method: 'DELETE',
      path: leasePath(lease.metadata.namespace, lease.metadata.name),
      body: JSON.stringify(resourceVersion ? { preconditions: { resourceVersion } } : {}),
      contentType: 'application/json',
    });
  }

  async #request<T>(r: RawRequest): Promise<T> {
    try {
      return (await rawJson(this.#config, { ...r, timeoutMs: this.#timeoutMs })) as T;
    } catch (err) {
      throw KubeApiError.from(err);
    }
  }
}

function leasePath(namespace: string, name?: string): string {
  const collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  return name === undefined ? collection : `${collection}/${encodeURIComponent(name)}`;
}

/**
 * How long one Lease request may take: two tries, a retry period apart, fit within the renew
 * deadline, so one request that never answers costs a renewal, not the membership. client-go bounds
 * the whole renewal by the renew deadline instead, so one such request ends the leadership. Pure.
 */
export function leaseRequestTimeoutMs(t: { renewDeadlineMs: number; retryPeriodMs: number }): number {
  return Math.max(500, Math.floor((t.renewDeadlineMs - t.retryPeriodMs) / 2));
}
