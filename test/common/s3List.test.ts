// The one S3 lister against the stack's S3 (patched s3rver answers EncodingType=url as S3 does): keys
// with characters XML cannot carry (\x01, \x7f), CR and LF, and the characters URL encoding itself uses
// (`+`, `%`, space) come back exactly as stored, as objects and as subfolders.
import { beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { makeS3Client } from '../helpers/s3.js';
import { uniqueName } from '../helpers/names.js';
import { decodeListed, listS3Subfolders, s3Lister } from '../../src/common/source/s3List.js';

const s3 = makeS3Client();
const bucket = uniqueName('lister');
const retry = { maxAttempts: 2, budgetMs: 5000 };
const KEYS = ['p/ctl\x01key', 'p/del\x7fkey', 'p/cr\rlf\nkey', 'p/plus+space %25 pct%.txt', 'p/tab\tkey', 'p/日本語/x', 'p/\x02dir/y'];

beforeAll(async () => {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const Key of KEYS) await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key }));
});

describe('s3Lister', () => {
  it('lists keys with control characters, CR/LF, +, % and spaces exactly (EncodingType=url, decoded)', async () => {
    const got: string[] = [];
    for await (const e of s3Lister(s3, bucket, retry)('p/', new AbortController().signal)) got.push(e.key);
    expect(got.sort()).toEqual([...KEYS].sort());
  });

  it('lists subfolders whose names hold such characters exactly', async () => {
    const got: string[] = [];
    for await (const page of listS3Subfolders(s3, bucket, 'p/', new AbortController().signal, retry)) got.push(...page);
    expect(got.sort()).toEqual(['p/\x02dir/', 'p/日本語/']);
  });

  it('decodes as S3 encodes: + is a space, %2B a plus', () => {
    expect(decodeListed('a+b%2Bc%25d%01')).toBe('a b+c%d\x01');
  });
});
