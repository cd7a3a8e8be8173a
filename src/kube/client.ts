import { ApiException, type KubeConfig, PatchStrategy, type V1APIResource } from '@kubernetes/client-node';
import type { KubernetesObject, ScalableKind } from '../api/object.ts';
import { KubeApiError } from './kube-api-error.ts';
import { PooledKubeConfig } from './kube-config.ts';
import { Informer, namespaceOfPath } from './list-watch.ts';
import { MAX_LIST_BYTES, type RawRequest, REQUEST_TIMEOUT_MS, rawJson } from './raw-request.ts';

// client-node's KubernetesObject types timestamps as Date, which a JSON body never holds; this
// wrapper takes and returns plain JSON shapes (api/object.ts) instead.
type ClientObject = import('@kubernetes/client-node').KubernetesObject;

/** One write of a workload's replicas through its scale subresource. */
export interface ScaleWrite {
  kind: ScalableKind;
  namespace: string;
  name: string;
  replicas: number;
  /** The field manager that owns the count from now on. */
  fieldManager: string;
}

/** What the autoscaler reads of a scale subresource. */
export interface Scale {
  specReplicas: number;
  statusReplicas: number;
  /** The workload's pod selector, serialised (`app=web,tier in (a,b)`). */
  selector: string;
  resourceVersion: string;
}

export interface ApplyOptions {
  /** Field manager that owns what this apply sends. */
  fieldManager: string;
  /** Take ownership of fields another manager owns (SSA `force`). */
  force: boolean;
  /** Server-side dry run: the API server validates, defaults and runs admission, and stores nothing. */
  dryRun: boolean;
}

export interface DeleteOptions {
  /** Background (default), Foreground or Orphan. */
  propagationPolicy?: string;
  preconditions?: { uid?: string | undefined; resourceVersion?: string | undefined };
}

export const DEFAULT_APPLY_OPTIONS: ApplyOptions = { fieldManager: 'shoal', force: true, dryRun: false };

/** `/api/v1` for the core group, `/apis/<group>/<version>` for the others. */
const groupVersionPath = (apiVersion: string) =>
  apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;

/** The path of a namespaced custom object (`/apis/<group>/<version>/namespaces/<ns>/<plural>/<name>`). */
function customObjectPath(ref: {
  group: string;
  version: string;
  plural: string;
  namespace: string;
  name: string;
}) {
  return `/apis/${ref.group}/${ref.version}/namespaces/${encodeURIComponent(ref.namespace)}/${ref.plural}/${encodeURIComponent(ref.name)}`;
}

/** The scale subresource of a Deployment or StatefulSet. */
function scalePath(kind: ScalableKind, namespace: string, name: string): string {
  const plural = kind === 'Deployment' ? 'deployments' : 'statefulsets';
  return `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/${plural}/${encodeURIComponent(name)}/scale`;
}

export interface KubeOptions {
  /** How long one request (not a watch) may go unanswered: REQUEST_TIMEOUT_MS unless given. */
  requestTimeoutMs?: number;
  /** How long an informer's watch may send nothing before it is reopened: WATCH_SILENCE_MS unless given. */
  watchSilenceMs?: number;
  /** The fence to share (an impersonating client shares its parent's). */
  fence?: { why: string | undefined };
}

/** The resourceVersion of an API answer (a written object), if it has one. */
function resourceVersionOf(answer: unknown): string | undefined {
  return (answer as { metadata?: { resourceVersion?: string } } | undefined)?.metadata?.resourceVersion;
}

async function translate<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw KubeApiError.from(err);
  }
}

/**
 * Shoal's one client of the API server. Every request but a watch goes straight to the server
 * (raw-request.ts: client-node's authentication and a pooled connection, no generated layers) and
 * ends at the client's timeout; watches go through client-node's Watch (list-watch.ts). Every
 * method throws `KubeApiError` (with the HTTP code and the API server's reason).
 */
export class Kube {
  readonly config: KubeConfig;
  /** Each API version's resources, as discovery last answered them (fetched again for a kind not in them). */
  readonly #discovered = new Map<string, V1APIResource[]>();
  readonly #impersonated = new Map<string, Kube>();
  readonly #requestTimeoutMs: number;
  readonly #watchSilenceMs: number | undefined;
  /** Shared with the impersonating clients made from this one, so one call fences them all. */
  readonly #fence: { why: string | undefined };

