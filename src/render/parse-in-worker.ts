import { Worker } from 'node:worker_threads';
import { REASON } from '../api/conditions.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import type { ManifestFile } from './manifest-file.ts';
import { DEFAULT_PARSE_BUDGET, type ParseBudget, type RenderedObject } from './parse-manifests.ts';

export interface WorkerLimits {
  /** A parse is abandoned (and the worker replaced) after this long. */
  timeoutMs: number;
  /** V8 heap cap of the worker, in MB: a memory bomb kills the worker, not the operator. */
  maxOldGenerationSizeMb: number;
}

export const DEFAULT_WORKER_LIMITS: WorkerLimits = { timeoutMs: 10_000, maxOldGenerationSizeMb: 512 };

const WORKER = new URL('./parse-worker-main.ts', import.meta.url);

type Reply = { id: number; ok?: RenderedObject[]; error?: { reason?: string; message: string } };

/**
 * parseManifests in a long-lived worker thread with a deadline and a heap cap, so that hostile YAML
 * cannot stall the event loop that serves webhooks, probes and other reconciles. Jobs run one at a
 * time; a job past its deadline terminates the worker, and the next job starts a fresh one. Same
 * results and errors as the pure function; a timeout or a crash is ParseFailed.
 */
export class ManifestParser {
  readonly #limits: WorkerLimits;
  #worker: Worker | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #nextId = 0;

  constructor(limits: WorkerLimits = DEFAULT_WORKER_LIMITS) {
    this.#limits = limits;
  }

  parse(
    files: readonly ManifestFile[],
    budget: ParseBudget = DEFAULT_PARSE_BUDGET,
  ): Promise<RenderedObject[]> {
    const run = this.#queue.catch(() => {}).then(() => this.#run(files, budget));
    this.#queue = run;
    return run;
  }

  #spawn(): Worker {
    const worker = new Worker(WORKER, {
      resourceLimits: { maxOldGenerationSizeMb: this.#limits.maxOldGenerationSizeMb },
    });
    worker.unref();
    return worker;
  }

  #run(files: readonly ManifestFile[], budget: ParseBudget): Promise<RenderedObject[]> {
    this.#worker ??= this.#spawn();
    const worker = this.#worker;
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const discard = () => {
        if (this.#worker === worker) this.#worker = undefined;
        void worker.terminate();
      };
      const onMessage = (m: Reply) => {
        if (m.id !== id) return;
        cleanup();
        if (m.ok) resolve(m.ok);
        else
          reject(
            new ReconcileError(m.error?.reason ?? REASON.ParseFailed, m.error?.message ?? 'parse failed'),
          );
      };
      const onError = (err: Error) => {
        cleanup();
        discard();
        reject(new ReconcileError(REASON.ParseFailed, `the parser failed: ${err.message}`));
      };
      const onExit = (code: number) => {
        cleanup();
        discard();
        reject(new ReconcileError(REASON.ParseFailed, `the parser exited (${code}) without a result`));
      };
      const timer = setTimeout(() => {
        cleanup();
        discard();
        reject(
          new ReconcileError(
            REASON.ParseFailed,
            `parsing took longer than ${this.#limits.timeoutMs / 1000}s; abandoned`,
          ),
        );
      }, this.#limits.timeoutMs);
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.postMessage({ id, files, budget });
    });
  }

  /** Stops the worker (it is started again by the next parse). */
  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = undefined;
    if (w) await w.terminate();
  }
}
