// Client side of the CDN fixture's control plane, for tests and benchmarks.
import type { Stats } from './control.js';

const base = (endpoint: string): string => endpoint.replace(/\/$/, '');

async function call(endpoint: string, method: string, path: string, body?: unknown): Promise<Response> {
  const res = await fetch(`${base(endpoint)}${path}`, {
    method,
    headers: body === undefined ? undefined : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`CDN fixture ${method} ${path}: HTTP ${res.status} ${await res.text()}`);
  return res;
}

/** Restricts viewer access to `bucket`: from now on only URLs signed with a trusted key are served. */
export async function addTrustedKey(endpoint: string, key: { bucket: string; keyPairId: string; publicKeyPem: string }): Promise<void> {
  await call(endpoint, 'POST', '/__trusted-keys', key);
}

/** Lifts the restriction on `bucket` (or on every bucket). */
export async function clearTrustedKeys(endpoint: string, bucket?: string): Promise<void> {
  await call(endpoint, 'DELETE', `/__trusted-keys${bucket === undefined ? '' : `?bucket=${encodeURIComponent(bucket)}`}`);
}

/** Caps every connection's response bodies at `bytesPerSecondPerConnection` (global to the fixture: use your own instance). */
export async function setThrottle(endpoint: string, bytesPerSecondPerConnection: number): Promise<void> {
  await call(endpoint, 'POST', '/__throttle', { bytesPerSecondPerConnection });
}

/** Lifts the cap: bodies go as fast as the fixture can send them. */
export async function clearThrottle(endpoint: string): Promise<void> {
  await call(endpoint, 'DELETE', '/__throttle');
}

/** The cap in force, or null. */
export async function getThrottle(endpoint: string): Promise<number | null> {
  return ((await (await call(endpoint, 'GET', '/__throttle')).json()) as { bytesPerSecondPerConnection: number | null }).bytesPerSecondPerConnection;
}

export async function cdnStats(endpoint: string): Promise<Stats> {
  return (await (await call(endpoint, 'GET', '/__stats')).json()) as Stats;
}

export async function resetCdnStats(endpoint: string): Promise<void> {
  await call(endpoint, 'DELETE', '/__stats');
}

export type { Stats as CdnStats };