  constructor(config: KubeConfig, options: KubeOptions = {}) {
    this.config = config;
    this.#fence = options.fence ?? { why: undefined };
    this.#requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    this.#watchSilenceMs = options.watchSilenceMs;
  }

  /** One request straight to the API server (raw-request.ts), within this client's timeout. */
  #raw(r: RawRequest): Promise<unknown> {
    return translate(rawJson(this.config, { timeoutMs: this.#requestTimeoutMs, ...r }));
  }

  /** The scale subresource of a Deployment or StatefulSet; undefined when the workload is gone. */
  async getScale(kind: ScalableKind, namespace: string, name: string): Promise<Scale | undefined> {
    try {
      const s = (await this.#raw({ method: 'GET', path: scalePath(kind, namespace, name) })) as {
        metadata?: { resourceVersion?: string };
        spec?: { replicas?: number };
        status?: { replicas?: number; selector?: string };
      };
      return {
        specReplicas: s.spec?.replicas ?? 0,
        statusReplicas: s.status?.replicas ?? 0,
        selector: s.status?.selector ?? '',
        resourceVersion: s.metadata?.resourceVersion ?? '',
      };
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  /**
   * Sets a workload's replicas through its scale subresource with server-side apply, as
   * `fieldManager` (forced: the count is that manager's to decide).
   */
  async applyScale(options: ScaleWrite): Promise<void> {
    const { kind, namespace, name, replicas, fieldManager } = options;
    this.#writable();
    await this.#raw({
      method: 'PATCH',
      path: scalePath(kind, namespace, name),
      query: { fieldManager, force: 'true' },
      body: JSON.stringify({
        apiVersion: 'autoscaling/v1',
        kind: 'Scale',
        metadata: { name, namespace },
        spec: { replicas },
      }),
      contentType: PatchStrategy.ServerSideApply,
    });
  }

  /**
   * A client that sends every request as `user` (Impersonate-User), for example
   * `system:serviceaccount:shop:deployer`: the API server authorizes it as that identity, and never
   * falls back to the operator's own. Cached per user (its discovery cache too).
   */
  impersonating(user: string): Kube {
    const cached = this.#impersonated.get(user);
    if (cached) return cached;
    const current = this.config.getCurrentUser();
    const kc = new PooledKubeConfig();
    kc.loadFromOptions({
      clusters: this.config.getClusters(),
      users: this.config
        .getUsers()
        .map((u) => (u.name === current?.name ? { ...u, impersonateUser: user } : u)),
      contexts: this.config.getContexts(),
      currentContext: this.config.getCurrentContext(),
    });
    const kube = new Kube(kc, {
      fence: this.#fence,
      requestTimeoutMs: this.#requestTimeoutMs,
      watchSilenceMs: this.#watchSilenceMs,
    });
    this.#impersonated.set(user, kube);
    return kube;
  }

  /**
   * Refuses every write from now on, from this client and the impersonating ones made from it
   * (reads and dry runs still go out): a process that lost its Lease must not write another byte.
   */
  fence(why: string): void {
    this.#fence.why = why;
  }

  #writable(): void {
    if (this.#fence.why !== undefined)
      throw new KubeApiError(0, 'Fenced', `write refused: ${this.#fence.why}`);
  }

  /**
   * Server-side apply of one object; returns what the server stored (or would store, on dry run).
   * Every object takes this path twice, so it goes straight to the API server (raw-request.ts).
   */
  async apply<T extends KubernetesObject>(obj: T, options: ApplyOptions = DEFAULT_APPLY_OPTIONS): Promise<T> {
    if (!options.dryRun) this.#writable();
    const path = await this.#pathOf(obj);
    return this.#raw({
      method: 'PATCH',
      path,
      query: {
        fieldManager: options.fieldManager,
        ...(options.force ? { force: 'true' } : {}),
        ...(options.dryRun ? { dryRun: 'All' } : {}),
      },
      body: JSON.stringify(obj),
      contentType: PatchStrategy.ServerSideApply,
    }) as Promise<T>;
  }

