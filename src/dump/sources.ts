// Where subfolder names come from: the S3 API (ListObjectsV2 with Delimiter '/') or a file written by
// `aws s3 ls s3://BUCKET/ROOT/`. Both stream: millions of subfolders are never all in memory.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { S3Client } from '@aws-sdk/client-s3';
import { withRetry } from '../common/retry.js';

export type SourceItem = { dirKey: string } | { bad: string; lineNo: number; why: string };

/** Every CommonPrefix directly under rootPrefix, page by page. */
export async function* listSubfoldersFromS3(s3: S3Client, bucket: string, rootPrefix: string, signal: AbortSignal, retry: { maxAttempts: number; budgetMs: number }): AsyncGenerator<SourceItem> {
  const { ListObjectsV2Command } = await import('@aws-sdk/client-s3'); // loaded only for S3 listings
  let token: string | undefined;
  do {
    const page = await withRetry(
      () => s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: rootPrefix, Delimiter: '/', ContinuationToken: token }), { abortSignal: signal }),
      { ...retry, signal },
    );
    for (const p of page.CommonPrefixes ?? []) if (p.Prefix) yield { dirKey: p.Prefix };
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

const PRE_LINE = /^\s*PRE (.+\/)$/;
// An object line: date, time, size, name. Objects directly under the root are not subfolders.
const OBJECT_LINE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\s+\d+ .+$/;

/** Parses `aws s3 ls` output: `PRE name/` lines are subfolders of rootPrefix; anything unparseable is reported. */
export async function* readDumpFile(path: string, rootPrefix: string): AsyncGenerator<SourceItem> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const raw of lines) {
    lineNo++;
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const m = PRE_LINE.exec(line);
    if (m) {
      const name = m[1];
      if (name === '/' || Buffer.byteLength(rootPrefix + name) > 1024) {
        yield { bad: line, lineNo, why: name === '/' ? 'empty subfolder name' : 'key longer than 1024 bytes' };
      } else {
        yield { dirKey: rootPrefix + name };
      }
    } else if (OBJECT_LINE.test(line)) {
      continue; // an object at the root, not a subfolder
    } else {
      yield { bad: line, lineNo, why: 'not a `PRE name/` line of aws s3 ls' };
    }
  }
}
