// Runs parseManifests in a worker thread (see parse-in-worker.ts); errors travel as plain data.
import { parentPort, workerData } from 'node:worker_threads';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import type { ManifestFile } from './manifest-file.ts';
import { type ParseBudget, parseManifests } from './parse-manifests.ts';

const { files, budget } = workerData as { files: ManifestFile[]; budget: ParseBudget };
try {
  parentPort?.postMessage({ ok: parseManifests(files, budget) });
} catch (err) {
  parentPort?.postMessage({
    error: {
      reason: err instanceof ReconcileError ? err.reason : undefined,
      message: err instanceof Error ? err.message : String(err),
    },
  });
}
