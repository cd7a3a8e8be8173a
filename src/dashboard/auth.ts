import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kube } from '../kube/client.ts';
import type { Clock } from '../runtime/clock.ts';

/** Who is looking: a Kubernetes user and their groups, as TokenReview (or the kubeconfig) says. */
export interface Viewer {
  user: string;
  groups: string[];
}

/** One question for the API server's authorizer. */
export interface Access {
  verb: string;
  group: string;
  resource: string;
  namespace?: string;
  name?: string;
}

export interface Authorizer {
  may(viewer: Viewer, access: Access): Promise<boolean>;
}

/** Answers kept this long: a revoked permission stops showing within it. */
const ACCESS_TTL_MS = 30_000;
/** Token reviews kept this long (by the token's digest, never the token). */
const TOKEN_TTL_MS = 60_000;
/** A browser session lasts this long; its token is reviewed again every TOKEN_TTL_MS. */
const SESSION_TTL_MS = 8 * 3600_000;
const MAX_ENTRIES = 10_000;

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** A bounded map whose entries expire; the oldest go first when it is full. */
class Expiring<V> {
  readonly #entries = new Map<string, { value: V; until: number }>();
  readonly ttlMs: number;
  readonly clock: Clock;
  constructor(ttlMs: number, clock: Clock) {
    this.ttlMs = ttlMs;
    this.clock = clock;
  }
  get(key: string): V | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (e.until <= this.clock.now().getTime()) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.value;
  }
  set(key: string, value: V, ttlMs = this.ttlMs): void {
    this.#entries.set(key, { value, until: this.clock.now().getTime() + ttlMs });
    if (this.#entries.size > MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value as string);
  }
  delete(key: string): void {
    this.#entries.delete(key);
  }
}

type Review = {
  status?: { allowed?: boolean; authenticated?: boolean; user?: { username?: string; groups?: string[] } };
};

/**
 * The operator's authorizer: a SubjectAccessReview per question (as the viewer), answers cached
 * for 30 s per viewer and question.
 */
export function subjectAccessReviews(kube: Kube, clock: Clock): Authorizer {
  const cache = new Expiring<Promise<boolean>>(ACCESS_TTL_MS, clock);
  return {
    may(viewer, a) {
      const key = JSON.stringify([viewer.user, viewer.groups, a]);
      let answer = cache.get(key);
      if (!answer) {
        answer = kube
          .create({
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SubjectAccessReview',
            metadata: {},
            spec: { user: viewer.user, groups: viewer.groups, resourceAttributes: attributes(a) },
          } as never)
          .then((r) => (r as Review).status?.allowed === true);
        answer.catch(() => cache.delete(key));
        cache.set(key, answer);
      }
      return answer.catch(() => false);
    },
  };
}

/** The local dashboard's authorizer: the kubeconfig user asks about itself (SelfSubjectAccessReview). */
export function selfAccessReviews(kube: Kube, clock: Clock): Authorizer {
  const cache = new Expiring<Promise<boolean>>(ACCESS_TTL_MS, clock);
  return {
    may(_viewer, a) {
      const key = JSON.stringify(a);
      let answer = cache.get(key);
      if (!answer) {
        answer = kube
          .create({
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            metadata: {},
            spec: { resourceAttributes: attributes(a) },
          } as never)
          .then((r) => (r as Review).status?.allowed === true);
        answer.catch(() => cache.delete(key));
        cache.set(key, answer);
      }
      return answer.catch(() => false);
    },
  };
}

const attributes = (a: Access) => ({
  verb: a.verb,
  group: a.group,
  resource: a.resource,
  ...(a.namespace ? { namespace: a.namespace } : {}),
  ...(a.name ? { name: a.name } : {}),
});

/** Verifies bearer tokens with TokenReview; results cached for a minute by the token's digest. */
export class TokenReviewer {
  readonly #kube: Kube;
  readonly #cache: Expiring<Promise<Viewer | undefined>>;

  constructor(kube: Kube, clock: Clock) {
    this.#kube = kube;
    this.#cache = new Expiring(TOKEN_TTL_MS, clock);
  }

  review(token: string): Promise<Viewer | undefined> {
    const key = sha(token);
    let answer = this.#cache.get(key);
    if (!answer) {
      answer = this.#kube
        .create({
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          metadata: {},
          spec: { token },
        } as never)
        .then((r) => {
          const s = (r as Review).status;
          return s?.authenticated && s.user?.username
            ? { user: s.user.username, groups: s.user.groups ?? [] }
            : undefined;
        });
      answer.catch(() => this.#cache.delete(key));
      this.#cache.set(key, answer);
    }
    return answer.catch(() => undefined);
  }
}

export interface Session {
  viewer: Viewer;
  /** Sent back in X-CSRF-Token with every action. */
  csrf: string;
  /** The token the session was made with (memory only), reviewed again when the review expires. */
  token: string | undefined;
}

/** Browser sessions by a random id in an HttpOnly cookie; the id is never logged. */
export class Sessions {
  readonly #sessions: Expiring<Session>;

  constructor(clock: Clock) {
    this.#sessions = new Expiring(SESSION_TTL_MS, clock);
  }

  create(viewer: Viewer, token: string | undefined): { id: string; session: Session } {
    const id = randomBytes(32).toString('base64url');
    const session = { viewer, csrf: randomBytes(32).toString('base64url'), token };
    this.#sessions.set(id, session);
    return { id, session };
  }

  get(id: string | undefined): Session | undefined {
    return id ? this.#sessions.get(id) : undefined;
  }

  delete(id: string | undefined): void {
    if (id) this.#sessions.delete(id);
  }
}

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfMatches(presented: string | undefined, expected: string): boolean {
  if (!presented) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
