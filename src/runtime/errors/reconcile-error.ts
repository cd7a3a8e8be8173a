/** A failure worth retrying with backoff (the default class): the API server, git, the network. */
export class ReconcileError extends Error {
  override readonly name: string = 'ReconcileError';
  /** CamelCase reason for the Ready condition and the Warning event. */
  readonly reason: string;

  constructor(reason: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.reason = reason;
  }
}
