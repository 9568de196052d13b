// The bare limit for ONE large object over capped connections: N ranged GETs in parallel through the
// signed URL, each streamed straight into one part of a GCS XML API multipart upload (initiate, upload
// part, complete; abort on failure), with no machinery around it. Each part:
// - GET `Range: bytes=a-b` (206) on its own connection; the CDN fixture caps each connection, so N
//   streams get N times one connection's bandwidth;
// - PUT `?partNumber=n&uploadId=U` streaming the body as it arrives, with `Content-MD5` of the part, so
//   GCS refuses a part whose bytes differ; the MD5 is also computed while streaming and checked against
//   the expected one, and the part's returned ETag (the MD5 GCS computed) must equal it too.
// The expected part MD5s are what a multipart-uploaded S3 source implies (its ETag is md5 of them); here
// the caller computes them from the synthetic content before the clock starts. A copier that learns a
// part's MD5 only by reading it sends no Content-MD5 and checks the returned ETag instead: the same
// hashing on both sides, the same bytes. Runs in a process of its own (child.ts).
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { Pool } from 'undici';
import type { ObjectEntry } from '../../src/common/messages.js';
import { expectOk, inLanes, signedQuery, timed } from './bare.js';

export interface BareParallelOptions {
  /** `<cdn>/__synthetic/` */
  cdnBase: string;
  gcs: string;
  bucket: string;
  keyPairId: string;
  privateKeyPem: string;
  /** Parts in flight at once: ranged GETs (and part PUTs) in parallel. */
  streams: number;
  partBytes: number;
  /** Hex MD5 of each part, in order. */
  partMd5s: string[];
}

const xmlValue = (xml: string, tag: string): string | undefined => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];
const objectPath = (bucket: string, key: string): string => `/${encodeURIComponent(bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`;

/** Copies one object in parts; throws on the first failure (after aborting the upload). */
export async function runBareParallel(o: BareParallelOptions, e: ObjectEntry): Promise<{ ms: number; cpuMs: number; parts: number }> {
  const parts = Math.ceil(e.size / o.partBytes);
  if (o.partMd5s.length !== parts) throw new Error(`bare parallel: ${o.partMd5s.length} part MD5s for ${parts} parts of ${o.partBytes} bytes`);
  const cdnUrl = new URL(o.cdnBase);
  const query = signedQuery(o.cdnBase, o.keyPairId, o.privateKeyPem);
  const cdn = new Pool(cdnUrl.origin, { connections: o.streams, keepAliveTimeout: 30_000 });
  const gcs = new Pool(o.gcs, { connections: o.streams, keepAliveTimeout: 30_000 });
  const path = objectPath(o.bucket, e.key);
  const uploadPath = (id: string): string => `${path}?uploadId=${encodeURIComponent(id)}`;
  let uploadId: string | undefined;
  const etags: string[] = new Array(parts);

  const copyPart = async (i: number): Promise<void> => {
    const start = i * o.partBytes;
    const end = Math.min(e.size, start + o.partBytes);
    const src = await cdn.request({ path: `${cdnUrl.pathname}${e.key}${query}`, method: 'GET', headers: { range: `bytes=${start}-${end - 1}`, 'accept-encoding': 'identity' } });
    await expectOk(src, [206], `GET ${e.key} part ${i + 1}`);
    const md5 = createHash('md5');
    async function* body(): AsyncGenerator<Buffer> {
      for await (const b of src.body) {
        md5.update(b as Buffer);
        yield b as Buffer;
      }
      const hex = md5.digest('hex');
      if (hex !== o.partMd5s[i]) throw new Error(`bare parallel ${e.key} part ${i + 1}: md5 ${hex}, expected ${o.partMd5s[i]}`);
    }
    const res = await gcs.request({
      path: `${path}?partNumber=${i + 1}&uploadId=${encodeURIComponent(uploadId!)}`,
      method: 'PUT',
      headers: { 'content-length': String(end - start), 'content-md5': Buffer.from(o.partMd5s[i], 'hex').toString('base64') },
      body: Readable.from(body(), { objectMode: false }),
    });
    await expectOk(res, [200], `part ${i + 1} of ${e.key}`);
    await res.body.dump();
    const etag = String(res.headers.etag ?? '').replace(/"/g, '');
    if (etag !== o.partMd5s[i]) throw new Error(`bare parallel ${e.key} part ${i + 1}: GCS answered ETag ${etag}, sent MD5 ${o.partMd5s[i]}`);
    etags[i] = etag;
  };

  try {
    // The clock covers initiation and completion too: they are part of the copy.
    const r = await timed(async () => {
      const init = await gcs.request({ path: `${path}?uploads`, method: 'POST', headers: { 'content-type': 'application/octet-stream' } });
      await expectOk(init, [200], `initiate ${e.key}`);
      uploadId = xmlValue(await init.body.text(), 'UploadId');
      if (!uploadId) throw new Error(`bare parallel: no UploadId initiating ${e.key}`);
      await inLanes(parts, o.streams, copyPart);
      const xml = `<CompleteMultipartUpload>${etags.map((t, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>"${t}"</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
      const done = await gcs.request({ path: uploadPath(uploadId), method: 'POST', headers: { 'content-type': 'application/xml' }, body: xml });
      await expectOk(done, [200], `complete ${e.key}`);
      await done.body.dump();
    });
    return { ...r, parts };
  } catch (err) {
    if (uploadId) await gcs.request({ path: uploadPath(uploadId), method: 'DELETE' }).then((res) => res.body.dump(), () => undefined);
    throw err;
  } finally {
    await Promise.all([cdn.close(), gcs.close()]);
  }
}
