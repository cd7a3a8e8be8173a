import { slimManagedObject } from '../api/cache-shapes.ts';
import { LABELS } from '../api/group.ts';
import type { ObjectRef } from '../api/object-key.ts';
import { labelledOwner } from '../apply/ownership.ts';
import type { Kube } from '../kube/client.ts';
import type { Clock } from '../runtime/clock.ts';
import { type InformerLike, StartAborted, startResilient } from '../runtime/informer.ts';
import type { Log } from '../runtime/logger.ts';
import {
  autoscalerScaled,
  driftAuthor,
  driftFingerprint,
  managerSignatures,
  type WatchedObject,
} from './drift.ts';

export interface DriftWatcherOptions {
  clock: Clock;
  log: Log;
  /** Only objects of AppGroups in this namespace (the operator's --watch-namespace); undefined: all. */
  groupNamespace?: string;
  /** An object of `groupKey` changed (`author` made the change) or was deleted (`author` undefined). */
  onDrift: (groupKey: string, description: string, author: string | undefined) => void;
}

interface Watch {
  stop: () => Promise<void>;
  informer: InformerLike<WatchedObject>;
}

/**
 * A watch being started: `settled` once its cache is filled or its first list failed (it keeps
 * trying after that; a reader does not wait for it); `abort` gives the start up.
 */
interface Starting {
  settled: Promise<void>;
  abort: AbortController;
}

const isWatch = (w: Watch | Starting | undefined): w is Watch => w !== undefined && 'informer' in w;

/** The safety re-list of every drift watch (gitops-engine re-lists every 10 minutes too). */
const RELIST_EVERY_MS = 10 * 60_000;

const objectKey = (o: WatchedObject) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/**
 * Watches the kinds present in AppGroup inventories, cluster-wide but only objects carrying Shoal's
 * owner label (so it holds only what Shoal manages), and reports changes to their spec, labels or
 * annotations made by anyone but Shoal, and deletions, to the owning group.
 */
export class DriftWatcher {
  readonly #kube: Kube;
  readonly #opts: DriftWatcherOptions;
  readonly #watches = new Map<string, Watch | Starting>();

  constructor(kube: Kube, options: DriftWatcherOptions) {
    this.#kube = kube;
    this.#opts = options;
  }

  /**
   * Starts watches for kinds not watched yet and stops those no inventory has any more (a start still
   * trying to list a kind no longer wanted is given up).
   */
  async sync(kinds: readonly { apiVersion: string; kind: string }[]): Promise<void> {
    const wanted = new Map(kinds.map((k) => [`${k.apiVersion}|${k.kind}`, k]));
    for (const [key, w] of this.#watches) {
      if (wanted.has(key)) continue;
      this.#watches.delete(key);
      if (isWatch(w)) await w.stop();
      else w.abort.abort();
    }
    await Promise.all(
      [...wanted.entries()]
        .filter(([key]) => !this.#watches.has(key))
        .map(async ([key, k]) => {
          let listFailed = () => {};
          const failed = new Promise<void>((r) => (listFailed = r));
          const starting: Starting = { settled: failed, abort: new AbortController() };
          this.#watches.set(key, starting);
          const started = this.#watch(k.apiVersion, k.kind, starting.abort.signal, () => listFailed()).then(
            (w) => {
              if (this.#watches.get(key) === starting) this.#watches.set(key, w);
              else void w.stop();
            },
            (err: unknown) => {
              if (this.#watches.get(key) === starting) this.#watches.delete(key);
              if (err instanceof StartAborted) return;
              this.#opts.log({
                level: 'warn',
                msg: 'cannot watch for drift',
                kind: k.kind,
                error: err instanceof Error ? err.message : String(err),
              });
            },
          );
          starting.settled = Promise.race([started, failed]);
          await started;
        }),
    );
  }

