import type { KubernetesObject, ObjectMetadata } from '../api/object.ts';
import type { Clock } from '../runtime/clock.ts';
import type { Log } from '../runtime/logger.ts';
import { sanitizeMessage } from '../status/conditions.ts';
import type { Kube } from './client.ts';

/** What an event is about: one of Shoal's objects (identity and version). */
export type EventTarget = KubernetesObject & { apiVersion: string; kind: string; metadata: ObjectMetadata };

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  clock: Clock;
  /** Name of this operator instance (pod name or host). */
  instance: string;
  /** The same event (object, type, reason, note) is not repeated within this window. */
  dedupeWindowMs: number;
  log: Log;
}

/**
 * Emits events.k8s.io/v1 Events about Shoal's objects, de-duplicated in memory. Emitting never
 * throws: a failed event is logged and dropped, so it cannot fail a reconcile.
 */
export class EventRecorder {
  readonly #kube: Kube;
  readonly #opts: EventRecorderOptions;
  readonly #recent = new Map<string, number>();
  #seq = 0;

  constructor(kube: Kube, options: EventRecorderOptions) {
    this.#kube = kube;
    this.#opts = options;
  }

  async emit(
    target: EventTarget,
    type: EventType,
    reason: string,
    note: string,
    action = 'Reconcile',
  ): Promise<void> {
    const clean = sanitizeMessage(note);
    const now = this.#opts.clock.now().getTime();
    const key = `${target.metadata.uid ?? target.metadata.name}|${type}|${reason}|${clean}`;
    const last = this.#recent.get(key);
    if (last !== undefined && now - last < this.#opts.dedupeWindowMs) return;
    this.#recent.set(key, now);
    if (this.#recent.size > 10_000) {
      for (const [k, t] of this.#recent) if (now - t >= this.#opts.dedupeWindowMs) this.#recent.delete(k);
    }
    const ns = target.metadata.namespace ?? 'default';
    try {
      await this.#kube.create({
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: {
          name: `${target.metadata.name ?? 'shoal'}.${now.toString(16)}${(this.#seq++).toString(16)}`,
          namespace: ns,
        },
        eventTime: new Date(now).toISOString().replace('Z', '000Z'),
        reportingController: 'shoal.dev/shoal',
        reportingInstance: this.#opts.instance,
        action,
        reason,
        note: clean,
        type,
        regarding: {
          apiVersion: target.apiVersion,
          kind: target.kind,
          name: target.metadata.name,
          namespace: ns,
          uid: target.metadata.uid,
          resourceVersion: target.metadata.resourceVersion,
        },
      } as never);
    } catch (err) {
      this.#opts.log({
        level: 'warn',
        msg: 'could not emit event',
        reason,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
}
