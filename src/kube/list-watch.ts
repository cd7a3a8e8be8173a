import { type KubeConfig, type KubernetesObject, ListWatch, Watch } from '@kubernetes/client-node';

type WatchDone = (err: unknown) => void;
type WatchCallback = (phase: string, apiObj: unknown, watchObj?: unknown) => void;

/** How long the API server keeps one watch open: a random value in this range, as client-go does. */
const WATCH_TIMEOUT_SECONDS = { min: 240, max: 480 };
/**
 * How long a watch may send nothing before it is taken for dead and reopened from its last
 * resourceVersion. The API server's watch cache sends every watcher that allows bookmarks one about
 * once a minute (`defaultBookmarkFrequency` in k8s.io/apiserver's cacher), events or not, so a
 * stream silent for two and a half of those lost its connection (a black-holed partition, a proxy
 * that dropped it without a reset) or its server. The same bound covers a watch request left
 * unanswered. A kind served without a watch cache sends no bookmarks: when quiet, its watch is
 * reopened at this interval, one request each time.
 */
export const WATCH_SILENCE_MS = 150_000;

/**
 * client-node's Watch with what its ListWatch does not ask for: bookmarks (so a reconnect resumes
 * from a recent resourceVersion instead of a 410), a server-side timeout, a silence cut that the
 * bookmarks keep from firing on a live stream (client-node's 30 s one would reconnect a quiet kind
 * twice a minute), and a way to force a fresh list: the stream is cut and reported as 410 Gone,
 * which ListWatch answers by re-listing and diffing the cache against the list (objects absent only
 * meanwhile are never reported deleted).
 */
class BookmarkWatch {
  readonly #config: KubeConfig;
  readonly #random: () => number;
  readonly #transform: ((obj: unknown) => unknown) | undefined;
  readonly #silenceMs: number;
  #relist = false;
  #closed = false;
  #current: AbortController | undefined;

  constructor(
    config: KubeConfig,
    random: () => number,
    silenceMs: number,
    transform?: (obj: unknown) => unknown,
  ) {
    this.#config = config;
    this.#random = random;
    this.#silenceMs = silenceMs;
    this.#transform = transform;
  }

