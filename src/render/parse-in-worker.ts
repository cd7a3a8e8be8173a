import { Worker } from 'node:worker_threads';
import { REASON } from '../api/conditions.ts';
import { type Clock, realClock } from '../runtime/clock.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import type { ManifestFile } from './manifest-file.ts';
import { DEFAULT_PARSE_BUDGET, type ParseBudget, type RenderedObject } from './parse-manifests.ts';

export interface WorkerLimits {
  /** A parse is abandoned (and its worker replaced) after this long. */
  timeoutMs: number;
  /** V8 heap cap of each worker, in MB: a memory bomb kills the worker, not the operator. */
  maxOldGenerationSizeMb: number;
  /** Parses that run at once, each in a worker of its own: one slow file does not hold up the rest. */
  workers: number;
  /** A worker idle this long is stopped (its isolate's memory goes back), and started again on demand. */
  idleMs: number;
}

export const DEFAULT_WORKER_LIMITS: WorkerLimits = {
  timeoutMs: 10_000,
  maxOldGenerationSizeMb: 512,
  workers: 2,
  // A new revision's render after a quiet spell pays one worker start (~40 ms): pushes minutes apart
  // paid it at 30 s too, and the two isolates (~27 MiB) go back soon after a burst.
  idleMs: 15_000,
};

// Beside the sources it is their .ts file; beside the bundle (scripts/build-operator.ts), its own.
const WORKER = new URL(
  import.meta.url.endsWith('.ts') ? './parse-worker-main.ts' : './parse-worker.mjs',
  import.meta.url,
);

type Reply = { id: number; ok?: RenderedObject[]; error?: { reason?: string; message: string } };

interface Job {
  files: readonly ManifestFile[];
  budget: ParseBudget;
  resolve: (objects: RenderedObject[]) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: boolean;
  /** Cancels the idle timer. */
  idle?: () => void;
}

/**
 * parseManifests in a small pool of worker threads, each with a deadline and a heap cap, so that
 * hostile YAML cannot stall the event loop that serves webhooks, probes and other reconciles, and a
 * slow file delays only its own group. A job past its deadline terminates its worker; idle workers
 * are stopped after a while. Same results and errors as the pure function; a timeout or a crash is
 * ParseFailed.
 */
export class ManifestParser {
  readonly #limits: WorkerLimits;
  readonly #clock: Clock;
  readonly #slots = new Set<Slot>();
  readonly #waiting: Job[] = [];
  #nextId = 0;

  constructor(limits: Partial<WorkerLimits> = {}, clock: Clock = realClock) {
    this.#limits = { ...DEFAULT_WORKER_LIMITS, ...limits };
    this.#clock = clock;
  }

  /** Workers alive now (for tests and metrics). */
  get workers(): number {
    return this.#slots.size;
  }

  parse(
    files: readonly ManifestFile[],
    budget: ParseBudget = DEFAULT_PARSE_BUDGET,
  ): Promise<RenderedObject[]> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ files, budget, resolve, reject });
      this.#dispatch();
    });
  }

  #dispatch(): void {
    while (this.#waiting.length > 0) {
      let slot = [...this.#slots].find((s) => !s.busy);
      if (!slot && this.#slots.size < this.#limits.workers) slot = this.#spawn();
      if (!slot) return;
      this.#run(slot, this.#waiting.shift() as Job);
    }
  }

  #spawn(): Slot {
    const worker = new Worker(WORKER, {
      resourceLimits: { maxOldGenerationSizeMb: this.#limits.maxOldGenerationSizeMb },
    });
    worker.unref();
    const slot: Slot = { worker, busy: false };
    this.#slots.add(slot);
    return slot;
  }

  #discard(slot: Slot): void {
    slot.idle?.();
    this.#slots.delete(slot);
    void slot.worker.terminate();
  }

  #run(slot: Slot, job: Job): void {
    slot.busy = true;
    slot.idle?.();
    const { worker } = slot;
    const id = this.#nextId++;
    const finish = (crashed: boolean) => {
      cancelTimer();
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      slot.busy = false;
      if (crashed) this.#discard(slot);
      else slot.idle = this.#clock.after(this.#limits.idleMs, () => this.#discard(slot));
      this.#dispatch();
    };
    const onMessage = (m: Reply) => {
      if (m.id !== id) return;
      finish(false);
      if (m.ok) job.resolve(m.ok);
      else
        job.reject(
          new ReconcileError(m.error?.reason ?? REASON.ParseFailed, m.error?.message ?? 'parse failed'),
        );
    };
    const onError = (err: Error) => {
      finish(true);
      job.reject(new ReconcileError(REASON.ParseFailed, `the parser failed: ${err.message}`));
    };
    const onExit = (code: number) => {
      finish(true);
      job.reject(new ReconcileError(REASON.ParseFailed, `the parser exited (${code}) without a result`));
    };
    const cancelTimer = this.#clock.after(this.#limits.timeoutMs, () => {
      finish(true);
      job.reject(
        new ReconcileError(
          REASON.ParseFailed,
          `parsing took longer than ${this.#limits.timeoutMs / 1000}s; abandoned`,
        ),
      );
    });
    worker.on('message', onMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
    worker.postMessage({ id, files: job.files, budget: job.budget });
  }

  /** Stops every worker (they are started again by the next parse); waiting parses fail. */
  async close(): Promise<void> {
    for (const job of this.#waiting.splice(0))
      job.reject(new ReconcileError(REASON.ParseFailed, 'the parser stopped'));
    const slots = [...this.#slots];
    this.#slots.clear();
    await Promise.all(
      slots.map((s) => {
        s.idle?.();
        return s.worker.terminate();
      }),
    );
  }
}
