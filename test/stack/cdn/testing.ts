// Test helpers for the CDN fixture: a raw HTTP client that sends the request target byte for byte (no
// WHATWG URL folding of `%2E` segments, as global fetch would do) and reports a broken body instead of
// throwing, and an RSA key pair like the ones CloudFront key groups hold.
import { request } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** Set when the connection broke (reset, or closed before Content-Length bytes arrived). */
  error?: Error;
}

export function cdnEndpoint(): string {
  const e = process.env.OTT_CDN_ENDPOINT;
  if (!e) throw new Error('OTT_CDN_ENDPOINT is not set: is the local stack running with the cdn service?');
  return e;
}

/** `target` is the raw path and query, or a full URL on the fixture (as getSignedUrl returns). */
export function rawRequest(target: string, opts: { method?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<RawResponse> {
  const endpoint = cdnEndpoint();
  const path = target.startsWith(endpoint) ? target.slice(endpoint.length) : target;
  const { hostname, port } = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false, timeout: opts.timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      const done = (error?: Error): void => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), error });
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done(res.complete ? undefined : new Error('body ended before Content-Length bytes')));
      res.on('error', (err) => done(err));
      res.on('aborted', () => done(new Error('response aborted')));
    });
    req.on('timeout', () => req.destroy(new Error(`no response within ${opts.timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export function rsaKeyPair(): { publicKeyPem: string; privateKeyPem: string } {
  const k = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  return { publicKeyPem: k.publicKey, privateKeyPem: k.privateKey };
}