  async watch(
    path: string,
    query: Record<string, unknown>,
    callback: WatchCallback,
    done: WatchDone,
  ): Promise<AbortController> {
    const { min, max } = WATCH_TIMEOUT_SECONDS;
    const timeoutSeconds = Math.floor(min + (max - min) * this.#random());
    const inner = new Watch(this.#config);
    // client-node's Watch restarts this timer on every chunk received: a silence cut, reported as a
    // TimeoutError, on which ListWatch reconnects at once from the last resourceVersion.
    (inner as unknown as { requestTimeoutMs: number }).requestTimeoutMs = this.#silenceMs;
    const transform = this.#transform;
    const controller = await inner.watch(
      path,
      { ...query, allowWatchBookmarks: true, timeoutSeconds },
      transform
        ? (phase, obj, watchObj) =>
            callback(phase, phase === 'BOOKMARK' || phase === 'ERROR' ? obj : transform(obj), watchObj)
        : callback,
      (err: unknown) => {
        if (this.#relist) {
          this.#relist = false;
          done(Object.assign(new Error('periodic re-list'), { statusCode: 410 }));
        } else done(err);
      },
    );
    this.#current = controller;
    if (this.#closed) controller.abort();
    return controller;
  }

  /**
   * Stops watching: aborts the current stream, and one whose request is still in flight as soon as
   * it is answered (client-node's ListWatch can only abort a stream it already holds, and a watch
   * left open keeps the process alive for its whole server-side timeout).
   */
  close(): void {
    this.#closed = true;
    this.#current?.abort();
  }

  open(): void {
    this.#closed = false;
  }

  /** Ends the current stream so that the informer lists afresh. */
  relist(): void {
    if (!this.#current || this.#current.signal.aborted) return;
    this.#relist = true;
    this.#current.abort();
  }
}

/**
 * The namespace a collection path is in (`/api/v1/namespaces/a/configmaps` → `a`), or undefined for
 * a path across all namespaces. Pure.
 */
export function namespaceOfPath(path: string): string | undefined {
  return /\/namespaces\/([^/]+)\/[^/]+\/?$/.exec(path)?.[1];
}

/**
 * A whole list of the informer's path, each item passed through `each` as it is read (so a list
 * read page by page holds the slimmed items and one page, not the whole collection as sent).
 */
export type EachList<T> = (
  each: (obj: T) => T,
  /** Aborted when the informer stops: a list in flight ends with it. */
  signal: AbortSignal,
) => Promise<{
  items: T[];
  metadata?: { resourceVersion?: string };
}>;

export interface InformerOptions<T> {
  labelSelector?: string;
  fieldSelector?: string;
  random?: () => number;
  /** How long the watch may be silent before it is reopened: WATCH_SILENCE_MS unless given. */
  silenceMs?: number;
  /** What the cache keeps of each object (pure; applied to every listed and watched object). */
  transform?: (obj: T) => T;
}

/**
 * A list+watch cache of one resource path, with bookmarks and an on-demand re-list. `transform`
 * reshapes every object on its way in (listed or watched), before the cache keeps it and before any
 * handler sees it: a cache holds only what its readers read.
 */
export class Informer<T extends KubernetesObject> {
  readonly #lw: ListWatch<T>;
  readonly #watch: BookmarkWatch;
  #listError: unknown;
  /** Ends the lists of this start when the informer stops. */
  #lists = new AbortController();

  constructor(config: KubeConfig, path: string, list: EachList<T>, opts: InformerOptions<T> = {}) {
    const transform = opts.transform;
    this.#watch = new BookmarkWatch(
      config,
      opts.random ?? Math.random,
      opts.silenceMs ?? WATCH_SILENCE_MS,
      transform as ((obj: unknown) => unknown) | undefined,
    );
    // An object the cache already holds at the listed resourceVersion is kept as it is (ListWatch
    // keeps the cached copy of a same-version item anyway): a re-list then allocates one page at a
    // time, not a second copy of the whole cache, and transforms only what changed.
    const each = (o: T) => {
      const version = o.metadata?.resourceVersion;
      const cached = version ? this.#lw.get(o.metadata?.name ?? '', o.metadata?.namespace) : undefined;
      if (cached && cached.metadata?.resourceVersion === version) return cached;
      return transform ? transform(o) : o;
    };
    const listed = () =>
      list(each, this.#lists.signal).catch((err: unknown) => {
        this.#listError = err;
        throw err;
      });
    this.#lw = new ListWatch<T>(
      path,
      this.#watch as unknown as Watch,
      listed,
      false,
      opts.labelSelector,
      opts.fieldSelector,
    );
  }

  on(verb: 'add' | 'update' | 'delete', cb: (obj: T) => void): void;
  on(verb: 'error', cb: (err?: unknown) => void): void;
  on(verb: 'add' | 'update' | 'delete' | 'error', cb: (obj: never) => void): void {
    this.#lw.on(verb as 'add', cb as (obj: T) => void);
  }

  /**
   * Lists (when it has no resourceVersion to resume from) and starts watching. Rejects when the
   * list failed: client-node's ListWatch only reports that through its error callbacks.
   */
  async start(): Promise<void> {
    this.#listError = undefined;
    if (this.#lists.signal.aborted) this.#lists = new AbortController();
    this.#watch.open();
    await this.#lw.start();
    if (this.#listError !== undefined) throw this.#listError;
  }

  /** Stops watching, and ends a list in flight (one that hangs would hold its connection). */
  stop(): Promise<void> {
    this.#watch.close();
    this.#lists.abort();
    return this.#lw.stop();
  }

  list(namespace?: string): T[] {
    // ListWatch builds a fresh array on every call (typed readonly): no second copy.
    return this.#lw.list(namespace) as T[];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#lw.get(name, namespace);
  }

  /** Lists afresh and reconciles the cache with the list (the periodic safety net). */
  relist(): void {
    this.#watch.relist();
  }
}
