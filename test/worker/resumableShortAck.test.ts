// Resumable uploads follow GCS's acknowledgements (issue 16, part 3): a 308 whose Range acknowledges fewer
// bytes than the chunk carried (the GCS emulator's shortAck fault) is answered by resending from that
// offset, in the same session, drawing nothing from the retry budget. A 1 GiB upload through a GCS
// emulator in discard mode (bytes hashed and checked, never stored) survives several short
// acknowledgements, the last chunk's included, without starting over, and GCS checks the whole object's
// MD5 at the end, so a resend from a wrong offset could not pass.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StartedService } from '../stack/index.js';
import { startGcs } from '../stack/gcs/start.js';
import { addFaults, listFaults } from '../stack/faults.js';
import { createHttp } from '../../src/worker/copy/http.js';
import { GcsClient, type UploadRequest } from '../../src/worker/copy/gcsUpload.js';
import { RetryBudget } from '../../src/common/retry.js';

const MiB = 1024 * 1024;
const BUCKET = 'shortack';
let svc: StartedService;
let base: string;
let root: string;
const http = createHttp({ connectionsPerOrigin: 4 });

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ott-shortack-'));
  svc = await startGcs({ dir: root, logDir: root, env: {} }, { discard: true });
  base = svc.env.OTT_GCS_ENDPOINT;
  const res = await fetch(`${base}/storage/v1/b?project=ott-local`, { method: 'POST', body: JSON.stringify({ name: BUCKET }) });
  expect(res.status).toBe(200);
});

afterAll(async () => {
  await http.close();
  await svc?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** `sizeBytes` of a repeating pattern, in 1 MiB pieces, and the MD5 of what was yielded once it is done. */
function body(sizeBytes: number): { gen: AsyncIterable<Buffer>; md5: () => string } {
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < block.length; i++) block[i] = (i * 131 + (i >> 12)) & 0xff;
  const h = createHash('md5');
  let digest: string | undefined;
  async function* gen(): AsyncGenerator<Buffer> {
    for (let off = 0; off < sizeBytes; off += MiB) {
      // Each piece differs (its first bytes carry its offset), so bytes resent at a wrong offset change the MD5.
      const piece = Buffer.from(block.subarray(0, Math.min(MiB, sizeBytes - off)));
      piece.writeUInt32BE(off / MiB, 0);
      h.update(piece);
      yield piece;
    }
    digest = h.digest('base64');
  }
  return { gen: gen(), md5: () => digest! };
}

async function stats(): Promise<{ requests: number; uploads: number; bytesReceived: number }> {
  return (await (await fetch(`${base}/__stats`)).json()) as { requests: number; uploads: number; bytesReceived: number };
}

async function upload(name: string, sizeBytes: number, chunkBytes: number, budget: RetryBudget) {
  const b = body(sizeBytes);
  const req: UploadRequest = {
    bucket: BUCKET,
    meta: { name, metadata: {} },
    ifGenerationMatch: '0',
    sizeBytes,
    body: b.gen,
    finalHash: () => `md5=${b.md5()}`,
    signal: new AbortController().signal,
    retry: budget,
  };
  const obj = await new GcsClient(http, base, async () => undefined).uploadResumable(req, chunkBytes);
  return { obj, md5: b.md5() };
}

describe('resumable upload after short acknowledgements', () => {
  it('a 1 GiB upload resends from each acknowledged offset and never starts over', async () => {
    const size = 1024 * MiB;
    const chunk = 8 * MiB;
    const name = 'big/one-gib.bin';
    // Short acks on about the 5th, 30th, 60th and 100th chunk PUT (a rule counts the PUTs the ones before it let through).
    const afters = [4, 29, 59, 99];
    await addFaults(base, afters.map((after) => ({ match: { op: 'upload', method: 'PUT', bucket: BUCKET, prefix: name }, after, action: { shortAck: true } })));
    const before = await stats();
    const budget = new RetryBudget({ maxAttempts: 2, budgetMs: 5000 });
    const { obj, md5 } = await upload(name, size, chunk, budget);
    const after = await stats();
    expect(obj).toMatchObject({ name, size, md5Hash: md5 });
    expect((await listFaults(base, BUCKET)).map((r) => r.hits)).toEqual([1, 1, 1, 1]);
    expect(budget.attempts).toBe(1); // no retry drawn: a short ack is progress, not a failure
    // One session start, one PUT per chunk, one more per short ack (and the stats request itself): nothing
    // was sent twice over.
    expect(after.requests - before.requests).toBe(1 + size / chunk + afters.length + 1);
    expect(after.uploads - before.uploads).toBe(1);
    expect(after.bytesReceived - before.bytesReceived).toBe(size);
  }, 300_000);

  it('a short acknowledgement of the last chunk sends the rest, then GCS finalizes with the whole object\'s MD5', async () => {
    const name = 'small/last-chunk.bin';
    // 3 MiB in 1 MiB chunks: the third PUT is the last chunk; its first two resends are short-acked too.
    await addFaults(base, { match: { op: 'upload', method: 'PUT', bucket: BUCKET, prefix: name }, after: 2, times: 3, action: { shortAck: true } });
    const budget = new RetryBudget({ maxAttempts: 1, budgetMs: 0 });
    const { obj, md5 } = await upload(name, 3 * MiB, MiB, budget);
    expect(obj).toMatchObject({ name, size: 3 * MiB, md5Hash: md5 });
    expect((await listFaults(base, BUCKET)).find((r) => r.match?.prefix === name)).toMatchObject({ hits: 3, remaining: 0 });
  });

  it('a session that keeps halving what it takes gets 16 short acknowledgements per chunk free, then each draws from the budget', async () => {
    const rule = (name: string) => ({ match: { op: 'upload', method: 'PUT', bucket: BUCKET, prefix: name }, times: 19, action: { shortAck: true as const } });
    await addFaults(base, rule('halving/strict.bin'));
    const strict = new RetryBudget({ maxAttempts: 2, budgetMs: 5000, baseDelayMs: 1 });
    await expect(upload('halving/strict.bin', 2 * MiB, MiB, strict)).rejects.toThrow(/short acknowledgements/);
    await fetch(`${base}/__faults?bucket=${BUCKET}`, { method: 'DELETE' });
    await addFaults(base, rule('halving/ok.bin'));
    const enough = new RetryBudget({ maxAttempts: 5, budgetMs: 5000, baseDelayMs: 1 });
    const { obj, md5 } = await upload('halving/ok.bin', 2 * MiB, MiB, enough);
    expect(obj).toMatchObject({ size: 2 * MiB, md5Hash: md5 });
    // The 17th short ack drew a retry; its status query (a PUT too) spent the 18th; the 19th drew another.
    expect(enough.attempts).toBe(3);
  });
});
