// The one HTTP client of the copy path: an undici Agent (a keep-alive pool per origin) shared by the CDN
// downloads and the GCS uploads, and the error every non-2xx answer becomes, so classify() can decide.
import { Agent, type Dispatcher } from 'undici';

export class HttpStatusError extends Error {
  constructor(
    readonly statusCode: number,
    what: string,
    detail = '',
    /** The service's own error code (S3's `<Code>`), when the body named one. */
    readonly serviceCode?: string,
  ) {
    super(`${what}: HTTP ${statusCode}${detail ? ` ${detail}` : ''}`);
    this.name = 'HttpStatusError';
  }
}

export interface HttpOptions {
  /** Sockets per origin; at least the object concurrency, so no transfer waits for a socket. */
  connectionsPerOrigin: number;
  /** A stalled response (no bytes for this long) fails and is retried. */
  idleTimeoutMs?: number;
}

export function createHttp(o: HttpOptions): Agent {
  return new Agent({
    connections: o.connectionsPerOrigin,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 120_000,
    headersTimeout: o.idleTimeoutMs ?? 120_000,
    bodyTimeout: o.idleTimeoutMs ?? 120_000,
  });
}

/** Reads an error body for the message (bounded: error bodies are small, but never trust that). */
export async function errorText(body: Dispatcher.ResponseData['body']): Promise<string> {
  let text = '';
  try {
    for await (const chunk of body) {
      if (text.length < 500) text += (chunk as Buffer).toString('utf8');
    }
  } catch {
    /* the status is the error; a broken error body adds nothing */
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}

/** Throws HttpStatusError unless the status is one of `ok`; drains the body on failure. */
export async function expectStatus(res: Dispatcher.ResponseData, ok: number[], what: string): Promise<void> {
  if (ok.includes(res.statusCode)) return;
  throw new HttpStatusError(res.statusCode, what, await errorText(res.body));
}

export function header(res: Dispatcher.ResponseData, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
