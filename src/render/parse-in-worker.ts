import { Worker } from 'node:worker_threads';
import { REASON } from '../api/conditions.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import type { ManifestFile } from './manifest-file.ts';
import { DEFAULT_PARSE_BUDGET, type ParseBudget, type RenderedObject } from './parse-manifests.ts';

export interface WorkerLimits {
  /** The parse is abandoned (the worker terminated) after this long. */
  timeoutMs: number;
  /** V8 heap cap of the worker, in MB: a memory bomb kills the worker, not the operator. */
  maxOldGenerationSizeMb: number;
}

export const DEFAULT_WORKER_LIMITS: WorkerLimits = { timeoutMs: 10_000, maxOldGenerationSizeMb: 512 };

const WORKER = new URL('./parse-worker-main.ts', import.meta.url);

/**
 * parseManifests in a worker thread with a deadline and a heap cap, so that hostile YAML cannot stall
 * the event loop that serves webhooks, probes and other reconciles. Same results and errors as the
 * pure function; a timeout or a crash of the worker is ParseFailed.
 */
export function parseInWorker(
  files: readonly ManifestFile[],
  budget: ParseBudget = DEFAULT_PARSE_BUDGET,
  limits: WorkerLimits = DEFAULT_WORKER_LIMITS,
): Promise<RenderedObject[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, {
      workerData: { files, budget },
      resourceLimits: { maxOldGenerationSizeMb: limits.maxOldGenerationSizeMb },
    });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
      void worker.terminate();
    };
    const timer = setTimeout(
      () =>
        finish(() =>
          reject(
            new ReconcileError(
              REASON.ParseFailed,
              `parsing took longer than ${limits.timeoutMs / 1000}s; abandoned`,
            ),
          ),
        ),
      limits.timeoutMs,
    );
    worker.once('message', (m: { ok?: RenderedObject[]; error?: { reason?: string; message: string } }) =>
      finish(() => {
        if (m.ok) resolve(m.ok);
        else
          reject(
            new ReconcileError(m.error?.reason ?? REASON.ParseFailed, m.error?.message ?? 'parse failed'),
          );
      }),
    );
    worker.once('error', (err) =>
      finish(() => reject(new ReconcileError(REASON.ParseFailed, `the parser failed: ${err.message}`))),
    );
    worker.once('exit', (code) =>
      finish(() =>
        reject(new ReconcileError(REASON.ParseFailed, `the parser exited (${code}) without a result`)),
      ),
    );
  });
}
