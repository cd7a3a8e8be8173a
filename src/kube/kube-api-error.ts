/** An error answered by the API server (or on the way to it), with its HTTP code and reason. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  /** HTTP status; 0 when the server was not reached. */
  readonly code: number;
  /** The Status reason, such as NotFound, Conflict, Invalid or Forbidden. */
  readonly reason: string;
  /** Seconds from a Retry-After header, when the server sent one. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: number,
    reason: string,
    message: string,
    options: { cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.code = code;
    this.reason = reason;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** Normalises client-node's ApiException (whose body is the Status JSON as text) and network errors. */
  static from(err: unknown): KubeApiError {
    if (err instanceof KubeApiError) return err;
    if (isApiException(err)) {
      const status = parseStatus(err.body);
      const retry = Number(headerValue(err.headers, 'retry-after'));
      return new KubeApiError(
        err.code,
        status.reason ?? `HTTP${err.code}`,
        status.message ?? `HTTP ${err.code}`,
        {
          cause: err,
          ...(Number.isFinite(retry) && retry > 0 ? { retryAfterSeconds: retry } : {}),
        },
      );
    }
    const message = err instanceof Error ? err.message : String(err);
    return new KubeApiError(0, 'Unreachable', message, { cause: err });
  }
}

interface ApiExceptionLike {
  code: number;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
}

function isApiException(err: unknown): err is ApiExceptionLike {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { code?: unknown }).code === 'number' &&
    'body' in err
  );
}

function headerValue(headers: ApiExceptionLike['headers'] | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const v = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

function parseStatus(body: unknown): { reason?: string; message?: string } {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return { message: body.slice(0, 512) };
    }
  }
  if (typeof value === 'object' && value !== null) {
    const v = value as { reason?: unknown; message?: unknown };
    return {
      ...(typeof v.reason === 'string' ? { reason: v.reason } : {}),
      ...(typeof v.message === 'string' ? { message: v.message } : {}),
    };
  }
  return {};
}
