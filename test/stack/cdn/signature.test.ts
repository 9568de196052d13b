// Policy parsing and verification without a server: URLs signed by @aws-sdk/cloudfront-signer must pass,
// and every way a real CloudFront refuses a URL must be refused here with CloudFront's reason.
import { describe, expect, it } from 'vitest';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { getSignedUrl } from '@aws-sdk/cloudfront-signer';
import { cannedPolicy, ipInCidr, resourceMatches, resourceUrl, verifySignedRequest, type Verdict } from './signature.js';

const pair = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
const other = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
const KID = 'K2JCJMDEHXQW5F';
const keys = new Map<string, KeyObject>([[KID, createPublicKey(pair.publicKey)]]);
const HOST = '127.0.0.1:8443';
const NOW = 1_800_000_000;
const at = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString();

/** Verifies a full signed URL the way the server does: from the Host header and the raw request target. */
function check(signedUrl: string, opts: { now?: number; ip?: string } = {}): Verdict {
  const target = signedUrl.slice(signedUrl.indexOf('/', 'http://'.length));
  const { url, params } = resourceUrl(HOST, target);
  return verifySignedRequest({ resourceUrl: url, params, sourceIp: opts.ip ?? '127.0.0.1', nowEpochSeconds: opts.now ?? NOW }, keys);
}

const base = `http://${HOST}/bkt/dir/a%20b%2Bc.bin`;
const signCanned = (url = base, privateKey = pair.privateKey, keyPairId = KID): string => getSignedUrl({ url, keyPairId, privateKey, dateLessThan: at(NOW + 60) });
const signCustom = (policy: object, url = base): string => getSignedUrl({ url, keyPairId: KID, privateKey: pair.privateKey, policy: JSON.stringify(policy) });
const policy = (resource: string, cond: Record<string, unknown> = {}): object => ({
  Statement: [{ Resource: resource, Condition: { DateLessThan: { 'AWS:EpochTime': NOW + 60 }, ...cond } }],
});
const DENIED = { ok: false, code: 'AccessDenied', message: 'Access denied' };

describe('canned policy', () => {
  it('accepts a URL signed by @aws-sdk/cloudfront-signer, and the policy we rebuild is what it signed', () => {
    const signed = signCanned();
    expect(signed).toContain('Expires=');
    expect(check(signed)).toEqual({ ok: true });
    expect(cannedPolicy(base, 5)).toBe(`{"Statement":[{"Resource":"${base}","Condition":{"DateLessThan":{"AWS:EpochTime":5}}}]}`);
  });

  it('keeps other query params in the signed resource', () => {
    const signed = signCanned(`${base}?x-id=1&b=2`);
    expect(check(signed)).toEqual({ ok: true });
    expect(check(signed.replace('b=2', 'b=3'))).toEqual(DENIED);
  });

  it('refuses expiry, tampering, unknown and wrong keys, missing params', () => {
    const signed = signCanned();
    expect(check(signed, { now: NOW + 60 })).toEqual(DENIED);
    expect(check(signed.replace('/dir/', '/dix/'))).toEqual(DENIED);
    expect(check(signed.replace(/Expires=\d+/, `Expires=${NOW + 3600}`))).toEqual(DENIED);
    const sig = /Signature=([^&]+)/.exec(signed)![1];
    const flipped = (sig[10] === 'A' ? 'B' : 'A') + sig.slice(11);
    expect(check(signed.replace(sig, sig.slice(0, 10) + flipped))).toEqual(DENIED);
    expect(check(signCanned(base, other.privateKey))).toEqual(DENIED);
    expect(check(signCanned(base, pair.privateKey, 'KUNKNOWN'))).toEqual({ ok: false, code: 'AccessDenied', message: 'Unknown Key' });
    expect(check(signed.replace(/&?Key-Pair-Id=[^&]+/, ''))).toEqual({ ok: false, code: 'AccessDenied', message: 'Missing Key-Pair-Id query parameter or cookie value' });
    expect(check(base)).toEqual({ ok: false, code: 'AccessDenied', message: 'Missing Key-Pair-Id query parameter or cookie value' });
    expect(check(signed.replace(/Signature=[^&]+&?/, ''))).toEqual(DENIED);
    expect(check(signed.replace(/Expires=\d+&?/, ''))).toEqual({ ok: false, code: 'MalformedPolicy', message: 'Malformed Policy' });
  });

  it('verifies SHA256 signatures when Hash-Algorithm says so', () => {
    const signed = getSignedUrl({ url: base, keyPairId: KID, privateKey: pair.privateKey, dateLessThan: at(NOW + 60), algorithm: 'SHA256' });
    expect(signed).toContain('Hash-Algorithm=SHA256');
    expect(check(signed)).toEqual({ ok: true });
    expect(check(signed.replace('&Hash-Algorithm=SHA256', ''))).toEqual(DENIED);
  });
});

describe('custom policy', () => {
  it('accepts a wildcard resource for every key under it', () => {
    const p = policy(`http://${HOST}/bkt/*`);
    for (const key of ['dir/a%20b%2Bc.bin', 'x', 'deep/er/still%2Fodd']) {
      expect(check(signCustom(p, `http://${HOST}/bkt/${key}`))).toEqual({ ok: true });
    }
    const signed = signCustom(p);
    expect(signed).toContain('Policy=');
    expect(check(signed.replace('/bkt/', '/other/'))).toEqual(DENIED);
  });

  it('honours DateGreaterThan and IpAddress', () => {
    expect(check(signCustom(policy(base, { DateGreaterThan: { 'AWS:EpochTime': NOW + 10 } })))).toEqual(DENIED);
    expect(check(signCustom(policy(base, { DateGreaterThan: { 'AWS:EpochTime': NOW - 10 } })))).toEqual({ ok: true });
    expect(check(signCustom(policy(base, { IpAddress: { 'AWS:SourceIp': '127.0.0.0/8' } })))).toEqual({ ok: true });
    expect(check(signCustom(policy(base, { IpAddress: { 'AWS:SourceIp': '10.0.0.0/8' } })))).toEqual(DENIED);
  });

  it('reports a policy that does not decode or lacks DateLessThan as malformed', () => {
    const MALFORMED = { ok: false, code: 'MalformedPolicy', message: 'Malformed Policy' };
    expect(check(signCustom({ Statement: [{ Resource: base, Condition: {} }] }))).toEqual(MALFORMED);
    expect(check(signCustom(policy(base)).replace(/Policy=[^&]+/, 'Policy=bm90IGpzb24_'))).toEqual(MALFORMED);
    expect(check(signCustom(policy(base)).replace(/Policy=[^&]+/, 'Policy=%21%21'))).toEqual(MALFORMED);
  });
});

describe('helpers', () => {
  it('matches CloudFront wildcards', () => {
    expect(resourceMatches('http://h/b/*', 'http://h/b/x/y?z=1')).toBe(true);
    expect(resourceMatches('http://h/b/?.txt', 'http://h/b/a.txt')).toBe(true);
    expect(resourceMatches('http://h/b/?.txt', 'http://h/b/ab.txt')).toBe(false);
    expect(resourceMatches('http://h/b/a.txt', 'http://h/b/aXtxt')).toBe(false);
    expect(resourceMatches('*', 'anything')).toBe(true);
  });

  it('checks IPv4 CIDRs', () => {
    expect(ipInCidr('::ffff:127.0.0.1', '127.0.0.1/32')).toBe(true);
    expect(ipInCidr('127.0.0.2', '127.0.0.1')).toBe(false);
    expect(ipInCidr('192.168.1.7', '192.168.0.0/16')).toBe(true);
  });
});
