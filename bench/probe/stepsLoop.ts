// The loop of bench/probe/steps.ts (run in a child): the bare small loop with some of the worker's habits on.
import { createHash } from 'node:crypto';
import { finished } from 'node:stream';
import { Agent, Pool, type Dispatcher } from 'undici';
import type { ObjectEntry } from '../../src/common/messages.js';
import { parseEtag } from '../../src/common/source/etag.js';
import { StreamHasher, verdict } from '../../src/worker/copy/verify.js';
import { expectOk, inLanes, signedQuery, timed, type BareOptions, type Timed } from '../transfer/bare.js';

export interface StepOptions extends Pick<BareOptions, 'cdnBase' | 'gcs' | 'bucket' | 'keyPairId' | 'privateKeyPem' | 'concurrency'> {
  features: string[];
}

let boundaries = 0;

export async function runStep(o: StepOptions, objects: ObjectEntry[]): Promise<Timed> {
  const on = new Set(o.features);
  const cdnUrl = new URL(o.cdnBase);
  const query = signedQuery(o.cdnBase, o.keyPairId, o.privateKeyPem);
  const agent = on.has('agent') ? new Agent({ connections: o.concurrency * 8, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 120_000, headersTimeout: 120_000, bodyTimeout: 120_000 }) : undefined;
  const cdn: Dispatcher = agent ?? new Pool(cdnUrl.origin, { connections: o.concurrency, keepAliveTimeout: 30_000 });
  const gcs: Dispatcher = agent ?? new Pool(o.gcs, { connections: o.concurrency, keepAliveTimeout: 30_000 });
  const shared = on.has('signal') ? new AbortController().signal : undefined;
  const fields = on.has('json') || on.has('meta') ? '&fields=name,size,generation,md5Hash,crc32c' : '';
  const uploadPath = `/upload/storage/v1/b/${encodeURIComponent(o.bucket)}/o?uploadType=multipart&ifGenerationMatch=0${fields}`;
  // 'dispatch': both requests through Dispatcher.dispatch with a handler of our own: no Readable body, no
  // promise per request beyond one, the bytes copied and hashed as they arrive.
  const send = (d: Dispatcher, opts: Dispatcher.DispatchOptions, onData: (b: Buffer) => void): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> =>
    new Promise((resolve, reject) => {
      let status = 0;
      let headers: Record<string, string | string[] | undefined> = {};
      d.dispatch(opts, {
        onRequestStart() {},
        onResponseStart(_c, s, h) {
          status = s;
          headers = h as Record<string, string | string[] | undefined>;
        },
        onResponseData(_c, chunk) {
          onData(chunk);
        },
        onResponseEnd() {
          resolve({ status, headers });
        },
        onResponseError(_c, err) {
          reject(err);
        },
      });
    });
  // One object's multipart request: the metadata part and the closing boundary written, the media between
  // them filled by `take` (hashed as it goes), which refuses more bytes than the object has.
  const frame = (e: ObjectEntry, meta: object, hash: (b: Buffer) => void): { boundary: string; body: Buffer; take(b: Buffer): void } => {
    const boundary = `step-${(boundaries++).toString(36)}`;
    const head = `--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify(meta)}\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\n\r\n`;
    const tail = `\r\n--${boundary}--\r\n`;
    const body = Buffer.allocUnsafe(head.length + e.size + tail.length);
    const start = body.write(head, 0, 'latin1');
    body.write(tail, start + e.size, 'latin1');
    let at = start;
    return {
      boundary,
      body,
      take(b) {
        if (at + b.length > start + e.size) throw new Error(`step ${e.key}: more than ${e.size} bytes`);
        hash(b);
        b.copy(body, at);
        at += b.length;
      },
    };
  };
  const uploadHeaders = (f: { boundary: string; body: Buffer }): Record<string, string> => ({ 'content-type': `multipart/related; boundary=${f.boundary}`, 'content-length': String(f.body.length) });
  const viaDispatch = async (e: ObjectEntry): Promise<void> => {
    const md5Hex = e.etag.replace(/"/g, '');
    const md5 = createHash('md5');
    const f = frame(e, { name: e.key, md5Hash: Buffer.from(md5Hex, 'hex').toString('base64') }, (b) => md5.update(b));
    const got = await send(cdn, { origin: cdnUrl.origin, path: `${cdnUrl.pathname}${e.key}${query}`, method: 'GET', headers: { 'accept-encoding': 'identity' } }, f.take);
    if (got.status !== 200) throw new Error(`step GET ${e.key}: HTTP ${got.status}`);
    if (md5.digest('hex') !== md5Hex) throw new Error(`step ${e.key}: md5 differs`);
    const chunks: Buffer[] = [];
    const res = await send(gcs, { origin: o.gcs, path: uploadPath, method: 'POST', headers: uploadHeaders(f), body: f.body }, (b) => chunks.push(b));
    if (res.status !== 200) throw new Error(`step upload ${e.key}: HTTP ${res.status} ${Buffer.concat(chunks).toString().slice(0, 300)}`);
    if (fields) JSON.parse(Buffer.concat(chunks).toString());
  };
  const viaRequest = async (e: ObjectEntry): Promise<void> => {
    const signal = on.has('signalfresh') ? new AbortController().signal : shared;
    const src = await cdn.request({ origin: cdnUrl.origin, path: `${cdnUrl.pathname}${e.key}${query}`, method: 'GET', headers: { 'accept-encoding': 'identity' }, signal });
    await expectOk(src, [200], `GET ${e.key}`);
    const md5Hex = e.etag.replace(/"/g, '');
    const md5Base64 = Buffer.from(md5Hex, 'hex').toString('base64');
    const meta = on.has('meta')
      ? { name: e.key, metadata: { 'ott-source-etag': md5Hex, 'ott-source-last-modified': String(src.headers['last-modified'] ?? e.last_modified), 'ott-verified-by': 'md5' }, contentType: String(src.headers['content-type'] ?? 'application/octet-stream'), md5Hash: md5Base64 }
      : { name: e.key, md5Hash: md5Base64 };
    const hasher = on.has('hasher') ? new StreamHasher({ wholeMd5: true }) : undefined;
    const md5 = hasher ? undefined : createHash('md5');
    const f = frame(e, meta, (b) => (hasher ? hasher.update(b) : md5!.update(b)));
    if (on.has('data')) {
      await new Promise<void>((resolve, reject) => {
        const onData = (b: Buffer): void => f.take(b);
        src.body.on('data', onData);
        finished(src.body, (err) => {
          src.body.off('data', onData);
          if (err) reject(err);
          else resolve();
        });
      });
    } else for await (const chunk of src.body) f.take(chunk as Buffer);
    if (hasher) {
      const v = verdict(e.size, parseEtag(e.etag), await hasher.digest());
      if (!v.ok) throw new Error(`step ${e.key}: ${v.reason}`);
    } else if (md5!.digest('hex') !== md5Hex) throw new Error(`step ${e.key}: md5 differs`);
    const res = await gcs.request({ origin: o.gcs, path: uploadPath, method: 'POST', headers: uploadHeaders(f), body: f.body, signal });
    await expectOk(res, [200], `upload ${e.key}`);
    if (fields) await res.body.json();
    else await res.body.dump();
  };
  const copyOne = on.has('dispatch') ? viaDispatch : viaRequest;
  try {
    return await timed(() => inLanes(objects.length, o.concurrency, (i) => copyOne(objects[i])));
  } finally {
    await Promise.all([cdn.close(), gcs === cdn ? undefined : gcs.close()]);
  }
}
