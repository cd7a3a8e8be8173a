import { ReconcileError } from './reconcile-error.ts';

/** A failure that only a change of the spec can fix: no retry until `generation` changes. */
export class StalledError extends ReconcileError {
  override readonly name = 'StalledError';
}
