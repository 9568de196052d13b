// A synthetic S3 that answers ListObjectsV2 only, for one prefix of `count` objects generated on the fly
// (`<prefix>obj-<9 digits>`, in key order, 1000 a page, the continuation token the next index): so a
// listing of millions of objects costs no bucket to build. Any other request is a 400, and a request for
// another prefix lists nothing: the benchmark's publisher must ask for exactly this one.
// It counts the keys it has served, so the benchmark can tell how far a listing got.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const PAGE = 1000;
const LAST_MODIFIED = '2024-01-31T10:00:00.000Z';

export interface ListServer {
  endpoint: string;
  /** Keys served so far. */
  served(): number;
  close(): Promise<void>;
}

export const listedKey = (prefix: string, i: number): string => `${prefix}obj-${String(i).padStart(9, '0')}`;

/** One page of ListObjectsV2 XML: keys [from, to) of `count` under `prefix`. */
function page(bucket: string, prefix: string, from: number, to: number, count: number, token: string | null, urlEncoded: boolean): string {
  const enc = (k: string): string => (urlEncoded ? encodeURIComponent(k).replace(/%2F/g, '/') : k);
  const truncated = to < count;
  const parts = [
    `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`,
    `<Name>${bucket}</Name><Prefix>${enc(prefix)}</Prefix><KeyCount>${to - from}</KeyCount><MaxKeys>${PAGE}</MaxKeys>`,
    urlEncoded ? '<EncodingType>url</EncodingType>' : '',
    `<IsTruncated>${truncated}</IsTruncated>`,
    token ? `<ContinuationToken>${token}</ContinuationToken>` : '',
    truncated ? `<NextContinuationToken>${to}</NextContinuationToken>` : '',
  ];
  for (let i = from; i < to; i++) {
    // A distinct 32-hex ETag per key without hashing: the server's CPU is not what is measured.
    const etag = i.toString(16).padStart(32, '0');
    parts.push(
      `<Contents><Key>${enc(listedKey(prefix, i))}</Key><LastModified>${LAST_MODIFIED}</LastModified><ETag>&quot;${etag}&quot;</ETag><Size>${1000 + (i % 1000)}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
    );
  }
  parts.push('</ListBucketResult>');
  return parts.join('');
}

export async function startListServer(bucket: string, prefix: string, count: number): Promise<ListServer> {
  let served = 0;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    // Path-style, as the tool addresses a custom endpoint: GET /<bucket>?list-type=2&prefix=...
    if (req.method !== 'GET' || url.pathname.replace(/\/$/, '') !== `/${bucket}` || url.searchParams.get('list-type') !== '2') {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`synthetic S3 lists s3://${bucket} only (ListObjectsV2), got ${req.method} ${req.url}`);
      return;
    }
    const token = url.searchParams.get('continuation-token');
    const n = url.searchParams.get('prefix') === prefix ? count : 0;
    const from = token ? Number(token) : 0;
    const to = Math.min(n, from + PAGE);
    served += to - from;
    res.writeHead(200, { 'content-type': 'application/xml' }).end(page(bucket, prefix, from, to, n, token, url.searchParams.get('encoding-type') === 'url'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    served: () => served,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