  /** The collection path of a kind in a namespace (cluster-wide for cluster-scoped kinds), as client-node builds it. */
  async #collectionIn(apiVersion: string, kind: string, namespace: string | undefined): Promise<string> {
    const resource = await this.#resource(apiVersion, kind);
    const ns = resource.namespaced
      ? `/namespaces/${encodeURIComponent(namespace || this.#defaultNamespace())}`
      : '';
    return `${groupVersionPath(apiVersion)}${ns}/${resource.name}`;
  }

  /** The path of an object by its own apiVersion, kind, namespace and name. */
  #pathOf(obj: KubernetesObject): Promise<string> {
    return this.#objectPath(
      obj.apiVersion ?? '',
      obj.kind ?? '',
      obj.metadata?.namespace,
      obj.metadata?.name ?? '',
    );
  }

  /** The path of one object. */
  async #objectPath(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
  ): Promise<string> {
    if (!name) throw new KubeApiError(422, 'Invalid', `${kind} without a metadata.name`);
    return `${await this.#collectionIn(apiVersion, kind, namespace)}/${encodeURIComponent(name)}`;
  }

  /** The kubeconfig context's namespace, else default (what client-node fills in for a namespaced object). */
  #defaultNamespace(): string {
    return this.config.getContextObject(this.config.getCurrentContext())?.namespace || 'default';
  }

  /** PUT of a whole object, guarded by its metadata.resourceVersion (409 when it changed). */
  async replace<T extends KubernetesObject>(obj: T): Promise<T> {
    this.#writable();
    return this.#raw({
      method: 'PUT',
      path: await this.#pathOf(obj),
      body: JSON.stringify(obj),
      contentType: 'application/json',
    }) as Promise<T>;
  }

  async create<T extends KubernetesObject>(obj: T): Promise<T> {
    this.#writable();
    return this.#raw({
      method: 'POST',
      path: await this.#collectionIn(obj.apiVersion ?? '', obj.kind ?? '', obj.metadata?.namespace),
      body: JSON.stringify(obj),
      contentType: 'application/json',
    }) as Promise<T>;
  }

  /** Reads one object; undefined when the server answers 404 (any other error throws). */
  async get<T extends object>(ref: {
    apiVersion: string;
    kind: string;
    name: string;
    namespace?: string;
  }): Promise<T | undefined> {
    try {
      const path = await this.#objectPath(ref.apiVersion, ref.kind, ref.namespace, ref.name);
      return (await this.#raw({ method: 'GET', path })) as T;
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  /**
   * One page of a LIST, as the API server wrote it (raw-request.ts): not through client-node's typed
   * models, which turn timestamps into Dates, reorder fields and drop the ones they do not know, so a
   * listed object would differ from the same object in a watch event or a write's answer. All
   * namespaces when `namespace` is not given.
   */
  async #listPage<T extends ClientObject>(
    apiVersion: string,
    kind: string,
    opts: ListOptions & { continue?: string | undefined; signal?: AbortSignal | undefined },
  ): Promise<ListPage<T>> {
    const path = opts.namespace
      ? await this.#collectionIn(apiVersion, kind, opts.namespace)
      : await this.collectionPath(apiVersion, kind);
    const list = (await this.#raw({
      method: 'GET',
      path,
      query: {
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        limit: opts.limit !== undefined ? String(opts.limit) : undefined,
        continue: opts.continue,
      },
      maxBytes: MAX_LIST_BYTES,
      ...(opts.signal ? { signal: opts.signal } : {}),
    })) as { items?: T[] | null; metadata?: ListPage<T>['metadata'] };
    return { ...list, items: list.items ?? [] };
  }

  /**
   * A whole LIST, read a page of `LIST_PAGE_SIZE` at a time as client-go's reflector does: the API
   * server builds and sends one page at a time, and `each` (an informer's transform) slims a page's
   * objects before the next one is read, so the text of one page is held rather than that of the
   * whole collection. Every page is of the first page's snapshot (its resourceVersion). A snapshot
   * compacted away mid-list (410 Expired on a continue token) is listed again from the start, once.
   * With `opts.limit`, one page of at most that many items.
   */
  async #list<T extends ClientObject>(
    apiVersion: string,
    kind: string,
    opts: ListOptions & { signal?: AbortSignal | undefined },
    each: (obj: T) => T = (o) => o,
  ): Promise<{ items: T[]; metadata: { resourceVersion?: string } }> {
    if (opts.limit !== undefined) {
      const page = await this.#listPage<T>(apiVersion, kind, opts);
      return { items: page.items.map(each), metadata: { ...page.metadata } };
    }
    for (let attempt = 0; ; attempt++) {
      const items: T[] = [];
      let resourceVersion: string | undefined;
      let next: string | undefined;
      try {
        do {
          const page = await this.#listPage<T>(apiVersion, kind, {
            ...opts,
            limit: opts.pageSize ?? LIST_PAGE_SIZE,
            continue: next,
          });
          resourceVersion ??= page.metadata?.resourceVersion;
          for (const o of page.items) items.push(each(o));
          const token = page.metadata?.continue || undefined;
          // A server answering the same token again would have the loop ask for the same page forever.
          if (token !== undefined && token === next)
            throw new KubeApiError(500, 'InternalError', `the ${kind} list repeated its continue token`);
          next = token;
        } while (next);
        return { items, metadata: resourceVersion !== undefined ? { resourceVersion } : {} };
      } catch (err) {
        if (attempt > 0 || next === undefined || !(err instanceof KubeApiError) || err.code !== 410)
          throw err;
      }
    }
  }

  async list<T extends object>(
    apiVersion: string,
    kind: string,
    opts: ListOptions = {},
  ): Promise<{ items: T[]; resourceVersion: string }> {
    const list = await this.#list(apiVersion, kind, opts);
    return { items: list.items as unknown as T[], resourceVersion: list.metadata.resourceVersion ?? '' };
  }

  /**
   * Deletes one object. `preconditions` make the API server refuse (409) when the object is no
   * longer the one that was checked: another uid (deleted and re-created) or another
   * resourceVersion (changed since).
   */
  async delete(obj: KubernetesObject, options: DeleteOptions = {}): Promise<void> {
    this.#writable();
    const { propagationPolicy = 'Background', preconditions } = options;
    const body = preconditions
      ? {
          preconditions: {
            ...(preconditions.uid ? { uid: preconditions.uid } : {}),
            ...(preconditions.resourceVersion ? { resourceVersion: preconditions.resourceVersion } : {}),
          },
        }
      : undefined;
    await this.#raw({
      method: 'DELETE',
      path: await this.#pathOf(obj),
      query: { propagationPolicy },
      ...(body ? { body: JSON.stringify(body), contentType: 'application/json' } : {}),
    });
  }

  /** JSON merge patch of a custom object's main resource (metadata and spec). */
  async mergePatch(
    ref: { group: string; version: string; plural: string; namespace: string; name: string },
    body: object,
  ): Promise<string | undefined> {
    this.#writable();
    return resourceVersionOf(
      await this.#raw({
        method: 'PATCH',
        path: customObjectPath(ref),
        body: JSON.stringify(body),
        contentType: PatchStrategy.MergePatch,
      }),
    );
  }

  /** JSON merge patch of a custom object's status subresource. */
  async patchStatus(
    ref: { group: string; version: string; plural: string; namespace: string; name: string },
    status: object,
  ): Promise<string | undefined> {
    this.#writable();
    return resourceVersionOf(
      await this.#raw({
        method: 'PATCH',
        path: `${customObjectPath(ref)}/status`,
        body: JSON.stringify({ status }),
        contentType: PatchStrategy.MergePatch,
      }),
    );
  }

  /**
   * What discovery says of the cluster: its version (v1.37.1) and every API version it serves, as
   * `group/version` and `group/version/Kind` (what Helm's .Capabilities.APIVersions holds).
   * One request per API version: callers cache it.
   */
  async discovery(): Promise<{ version: string; apiVersions: string[] }> {
    const [info, core, groups] = (await Promise.all([
      this.#raw({ method: 'GET', path: '/version' }),
      this.#raw({ method: 'GET', path: '/api' }),
      this.#raw({ method: 'GET', path: '/apis' }),
    ])) as [
      { gitVersion?: string },
      { versions?: string[] },
      { groups?: { versions?: { groupVersion: string }[] }[] },
    ];
    const versions = [
      ...(core.versions ?? []),
      ...(groups.groups ?? []).flatMap((g) => (g.versions ?? []).map((v) => v.groupVersion)),
    ];
    const out = new Set<string>(versions);
    await Promise.all(
      versions.map(async (gv) => {
        // An API version whose server is down (an aggregated API) lists no kinds, as kubectl does.
        const resources = await this.#resources(gv).catch(() => []);
        for (const r of resources) if (!r.name.includes('/')) out.add(`${gv}/${r.kind}`);
      }),
    );
    return { version: info.gitVersion ?? '', apiVersions: [...out].sort() };
  }

  /** The cluster-wide collection path of a kind (`/api/v1/configmaps`, `/apis/apps/v1/deployments`). */
  async collectionPath(apiVersion: string, kind: string): Promise<string> {
    return `${groupVersionPath(apiVersion)}/${(await this.#resource(apiVersion, kind)).name}`;
  }

  /** Whether a kind is namespaced, from discovery (cached per API version). Throws for unknown kinds. */
  async isNamespaced(apiVersion: string, kind: string): Promise<boolean> {
    return (await this.#resource(apiVersion, kind)).namespaced;
  }

  /** A kind's resource from discovery (cached per API version); 404 NotFound for a kind it does not know. */
  async #resource(apiVersion: string, kind: string): Promise<V1APIResource> {
    const find = (resources: V1APIResource[] | undefined) => resources?.find((r) => r.kind === kind);
    // A kind not among the cached resources may be new (a CRD just established): ask again.
    const resource = find(this.#discovered.get(apiVersion)) ?? find(await this.#resources(apiVersion));
    if (!resource)
      throw new KubeApiError(404, 'NotFound', `no matches for kind "${kind}" in version "${apiVersion}"`);
    return resource;
  }

  /** An API version's resources, from discovery (and into the cache); none for a version not served. */
  async #resources(apiVersion: string): Promise<V1APIResource[]> {
    try {
      const list = (await this.#raw({ method: 'GET', path: groupVersionPath(apiVersion) })) as {
        resources?: V1APIResource[];
      };
      const resources = list.resources ?? [];
      this.#discovered.set(apiVersion, resources);
      return resources;
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) return [];
      throw err;
    }
  }

  /**
   * A list+watch cache of one resource path, e.g. `/apis/shoal.dev/v1alpha1/appgroups` (or
   * `.../namespaces/ns/appgroups`). The list is of the path's namespace, so the two cannot disagree.
   */
  informer<T extends ClientObject>(
    path: string,
    apiVersion: string,
    kind: string,
    opts: Omit<ListOptions, 'limit' | 'namespace'> & {
      transform?: (obj: KubernetesObject) => KubernetesObject;
    } = {},
  ) {
    const namespace = namespaceOfPath(path);
    const listed = { ...opts, ...(namespace ? { namespace } : {}) };
    return new Informer<T>(
      this.config,
      path,
      (each, signal) => this.#list<T>(apiVersion, kind, { ...listed, signal }, each),
      {
        ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
        ...(opts.fieldSelector ? { fieldSelector: opts.fieldSelector } : {}),
        ...(opts.transform ? { transform: opts.transform as unknown as (obj: T) => T } : {}),
        silenceMs: this.#watchSilenceMs,
      },
    );
  }
}

/** Items per page of a LIST, as client-go's reflector asks for. */
export const LIST_PAGE_SIZE = 500;

/** One page of a LIST: its items, the snapshot's resourceVersion, and the token of the next page. */
interface ListPage<T> {
  items: T[];
  metadata?: { resourceVersion?: string; continue?: string };
}

/** What a list asks for: a namespace (or all), selectors, and at most `limit` items. */
export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  /** Items per page of a whole list (without `limit`): LIST_PAGE_SIZE unless given. */
  pageSize?: number;
}

export type { KubernetesObject } from '../api/object.ts';
export { type KubeConfigSource, loadKubeConfig, PooledKubeConfig } from './kube-config.ts';
export { ApiException };
