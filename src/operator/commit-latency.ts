import type { AppGroup } from '../api/app-group.ts';
import type { Clock } from '../runtime/clock.ts';

/** Revisions whose detection time is remembered. */
const DETECTED_LIMIT = 10_000;

/**
 * shoal_commit_to_applied_seconds: when each new revision of a source was found (by a poll or a
 * webhook-triggered fetch), until a group using the source applied it. Bounded memory.
 */
export class CommitLatency {
  readonly #detected = new Map<string, number>();
  readonly #clock: Clock;
  readonly #observe: (seconds: number, group: string) => void;

  constructor(clock: Clock, observe: (seconds: number, group: string) => void) {
    this.#clock = clock;
    this.#observe = observe;
  }

  detected(kind: string, namespace: string, source: string, revision: string, at: Date): void {
    this.#detected.set(`${kind}/${namespace}/${source}|${revision}`, at.getTime());
    if (this.#detected.size > DETECTED_LIMIT) {
      const oldest = this.#detected.keys().next().value;
      if (oldest !== undefined) this.#detected.delete(oldest);
    }
  }

  applied(group: AppGroup, revision: string): void {
    const kind = group.spec.sourceRef.kind ?? 'GitSource';
    const at = this.#detected.get(
      `${kind}/${group.metadata.namespace}/${group.spec.sourceRef.name}|${revision}`,
    );
    if (at !== undefined)
      this.#observe(
        (this.#clock.now().getTime() - at) / 1000,
        `${group.metadata.namespace}/${group.metadata.name}`,
      );
  }
}
