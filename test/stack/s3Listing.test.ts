// ListObjects with encoding-type=url, as S3 answers it: keys (and Prefix, Delimiter, StartAfter, Marker,
// CommonPrefixes) URL-encoded in the XML, so keys holding characters XML 1.0 cannot carry (\x01, \x7f)
// or folds (CR becomes LF in any XML parser) round-trip. @aws-sdk/client-s3 does NOT decode them: the
// caller must (`decodeURIComponent(v.replace(/\+/g, ' '))`). Stock s3rver ignored encoding-type.
import { beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, type ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { makeS3Client } from '../helpers/s3.js';
import { uniqueName } from '../helpers/names.js';
import { rawS3 } from './s3Testing.js';

const s3 = makeS3Client();
const bucket = uniqueName('s3enc');
const KEYS = ['enc/ctl-\x01-x', 'enc/del-\x7f-x', 'enc/cr-\r-x', 'enc/lf-\n-x', 'enc/crlf-\r\n-x', 'enc/sp ace+plus%pct', 'enc/ünï 日本', 'enc/dir one/inner'];
const decode = (v: string): string => decodeURIComponent(v.replace(/\+/g, ' '));
const bytewise = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

beforeAll(async () => {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const Key of KEYS) await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'x' }));
});

describe('S3 emulator: ListObjectsV2 encoding-type=url', () => {
  it('encodes every key; decoded, they are exactly the keys written, in order, across pages', async () => {
    const keys: string[] = [];
    let token: string | undefined;
    let page: ListObjectsV2CommandOutput;
    do {
      page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'enc/', EncodingType: 'url', MaxKeys: 3, ContinuationToken: token }));
      expect(page.EncodingType).toBe('url');
      keys.push(...(page.Contents ?? []).map((c) => c.Key!));
      token = page.NextContinuationToken;
    } while (page.IsTruncated);
    // What the SDK hands over is still encoded: nothing in it needs XML escaping or could be folded.
    expect(keys.every((k) => /^[A-Za-z0-9.\-_*%+/]+$/.test(k))).toBe(true);
    expect(keys.map(decode)).toEqual([...KEYS].sort(bytewise));
    expect(keys).toContain('enc/cr-%0D-x');
    expect(keys).toContain('enc/sp+ace%2Bplus%25pct');
  });

  it('encodes Prefix, Delimiter, StartAfter and CommonPrefixes too', async () => {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'enc/', Delimiter: ' ', EncodingType: 'url', StartAfter: 'enc/cr-\r-x' }));
    expect([r.Prefix, r.Delimiter, r.StartAfter]).toEqual(['enc/', '+', 'enc/cr-%0D-x']);
    expect(r.CommonPrefixes?.map((p) => decode(p.Prefix!))).toEqual(['enc/dir ', 'enc/sp ', 'enc/ünï ']);
    const low = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'enc/sp ace+', EncodingType: 'url' }));
    expect([low.Prefix, low.Contents?.map((c) => c.Key)]).toEqual(['enc/sp+ace%2B', ['enc/sp+ace%2Bplus%25pct']]);
  });

  it('on the wire: <EncodingType>url</EncodingType> after Delimiter, %-escapes in <Key>, V1 Marker encoded; other values are 400', async () => {
    const v2 = await rawS3('GET', `/${bucket}?list-type=2&prefix=enc%2Fctl&delimiter=%2F&encoding-type=url`);
    const xml = v2.body.toString();
    expect(v2.status).toBe(200);
    expect(xml).toMatch(/<Delimiter>\/<\/Delimiter><EncodingType>url<\/EncodingType><IsTruncated>/);
    expect(xml).toContain('<Key>enc/ctl-%01-x</Key>');
    const v1 = await rawS3('GET', `/${bucket}?prefix=enc%2F&marker=enc%2Fcr-%0D-x&max-keys=1&encoding-type=url`);
    expect(v1.body.toString()).toContain('<Marker>enc/cr-%0D-x</Marker>');
    const bad = await rawS3('GET', `/${bucket}?list-type=2&encoding-type=base64`);
    expect([bad.status, bad.body.toString().includes('<Code>InvalidArgument</Code>')]).toEqual([400, true]);
  });
});
