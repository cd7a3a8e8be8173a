import { ReconcileError } from './reconcile-error.ts';

/** Not a failure of this object: something it needs is not ready yet. Requeue after a delay, no backoff. */
export class WaitingError extends ReconcileError {
  override readonly name = 'WaitingError';
  readonly requeueAfterMs: number;
  /**
   * What is awaited is this process's own preparation, not the object's or its source's state (an
   * artifact the source names but this process has not checked out yet, a source not yet looked at
   * once): for a while, the reconciler may leave the object's status as it is.
   */
  readonly local: boolean;

  constructor(
    reason: string,
    message: string,
    requeueAfterMs: number,
    options: { cause?: unknown; local?: boolean } = {},
  ) {
    super(reason, message, options.cause === undefined ? {} : { cause: options.cause });
    this.requeueAfterMs = requeueAfterMs;
    this.local = options.local === true;
  }
}
