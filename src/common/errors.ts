// Errors carry behaviour, not a zoo of types: classify() decides once whether a failure is worth
// retrying, and why. Every catch site asks it; none invents its own policy.
export interface Classification {
  retryable: boolean;
  reason: string;
}

const RETRYABLE_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ENOTFOUND',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'PROTOCOL_CONNECTION_LOST', 'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'ER_CON_COUNT_ERROR', 'ER_SERVER_SHUTDOWN', 'ER_QUERY_INTERRUPTED',
]);
// gRPC: UNKNOWN 2, DEADLINE_EXCEEDED 4, RESOURCE_EXHAUSTED 8, ABORTED 10, INTERNAL 13, UNAVAILABLE 14
const RETRYABLE_GRPC = new Set([4, 8, 10, 13, 14]);

/** A failure we raised ourselves and already know the behaviour of (e.g. a checksum mismatch). */
export class TransferError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransferError';
  }
}

/**
 * A Google client's error in one readable line: google-gax appends every earlier attempt's error
 * (" : Previous errors : [...]") after a retried call runs out of time, a wall of repeats.
 */
export function googleErrorMessage(err: unknown): string {
  const e = toError(err) as Error & { details?: unknown };
  const text = e.message || String(e.details ?? '');
  return text.split(' : Previous errors')[0].replace(/\s+/g, ' ').trim();
}

/** Coerces anything thrown into an Error, once, keeping the original as cause. */
export function toError(err: unknown): Error {
  if (err instanceof Error) return err;
  return new Error(typeof err === 'string' ? err : `non-error thrown: ${JSON.stringify(err)}`, { cause: err });
}

/**
 * The HTTP status an error carries, in any client's shape: our HttpStatusError and undici (`statusCode`),
 * fetch-like `status`, the AWS SDK (`$metadata.httpStatusCode`), gaxios (`response.status`), the GCS
 * client (a numeric `code`). Looks through up to `causes` causes (a retry or a wrapper keeps the original
 * as its cause); classify() passes 0 because it walks the causes itself, naming each.
 */
export function httpStatus(thrown: unknown, causes = 5): number | undefined {
  let e = thrown;
  for (let depth = 0; e !== null && typeof e === 'object' && depth <= causes; depth++) {
    const err = e as Record<string, unknown>;
    const meta = err.$metadata as { httpStatusCode?: number } | undefined;
    const resp = err.response as { status?: number } | undefined;
    for (const v of [err.statusCode, err.status, meta?.httpStatusCode, resp?.status, typeof err.code === 'number' && err.code >= 100 ? err.code : undefined]) {
      if (typeof v === 'number' && v >= 100 && v < 600) return v;
    }
    e = err.cause;
  }
  return undefined;
}

export function classify(thrown: unknown): Classification {
  const err = toError(thrown) as Error & Record<string, unknown>;
  if (err instanceof TransferError) return { retryable: err.retryable, reason: err.message };
  if (err.name === 'AbortError') return { retryable: false, reason: 'aborted (shutting down)' };
  const code = err.code;
  if (typeof code === 'string' && RETRYABLE_CODES.has(code)) return { retryable: true, reason: `${code}: ${err.message}` };
  // gRPC status codes are small numbers on .code, with .details
  if (typeof code === 'number' && code < 100 && 'details' in err) {
    return { retryable: RETRYABLE_GRPC.has(code), reason: `gRPC ${code}: ${String(err.details || err.message)}` };
  }
  const status = httpStatus(err, 0);
  if (status !== undefined) {
    const retryable = status === 408 || status === 429 || status >= 500;
    return { retryable, reason: `HTTP ${status}: ${err.message}` };
  }
  if (/socket hang up|other side closed|terminated|premature close|ECONNRESET|timed? ?out/i.test(err.message)) {
    return { retryable: true, reason: err.message };
  }
  if (err.cause instanceof Error && err.cause !== err) {
    const inner = classify(err.cause);
    return { retryable: inner.retryable, reason: `${err.message}: ${inner.reason}` };
  }
  return { retryable: false, reason: err.message };
}