  /**
   * Waits, at most `maxWaitMs`, for a watch of this kind that is being started to fill its cache or
   * fail its first list (at once when none is starting): a reader that would otherwise list the
   * objects itself can read the cache instead.
   */
  async started(apiVersion: string, kind: string, maxWaitMs: number): Promise<void> {
    const w = this.#watches.get(`${apiVersion}|${kind}`);
    if (!w || isWatch(w)) return;
    let cancel: (() => void) | undefined;
    await Promise.race([
      w.settled,
      new Promise<void>((r) => (cancel = this.#opts.clock.after(maxWaitMs, r))),
    ]);
    cancel?.();
  }

  async #watch(
    apiVersion: string,
    kind: string,
    signal: AbortSignal,
    onListFailed: () => void,
  ): Promise<Watch> {
    const path = await this.#kube.collectionPath(apiVersion, kind);
    const ns = this.#opts.groupNamespace;
    const informer = this.#kube.informer(path, apiVersion, kind, {
      labelSelector: ns ? `${LABELS.groupName},${LABELS.groupNamespace}=${ns}` : LABELS.groupName,
      transform: slimManagedObject,
    }) as unknown as InformerLike<WatchedObject>;
    // Per object, what counts for drift and who had written what, as of the version seen last.
    const seen = new Map<string, { fingerprint: string; managers: Map<string, string> }>();
    const remember = (o: WatchedObject) => {
      const entry = { fingerprint: driftFingerprint(o), managers: managerSignatures(o) };
      seen.set(objectKey(o), entry);
      return entry;
    };
    informer.on('add', remember);
    informer.on('update', (o) => {
      const key = objectKey(o);
      const previous = seen.get(key);
      if (previous?.fingerprint === remember(o).fingerprint) return;
      const author = driftAuthor(o, previous?.managers);
      if (author && autoscalerScaled(o, author)) return;
      const group = labelledOwner(o);
      if (author && group)
        this.#opts.onDrift(group, `${kind}/${key.replace(/^\//, '')} was changed by ${author}`, author);
    });
    informer.on('delete', (o) => {
      seen.delete(objectKey(o));
      const group = labelledOwner(o);
      if (group)
        this.#opts.onDrift(group, `${kind}/${objectKey(o).replace(/^\//, '')} was deleted`, undefined);
    });
    const stop = await startResilient(informer, {
      clock: this.#opts.clock,
      baseDelayMs: 1_000,
      maxDelayMs: 60_000,
      log: this.#opts.log,
      name: `drift ${kind}`,
      relistEveryMs: RELIST_EVERY_MS,
      onListFailed,
      signal,
    });
    return { stop, informer };
  }

  async stop(): Promise<void> {
    const all = [...this.#watches.values()];
    this.#watches.clear();
    for (const w of all) if (!isWatch(w)) w.abort.abort();
    await Promise.all(all.filter(isWatch).map((w) => w.stop()));
  }

  /**
   * The watched objects of a kind (all with an owner label), or undefined when that kind is not
   * watched (yet). Read-only: they are the cache's own objects.
   */
  cached(apiVersion: string, kind: string, namespace?: string): readonly WatchedObject[] | undefined {
    const w = this.#watches.get(`${apiVersion}|${kind}`);
    return isWatch(w) ? w.informer.list(namespace) : undefined;
  }

  /** Whether a kind is watched (its cache filled). */
  watches(apiVersion: string, kind: string): boolean {
    return isWatch(this.#watches.get(`${apiVersion}|${kind}`));
  }

  /**
   * One watched object by name, without listing its kind (undefined when it is not cached, or its
   * kind is not watched). Read-only, as for `cached`.
   */
  cachedObject(ref: ObjectRef): WatchedObject | undefined {
    const w = this.#watches.get(`${ref.apiVersion}|${ref.kind}`);
    if (!isWatch(w)) return undefined;
    return w.informer.get
      ? w.informer.get(ref.name, ref.namespace)
      : w.informer.list(ref.namespace).find((o) => o.metadata?.name === ref.name);
  }

  /** The kinds watched now (for tests and metrics). */
  get kinds(): string[] {
    return [...this.#watches.keys()];
  }
}
