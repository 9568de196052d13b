// Streams an origin body to the viewer, never buffering it, paced when a bandwidth cap is set (throttle.ts),
// and injects the body faults of faults.ts: a truncated body (clean close after half the declared length),
// a reset mid-body, one flipped byte.
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export type BodyFault = 'truncate' | 'reset-mid-body' | 'corrupt';

/** Resolves when the response can take more bytes, or when the viewer has gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

/** Paces a body's chunks (the per-connection bandwidth cap, throttle.ts). */
export type Pace = (body: AsyncIterable<Buffer>) => AsyncIterable<Buffer>;

/** Writes body to res (headers already sent); `countBytes` sees every byte the viewer is sent. */
export async function deliverBody(res: ServerResponse, whole: Readable | Buffer, declaredBytes: number | undefined, fault: BodyFault | undefined, countBytes: (n: number) => void, pace?: Pace): Promise<void> {
  const noFault = !fault || declaredBytes === undefined || declaredBytes === 0;
  if (Buffer.isBuffer(whole) && noFault && !pace) {
    countBytes(whole.length);
    res.end(whole);
    return;
  }
  const source = Buffer.isBuffer(whole) ? Readable.from([whole]) : whole;
  const body = pace ? Readable.from(pace(source), { objectMode: false }) : source;
  try {
    await deliverStream(res, body, declaredBytes, noFault ? undefined : fault, countBytes);
  } finally {
    // A paced body that never started reading would not close its source (the origin's stream) itself.
    // Destroying an origin body not read to its end makes undici emit RequestAbortedError on it (Node 24 with
    // the viewer gone mid-body): the delivery is over and nobody is left to tell, so it is heard, not thrown.
    source.on('error', () => undefined);
    source.destroy();
  }
}

async function deliverStream(res: ServerResponse, body: Readable, declaredBytes: number | undefined, fault: BodyFault | undefined, countBytes: (n: number) => void): Promise<void> {
  if (fault === undefined || declaredBytes === undefined) {
    body.on('data', (chunk: Buffer) => countBytes(chunk.length));
    // A viewer that disconnects destroys the origin stream too (pipeline), freeing the S3 connection.
    await pipeline(body, res).catch(() => undefined);
    return;
  }
  const half = Math.floor(declaredBytes / 2);
  const limit = fault === 'corrupt' ? Infinity : half;
  let pos = 0;
  try {
    for await (const data of body) {
      if (res.destroyed) break;
      let chunk = data as Buffer;
      if (fault === 'corrupt' && half >= pos && half < pos + chunk.length) {
        // Copy first: synthetic chunks share one buffer across every response.
        chunk = Buffer.from(chunk);
        chunk[half - pos] ^= 0xff;
      }
      if (pos + chunk.length >= limit) chunk = chunk.subarray(0, limit - pos);
      pos += chunk.length;
      countBytes(chunk.length);
      if (pos >= limit) {
        await new Promise<void>((resolve) => res.write(chunk, () => resolve()));
        break;
      }
      if (!res.write(chunk)) await drained(res);
    }
  } finally {
    body.on('error', () => undefined); // as in deliverBody: an aborted origin body has nobody left to tell
    body.destroy();
  }
  if (pos < limit || limit === Infinity) {
    res.end();
    return;
  }
  const socket = res.socket;
  if (fault === 'truncate') {
    // The declared Content-Length stays unmet: the connection closes cleanly (FIN) after half the body.
    socket?.end();
  } else {
    // An RST discards whatever the viewer's kernel has not yet handed to the application; waiting a moment
    // lets the viewer see the headers and the first half first, as it would from a connection that dies
    // mid-transfer.
    setTimeout(() => socket?.resetAndDestroy(), 100).unref();
  }
}
