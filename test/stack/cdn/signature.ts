// CloudFront signed-URL verification, pure: the fixture must refuse every URL the real CloudFront
// refuses, or a signing bug in our client would only show up in production.
//
// What CloudFront checks, in order: Key-Pair-Id present, key known to the distribution, a policy that
// decodes (canned: rebuilt from Expires and the request URL; custom: URL-safe base64 JSON), the RSA
// signature over the exact policy bytes, then the policy's conditions against the request.
import { createVerify, type KeyObject } from 'node:crypto';

/** Query parameters CloudFront consumes; they are not part of the signed resource URL. */
export const SIGNING_PARAMS = ['Expires', 'Signature', 'Policy', 'Key-Pair-Id', 'Hash-Algorithm'] as const;

export interface SignedRequest {
  /** scheme://host/path?query as the viewer sent it (raw encoding), minus the signing params. */
  resourceUrl: string;
  /** Decoded values of the signing params present in the query. */
  params: Partial<Record<(typeof SIGNING_PARAMS)[number], string>>;
  /** IPv4 address of the viewer. */
  sourceIp: string;
  nowEpochSeconds: number;
}

export type Verdict = { ok: true } | { ok: false; code: 'AccessDenied' | 'MalformedPolicy'; message: string };

const denied = (message = 'Access denied'): Verdict => ({ ok: false, code: 'AccessDenied', message });
const malformed: Verdict = { ok: false, code: 'MalformedPolicy', message: 'Malformed Policy' };

/**
 * Splits a raw query string into the signing params (decoded) and the rest (kept byte for byte, in
 * order, because the signed resource is compared as the viewer encoded it).
 */
export function splitQuery(rawQuery: string): { params: SignedRequest['params']; rest: string } {
  const params: SignedRequest['params'] = {};
  const rest: string[] = [];
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = eq === -1 ? pair : pair.slice(0, eq);
    const signing = SIGNING_PARAMS.find((p) => p === name);
    if (!signing) {
      rest.push(pair);
      continue;
    }
    const raw = eq === -1 ? '' : pair.slice(eq + 1);
    try {
      params[signing] = decodeURIComponent(raw);
    } catch {
      params[signing] = raw;
    }
  }
  return { params, rest: rest.join('&') };
}

/** The URL CloudFront matches policies against: the Host the viewer used, the raw path and the other params. */
export function resourceUrl(host: string, rawPathAndQuery: string, scheme = 'http'): { url: string; params: SignedRequest['params'] } {
  const q = rawPathAndQuery.indexOf('?');
  const path = q === -1 ? rawPathAndQuery : rawPathAndQuery.slice(0, q);
  const { params, rest } = splitQuery(q === -1 ? '' : rawPathAndQuery.slice(q + 1));
  return { url: `${scheme}://${host}${path}${rest ? `?${rest}` : ''}`, params };
}

/** URL-safe base64 as CloudFront writes it: + -> -, = -> _, / -> ~. */
export function fromUrlSafeBase64(s: string): Buffer | undefined {
  const std = s.replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/');
  if (!/^[A-Za-z0-9+/]*=*$/.test(std)) return undefined;
  return Buffer.from(std, 'base64');
}

/** The canned policy CloudFront rebuilds from the request: byte-identical to what signers sign. */
export function cannedPolicy(url: string, expiresEpochSeconds: number): string {
  return JSON.stringify({ Statement: [{ Resource: url, Condition: { DateLessThan: { 'AWS:EpochTime': expiresEpochSeconds } } }] });
}

/** CloudFront resource wildcards: `*` any run of characters (including `/`), `?` exactly one. */
export function resourceMatches(pattern: string, url: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[\\s\\S]*').replace(/\?/g, '[\\s\\S]');
  return new RegExp(`^${re}$`).test(url);
}

/** IPv4 CIDR membership ("a.b.c.d" or "a.b.c.d/n"); anything else never matches. */
export function ipInCidr(ip: string, cidr: string): boolean {
  const toInt = (s: string): number | undefined => {
    const parts = s.split('.');
    if (parts.length !== 4) return undefined;
    let n = 0;
    for (const p of parts) {
      if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
      n = n * 256 + Number(p);
    }
    return n;
  };
  const [net, bitsText = '32'] = cidr.split('/');
  const bits = Number(bitsText);
  const a = toInt(ip.replace(/^::ffff:/, ''));
  const b = toInt(net);
  if (a === undefined || b === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const size = 2 ** (32 - bits);
  return Math.floor(a / size) === Math.floor(b / size);
}

interface Statement {
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown> | undefined>;
}

const epoch = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) ? v : undefined);

/** Decides one request. `keys` are the distribution's trusted public keys by Key-Pair-Id. */
export function verifySignedRequest(req: SignedRequest, keys: ReadonlyMap<string, KeyObject>): Verdict {
  const { params } = req;
  if (!params['Key-Pair-Id']) return denied('Missing Key-Pair-Id query parameter or cookie value');
  const key = keys.get(params['Key-Pair-Id']);
  if (!key) return denied('Unknown Key');

  let policyText: string;
  if (params.Policy !== undefined) {
    const bytes = fromUrlSafeBase64(params.Policy);
    if (!bytes || bytes.length === 0) return malformed;
    policyText = bytes.toString('utf8');
  } else if (params.Expires !== undefined) {
    if (!/^\d+$/.test(params.Expires)) return malformed;
    policyText = cannedPolicy(req.resourceUrl, Number(params.Expires));
  } else {
    return malformed;
  }
  let statement: Statement;
  try {
    const doc = JSON.parse(policyText) as { Statement?: unknown };
    if (!Array.isArray(doc.Statement) || doc.Statement.length !== 1 || typeof doc.Statement[0] !== 'object' || !doc.Statement[0]) return malformed;
    statement = doc.Statement[0] as Statement;
  } catch {
    return malformed;
  }
  const lessThan = epoch(statement.Condition?.DateLessThan?.['AWS:EpochTime']);
  if (lessThan === undefined) return malformed;
  if (statement.Resource !== undefined && typeof statement.Resource !== 'string') return malformed;

  const sig = params.Signature === undefined ? undefined : fromUrlSafeBase64(params.Signature);
  if (!sig || sig.length === 0) return denied();
  const algorithm = params['Hash-Algorithm'] === 'SHA256' ? 'RSA-SHA256' : params['Hash-Algorithm'] === undefined ? 'RSA-SHA1' : undefined;
  if (!algorithm) return malformed;
  let valid = false;
  try {
    valid = createVerify(algorithm).update(policyText).verify(key, sig);
  } catch {
    valid = false;
  }
  if (!valid) return denied();

  if (req.nowEpochSeconds >= lessThan) return denied();
  const greaterThan = statement.Condition?.DateGreaterThan;
  if (greaterThan !== undefined) {
    const t = epoch(greaterThan['AWS:EpochTime']);
    if (t === undefined) return malformed;
    if (req.nowEpochSeconds < t) return denied();
  }
  const ip = statement.Condition?.IpAddress;
  if (ip !== undefined) {
    const cidr = ip['AWS:SourceIp'];
    if (typeof cidr !== 'string') return malformed;
    if (!ipInCidr(req.sourceIp, cidr)) return denied();
  }
  // An omitted Resource covers every object of the distributions trusting this key.
  if (typeof statement.Resource === 'string' && !resourceMatches(statement.Resource, req.resourceUrl)) return denied();
  return { ok: true };
}
