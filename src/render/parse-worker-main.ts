// The manifest parser's worker thread (see parse-in-worker.ts): parses each job it is sent and
// answers with the objects or with the error as plain data.
import { parentPort } from 'node:worker_threads';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import type { ManifestFile } from './manifest-file.ts';
import { type ParseBudget, parseManifests } from './parse-manifests.ts';

parentPort?.on('message', (job: { id: number; files: ManifestFile[]; budget: ParseBudget }) => {
  try {
    parentPort?.postMessage({ id: job.id, ok: parseManifests(job.files, job.budget) });
  } catch (err) {
    parentPort?.postMessage({
      id: job.id,
      error: {
        reason: err instanceof ReconcileError ? err.reason : undefined,
        message: err instanceof Error ? err.message : String(err),
      },
    });
  }
});
