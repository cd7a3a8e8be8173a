import type { Server } from 'node:http';
import type { GitSource } from '../api/git-source.ts';
import { keyOf, parseKey } from '../api/object-key.ts';
import { listeningAddr } from '../http/health-server.ts';
import type { Metrics } from '../http/metrics.ts';
import { startWebhookServer, type WebhookTarget } from '../http/webhook/webhook-server.ts';
import type { Kube } from '../kube/client.ts';
import type { Clock } from '../runtime/clock.ts';
import type { InformerLike } from '../runtime/informer.ts';
import type { Log } from '../runtime/logger.ts';
import type { Runnable } from '../runtime/manager.ts';
import { requestedAtMarker } from './triggers.ts';

/** How long a webhook secret's token is reused before it is read again. */
const TOKEN_TTL_MS = 10_000;
/** A standby marks one source at most this often (a burst of pushes is one trigger). */
const MARK_EVERY_MS = 1_000;

export interface WebhookWiring {
  addr: string;
  maxBodyBytes: number;
  kube: Kube;
  clock: Clock;
  sources: InformerLike<GitSource>;
  metrics: Metrics;
  log: Log;
  /** Whether this process leads (and so runs the GitSource workers). */
  leading: () => boolean;
  /** Sharded with other live members: the push is also marked on the source for them. */
  shared: () => boolean;
  /** The leader's own path: enqueue the source, with its shared ls-remote results dropped. */
  enqueue: (target: WebhookTarget) => void;
}

/**
 * The push webhook receiver, on every replica. The leader enqueues the source itself; a standby
 * (whose queues never run) marks the source with shoal.dev/requested-at, which the leader's cache
 * sees and reconciles with fresh refs: a push received by any replica lands. Sharded, the member
 * enqueues it and, with other members live, marks it too so that every owner of a group using it
 * (and the writer of its status) looks at once. The answer is 202 only
 * once the push is on its way.
 */
export function webhookReceiver(w: WebhookWiring): { runnable: Runnable; server: () => Server | undefined } {
  let server: Server | undefined;
  const tokens = new Map<string, { at: number; token: Promise<string | undefined> }>();
  const token = (namespace: string, name: string) => {
    const id = `${namespace}/${name}`;
    const now = w.clock.now().getTime();
    const cached = tokens.get(id);
    if (cached && now - cached.at < TOKEN_TTL_MS) return cached.token;
    const read = w.kube
      .get<{ data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'Secret', namespace, name })
      .then((secret) => {
        const t = secret?.data?.token;
        return t === undefined ? undefined : Buffer.from(t, 'base64').toString('utf8');
      })
      .catch(() => undefined);
    tokens.set(id, { at: now, token: read });
    if (tokens.size > 10_000) tokens.clear();
    return read;
  };
  const requestAt = requestedAtMarker(w.kube, w.clock, MARK_EVERY_MS);
  const mark = (target: WebhookTarget) => {
    const { namespace, name } = parseKey(target.key);
    return requestAt('GitSource', namespace, name);
  };
  return {
    server: () => server,
    runnable: {
      name: 'webhook receiver',
      group: 'always',
      async start() {
        server = await startWebhookServer(
          w.addr,
          {
            sources: () =>
              w.sources.list().map((s) => ({
                key: keyOf(s),
                namespace: s.metadata.namespace ?? '',
                url: s.spec.url,
                ...(s.spec.ref ? { ref: s.spec.ref } : {}),
                ...(s.spec.webhookSecretRef ? { webhookSecretName: s.spec.webhookSecretRef.name } : {}),
              })),
            token,
            enqueue: async (target) => {
              if (!w.leading()) return mark(target);
              w.enqueue(target);
              if (w.shared()) await mark(target);
            },
            count: (provider, result) => w.metrics.webhookRequests.inc({ provider, result }),
            log: w.log,
          },
          { maxBodyBytes: w.maxBodyBytes },
        );
        w.log({ msg: 'serving push webhooks', addr: listeningAddr(server) });
      },
      async stop() {
        const s = server;
        if (s) await new Promise((resolve) => s.close(resolve));
      },
    },
  };
}
