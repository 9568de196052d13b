// Signed URLs through the running fixture, signed by @aws-sdk/cloudfront-signer (what our worker uses):
// every URL CloudFront refuses is refused with CloudFront's status and XML body.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/cloudfront-signer';
import { makeS3Client } from '../../helpers/s3.js';
import { uniqueName } from '../../helpers/names.js';
import { cdnPath } from '../../../src/common/naming.js';
import { addTrustedKey, clearTrustedKeys } from './client.js';
import { cdnEndpoint, rawRequest, rsaKeyPair, type RawResponse } from './testing.js';

const s3 = makeS3Client();
const bucket = uniqueName('cdnsig');
const openBucket = uniqueName('cdnopen');
const KID = 'K2JCJMDEHXQW5F';
const KID2 = 'K3SECONDKEYPAIR';
const keys = rsaKeyPair();
const keys2 = rsaKeyPair();
const stranger = rsaKeyPair();
const ODD = 'odd/a b+c%d#e?f!(g)*\'h/ünï/日本//x./%2E/./..';
const inMinutes = (m: number): string => new Date(Date.now() + m * 60_000).toISOString();
const url = (key: string, b = bucket): string => `${cdnEndpoint()}/${b}/${cdnPath(key, { replace_key_parts: {} })}`;
const sign = (key: string, opts: { privateKey?: string; keyPairId?: string; dateLessThan?: string; dateGreaterThan?: string } = {}): string =>
  getSignedUrl({ url: url(key), keyPairId: opts.keyPairId ?? KID, privateKey: opts.privateKey ?? keys.privateKeyPem, dateLessThan: opts.dateLessThan ?? inMinutes(5), dateGreaterThan: opts.dateGreaterThan });

function expectRefused(r: RawResponse, message: string, code = 'AccessDenied'): void {
  expect(r.status).toBe(403);
  expect(r.headers['content-type']).toBe('text/xml');
  expect(r.headers['x-cache']).toBe('Error from cloudfront');
  expect(r.body.toString()).toBe(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}

beforeAll(async () => {
  for (const b of [bucket, openBucket]) await s3.send(new CreateBucketCommand({ Bucket: b }));
  for (const key of ['a.txt', 'dir/b.txt', 'dir/sub/c.txt', ODD]) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `body of ${key}` }));
  await s3.send(new PutObjectCommand({ Bucket: openBucket, Key: 'open.txt', Body: 'open' }));
  await addTrustedKey(cdnEndpoint(), { bucket, keyPairId: KID, publicKeyPem: keys.publicKeyPem });
  await addTrustedKey(cdnEndpoint(), { bucket, keyPairId: KID2, publicKeyPem: keys2.publicKeyPem });
});

afterAll(async () => {
  await clearTrustedKeys(cdnEndpoint(), bucket);
});

