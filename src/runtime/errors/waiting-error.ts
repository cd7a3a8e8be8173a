import { ReconcileError } from './reconcile-error.ts';

/** Not a failure of this object: something it needs is not ready yet. Requeue after a delay, no backoff. */
export class WaitingError extends ReconcileError {
  override readonly name = 'WaitingError';
  readonly requeueAfterMs: number;

  constructor(reason: string, message: string, requeueAfterMs: number, options: { cause?: unknown } = {}) {
    super(reason, message, options);
    this.requeueAfterMs = requeueAfterMs;
  }
}
