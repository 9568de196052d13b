// cdnTransfer against the real stack: S3 behind the CDN fixture, the GCS emulator, Pub/Sub, MariaDB.
// Odd keys, zero-byte, single-part and multipart objects (small and resumable), metadata carried over,
// counters in MySQL, and a redelivery that skips everything.
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { run } from '../../src/worker/cdnTransfer.js';
import { addDirRow, bytesFor, createWorld, dirCounters, listGcs, publish, putMultipart, putObject, readGcs, worldContext, type World } from './cdnTransferHarness.js';
import type { ObjectEntry } from '../../src/common/messages.js';

const MiB = 1024 * 1024;
const ODD = ['space file.txt', 'plus+sign.txt', 'percent%20literal.txt', 'unicodé-日本語.txt', 'hash#q?amp&.txt', 'trailing dot.', 'double//slash.txt', 'dots/./x', "quote'(*)!.txt"];
// Small tunables so a few MiB exercise the resumable path with several chunks.
const tunables = { singleRequestMaxBytes: 1 * MiB, chunkBytes: 256 * 1024, optimisticMaxBytes: 64 * 1024 };

let w: World;
beforeAll(async () => {
  w = await createWorld('cdnt');
});

describe('cdnTransfer', () => {
  it('copies odd keys, zero-byte, single-part and multipart objects, verified, with their metadata; a re-run skips them all', async () => {
    const ctx = await worldContext(w);
    const dir = 'data/odd keys/';
    await addDirRow(ctx, dir);
    await addDirRow(ctx, 'data/big/');
    const odd: ObjectEntry[] = [];
    for (const [i, name] of ODD.entries()) odd.push(await putObject(w, dir + name, 1000 + i * 97, { ContentType: 'text/plain; charset=utf-8' }));
    odd.push(await putObject(w, `${dir}empty`, 0));
    odd.push(
      await putObject(w, `${dir}with-meta.bin`, 70_000, {
        ContentType: 'application/x-demo',
        CacheControl: 'public, max-age=60',
        ContentDisposition: 'attachment; filename="x.bin"',
        ContentLanguage: 'fr',
        Metadata: { owner: 'team-a', source: 'demo' },
      }),
    );
    const big: ObjectEntry[] = [
      await putObject(w, 'data/big/single-3mib.bin', 3 * MiB + 5),
      await putMultipart(w, 'data/big/multipart.bin', [5 * MiB, 5 * MiB, 123_457], { ContentType: 'application/x-mp', Metadata: { part: 'yes' } }),
      await putMultipart(w, 'data/big/one-small-part.bin', [40_000]),
    ];
    expect(big[1].etag).toMatch(/-3"$/);
    await publish(w, dir, odd.slice(0, 6));
    await publish(w, dir, odd.slice(6));
    await publish(w, 'data/big/', big);

    const s = await run(ctx, { exitWhenIdleMs: 1500, tunables });
    expect(s).toMatchObject({ copied: odd.length + big.length, failed: 0, skipped: 0, deadLettered: 0, acked: 3, nacked: 0 });
    expect(s.copiedBytes).toBe([...odd, ...big].reduce((a, o) => a + o.size, 0));

    const names = await listGcs(w);
    expect(names).toEqual([...odd, ...big].map((o) => `copy/${o.key.slice('data/'.length)}`).sort());
    for (const o of [...odd, ...big]) {
      const g = await readGcs(w, `copy/${o.key.slice('data/'.length)}`);
      expect(g, o.key).toBeDefined();
      expect(g!.data.equals(bytesFor(o.key, o.size)), o.key).toBe(true);
      expect(g!.meta.md5Hash).toBe(createHash('md5').update(bytesFor(o.key, o.size)).digest('base64'));
      expect(g!.meta.metadata?.['ott-source-etag']).toBe(o.etag.replace(/"/g, ''));
      expect(g!.meta.metadata?.['ott-verified-by']).toBe(o.etag.includes('-') ? 'multipart-etag' : 'md5');
    }
    const meta = (await readGcs(w, 'copy/odd keys/with-meta.bin'))!.meta;
    expect(meta).toMatchObject({ contentType: 'application/x-demo', cacheControl: 'public, max-age=60', contentDisposition: 'attachment; filename="x.bin"', contentLanguage: 'fr' });
    expect(meta.metadata).toMatchObject({ owner: 'team-a', source: 'demo' });
    expect((await readGcs(w, 'copy/big/multipart.bin'))!.meta).toMatchObject({ contentType: 'application/x-mp', metadata: { part: 'yes' } });

    expect(await dirCounters(ctx, dir)).toMatchObject({ copied_objects: odd.length, copied_bytes: odd.reduce((a, o) => a + o.size, 0), skipped_objects: 0, failed_objects: 0 });
    expect(await dirCounters(ctx, 'data/big/')).toMatchObject({ copied_objects: 3, failed_objects: 0 });

    // Redelivery / re-run: every object is already there with the same size and ETag.
    const gens = await Promise.all(names.map(async (n) => (await readGcs(w, n))!.meta.generation));
    await publish(w, dir, odd);
    await publish(w, 'data/big/', big);
    const again = await run(ctx, { exitWhenIdleMs: 1500, tunables });
    expect(again).toMatchObject({ copied: 0, skipped: odd.length + big.length, failed: 0, acked: 2 });
    expect(await Promise.all(names.map(async (n) => (await readGcs(w, n))!.meta.generation))).toEqual(gens);
    expect(await dirCounters(ctx, dir)).toMatchObject({ copied_objects: odd.length, skipped_objects: odd.length });
    await ctx.db.end();
  });

  it('replaces a differing object in GCS (generation precondition); an SSE-KMS ETag (32 hex, no MD5) is verified by S3\'s checksum', async () => {
    const ctx = await worldContext(w);
    const e = await putObject(w, 'data/replace/a.bin', 5000);
    // A stale copy of another version under the same name.
    const stale = await fetch(`${process.env.OTT_GCS_ENDPOINT}/upload/storage/v1/b/${w.gcsBucket}/o?uploadType=media&name=${encodeURIComponent('copy/replace/a.bin')}`, { method: 'POST', body: 'old bytes' });
    expect(stale.ok).toBe(true);
    // SSE-KMS as S3 serves it: 32 hex digits that are not the MD5, marked only by x-amz-server-side-encryption.
    const kms = await putObject(w, 'data/replace/kms.bin', 3000, { ServerSideEncryption: 'aws:kms' });
    expect(kms.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(kms.etag).not.toContain(createHash('md5').update(bytesFor(kms.key, 3000)).digest('hex'));
    await addDirRow(ctx, 'data/replace/');
    await publish(w, 'data/replace/', [e, kms]);
    const s = await run(ctx, { exitWhenIdleMs: 1500, tunables });
    expect(s).toMatchObject({ copied: 2, sizeOnly: 0, failed: 0, verifiedBy: { md5: 1, crc: 1 } });
    expect((await readGcs(w, 'copy/replace/a.bin'))!.data.equals(bytesFor(e.key, 5000))).toBe(true);
    const k = (await readGcs(w, 'copy/replace/kms.bin'))!;
    expect(k.data.equals(bytesFor(kms.key, 3000))).toBe(true);
    expect(k.meta.metadata?.['ott-verified-by']).toBe('crc');
    expect(await dirCounters(ctx, 'data/replace/')).toMatchObject({ copied_objects: 2, size_only_objects: 0 });
    await ctx.db.end();
  });
});