describe('CDN fixture: signed URLs', () => {
  it('serves a canned-policy URL, with either trusted key, including a key full of odd characters', async () => {
    const r = await rawRequest(sign('a.txt'));
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('body of a.txt');
    expect((await rawRequest(sign('a.txt', { keyPairId: KID2, privateKey: keys2.privateKeyPem }))).status).toBe(200);
    const odd = await rawRequest(sign(ODD));
    expect(odd.status).toBe(200);
    expect(odd.body.toString()).toBe(`body of ${ODD}`);
  });

  it('serves a custom policy with a wildcard resource for every key under it', async () => {
    const policy = JSON.stringify({ Statement: [{ Resource: `${cdnEndpoint()}/${bucket}/*`, Condition: { DateLessThan: { 'AWS:EpochTime': Math.floor(Date.now() / 1000) + 300 } } }] });
    for (const key of ['a.txt', 'dir/b.txt', 'dir/sub/c.txt', ODD]) {
      const signed = getSignedUrl({ url: url(key), keyPairId: KID, privateKey: keys.privateKeyPem, policy });
      expect(signed).toContain('Policy=');
      const r = await rawRequest(signed);
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe(`body of ${key}`);
    }
    // A validly signed policy for dir/* does not open keys outside dir/.
    const dirOnly = JSON.stringify({ Statement: [{ Resource: `${cdnEndpoint()}/${bucket}/dir/*`, Condition: { DateLessThan: { 'AWS:EpochTime': Math.floor(Date.now() / 1000) + 300 } } }] });
    const signed = getSignedUrl({ url: url('dir/b.txt'), keyPairId: KID, privateKey: keys.privateKeyPem, policy: dirOnly });
    expect((await rawRequest(signed)).status).toBe(200);
    expectRefused(await rawRequest(signed.replace('/dir/b.txt', '/a.txt')), 'Access denied');
  });

  it('refuses a signed URL whose dot segments a WHATWG client (global fetch) folded: send signed URLs raw', async () => {
    // getSignedUrl re-encodes each segment, turning cdnPath's %2E back into a literal `.`.
    const signed = sign(ODD);
    expect(signed).toContain('/./..?');
    expect((await fetch(signed)).status).toBe(403);
    expect((await rawRequest(signed)).status).toBe(200);
  });

  it('checks IpAddress against the viewer address (127.0.0.1 here)', async () => {
    const signFrom = (cidr: string): string =>
      getSignedUrl({ url: url('a.txt'), keyPairId: KID, privateKey: keys.privateKeyPem, dateLessThan: inMinutes(5), ipAddress: cidr });
    expect((await rawRequest(signFrom('127.0.0.1/32'))).status).toBe(200);
    expectRefused(await rawRequest(signFrom('10.0.0.0/8')), 'Access denied');
  });

  it('refuses tampering, expiry, early use, unknown or wrong keys and missing params', async () => {
    const good = sign('dir/b.txt');
    const sig = /Signature=([^&]+)/.exec(good)![1];
    const tampered = sig.slice(0, 20) + (sig[20] === 'A' ? 'B' : 'A') + sig.slice(21);
    expectRefused(await rawRequest(good.replace(sig, tampered)), 'Access denied');
    expectRefused(await rawRequest(good.replace('/dir/b.txt', '/dir/sub/c.txt')), 'Access denied');
    expectRefused(await rawRequest(sign('dir/b.txt', { dateLessThan: inMinutes(-1) })), 'Access denied');
    expectRefused(await rawRequest(sign('dir/b.txt', { dateGreaterThan: inMinutes(10), dateLessThan: inMinutes(20) })), 'Access denied');
    expectRefused(await rawRequest(sign('dir/b.txt', { keyPairId: 'KNOTREGISTERED' })), 'Unknown Key');
    expectRefused(await rawRequest(sign('dir/b.txt', { privateKey: stranger.privateKeyPem })), 'Access denied');
    expectRefused(await rawRequest(good.replace(/&Key-Pair-Id=[^&]+/, '')), 'Missing Key-Pair-Id query parameter or cookie value');
    expectRefused(await rawRequest(url('dir/b.txt')), 'Missing Key-Pair-Id query parameter or cookie value');
    expectRefused(await rawRequest(good.replace(/Expires=\d+&/, '')), 'Malformed Policy', 'MalformedPolicy');
    const head = await rawRequest(url('dir/b.txt'), { method: 'HEAD' });
    expect(head.status).toBe(403);
    expect(head.body.length).toBe(0);
  });

  it('serves an unrestricted bucket unsigned, and a bucket whose keys were cleared', async () => {
    const open = await rawRequest(url('open.txt', openBucket));
    expect(open.status).toBe(200);
    expect(open.body.toString()).toBe('open');
    const other = uniqueName('cdntmp');
    await s3.send(new CreateBucketCommand({ Bucket: other }));
    await s3.send(new PutObjectCommand({ Bucket: other, Key: 'k', Body: 'v' }));
    await addTrustedKey(cdnEndpoint(), { bucket: other, keyPairId: KID, publicKeyPem: keys.publicKeyPem });
    expect((await rawRequest(url('k', other))).status).toBe(403);
    await clearTrustedKeys(cdnEndpoint(), other);
    expect((await rawRequest(url('k', other))).status).toBe(200);
  });

  it('rejects a trusted key that is not an RSA public key', async () => {
    await expect(addTrustedKey(cdnEndpoint(), { bucket, keyPairId: 'KBAD', publicKeyPem: 'not a key' })).rejects.toThrow(/400.*not a PEM public key/);
  });
});
