// Errors in the shape the real JSON API answers, so clients classify them exactly as against GCS.

export class GcsError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }

  get contentType(): string {
    return 'application/json; charset=UTF-8';
  }

  body(): string {
    return JSON.stringify({ error: { code: this.code, message: this.message, errors: [{ message: this.message, domain: 'global', reason: this.reason }] } });
  }
}

export const noSuchBucket = (bucket: string): GcsError => new GcsError(404, 'notFound', `The specified bucket does not exist: ${bucket}`);
export const noSuchObject = (bucket: string, name: string): GcsError => new GcsError(404, 'notFound', `No such object: ${bucket}/${name}`);
export const badRequest = (message: string): GcsError => new GcsError(400, 'invalid', message);
export const preconditionFailed = (): GcsError => new GcsError(412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.');

/** A fault-injected status, with the reason GCS gives for that status. */
export function statusError(status: number, message?: string): GcsError {
  const reasons: Record<number, string> = { 400: 'invalid', 401: 'required', 403: 'forbidden', 404: 'notFound', 408: 'requestTimeout', 409: 'conflict', 412: 'conditionNotMet', 429: 'rateLimitExceeded', 500: 'backendError', 502: 'badGateway', 503: 'backendError', 504: 'gatewayTimeout' };
  return new GcsError(status, reasons[status] ?? 'injected', message ?? `injected fault: HTTP ${status}`);
}
