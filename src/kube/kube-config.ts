import { KubeConfig } from '@kubernetes/client-node';

/** How to reach the API server: a kubeconfig file (and context), or the in-cluster service account. */
export type KubeConfigSource = { kubeconfig: string; context?: string } | { inCluster: true };

/** Connection pools kept per distinct TLS identity and server; a handful at most in practice. */
const POOL_LIMIT = 32;

/**
 * client-node 2.x builds a new undici Agent for every request, so every request opens a new
 * connection and, over TLS, does a full handshake (with a client certificate, on both sides). This
 * KubeConfig hands out one pooled, keep-alive dispatcher per server and TLS options instead.
 */
export class PooledKubeConfig extends KubeConfig {
  readonly #pools = new Map<string, unknown>();

  constructor() {
    super();
    const create = (this as unknown as { createDispatcher: (c: unknown, o: unknown) => unknown })
      .createDispatcher;
    (this as unknown as { createDispatcher: (c: unknown, o: unknown) => unknown }).createDispatcher = (
      cluster,
      agentOptions,
    ) => {
      const key = JSON.stringify([(cluster as { server?: string } | null)?.server, agentOptions]);
      let pool = this.#pools.get(key);
      if (pool === undefined) {
        if (this.#pools.size >= POOL_LIMIT) this.#pools.clear();
        pool = create.call(this, cluster, agentOptions);
        this.#pools.set(key, pool);
      }
      return pool;
    };
  }
}

export function loadKubeConfig(source: KubeConfigSource): KubeConfig {
  const kc = new PooledKubeConfig();
  if ('inCluster' in source) kc.loadFromCluster();
  else {
    kc.loadFromFile(source.kubeconfig);
    if (source.context) kc.setCurrentContext(source.context);
  }
  return kc;
}
