// Signed CloudFront URLs against the CDN fixture, which checks them as CloudFront does: the right key
// copies everything; no signature, or the wrong key, is a permanent 403 with a reason that says why;
// an unusable key is a clear error at start that never prints the key.
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/worker/cdnTransfer.js';
import { addTrustedKey } from '../stack/cdn/client.js';
import { rsaKeyPair } from '../stack/cdn/testing.js';
import { bytesFor, cdnEndpoint, createWorld, drain, publish, putObject, readGcs, worldContext, type World } from './cdnTransferHarness.js';
import type { ObjectEntry } from '../../src/common/messages.js';

const trusted = rsaKeyPair();
const other = rsaKeyPair();
const signing = { url_signer_key_pair_id: 'KOTTTEST', url_signer_private_key_file: '/dev/null' };

let w: World;
let objects: ObjectEntry[];
beforeAll(async () => {
  w = await createWorld('cdns', { max_attempts: 2 });
  objects = [await putObject(w, 'data/s/a b+c.txt', 1234), await putObject(w, 'data/s/日本/x.bin', 100_000), await putObject(w, 'data/s/empty', 0)];
  await addTrustedKey(cdnEndpoint(), { bucket: w.s3Bucket, keyPairId: 'KOTTTEST', publicKeyPem: trusted.publicKeyPem });
});

async function signedCtx(privateKey: string, extra: Record<string, unknown> = {}) {
  const ctx = await worldContext(w, { ...signing, ...extra });
  // testContext builds secrets itself; the signing key arrives as Secret Manager would hand it over.
  ctx.secrets = { ...ctx.secrets, url_signer_private_key: privateKey };
  return ctx;
}

describe('cdnTransfer with signed URLs', () => {
  it('copies through a distribution that requires signed URLs, never logging a signature', async () => {
    const ctx = await signedCtx(trusted.privateKeyPem);
    await publish(w, 'data/s/', objects);
    const s = await run(ctx, { exitWhenIdleMs: 1500 });
    expect(s).toMatchObject({ copied: 3, failed: 0, acked: 1 });
    for (const o of objects) expect((await readGcs(w, `copy/${o.key.slice(5)}`))!.data.equals(bytesFor(o.key, o.size))).toBe(true);
    expect(ctx.logs.some((l) => l.includes('cdnTransfer: started') && l.includes('"signed_urls":true'))).toBe(true);
    expect(ctx.logs.join('')).not.toMatch(/Signature=[A-Za-z0-9~_-]{20}/);
    await ctx.db.end();
  });

  it('reports unsigned requests and a key the distribution does not trust as permanent 403s', async () => {
    const plain = await worldContext(w, { gcs_root_prefix: 'plain/' });
    await publish(w, 'data/s/', [objects[0]]);
    expect(await run(plain, { exitWhenIdleMs: 1500 })).toMatchObject({ copied: 0, failed: 1, acked: 1 });
    const wrong = await signedCtx(other.privateKeyPem, { gcs_root_prefix: 'wrong/' });
    await publish(w, 'data/s/', [objects[1]]);
    expect(await run(wrong, { exitWhenIdleMs: 1500 })).toMatchObject({ copied: 0, failed: 1, acked: 1 });
    const errors = (await drain(w.errorSub, 2)).map((m) => JSON.parse(m.data.toString()));
    expect(errors.find((e) => e.key === objects[0].key)).toMatchObject({ attempts: 1, reason: expect.stringMatching(/HTTP 403/) });
    expect(errors.find((e) => e.key === objects[1].key)).toMatchObject({ attempts: 1, reason: expect.stringMatching(/CDN refused the signed URL.*url_signer_key_pair_id/) });
    expect(await readGcs(w, 'wrong/s/日本/x.bin')).toBeUndefined();
    await plain.db.end();
    await wrong.db.end();
  });

  it('reports the origin\'s own 403 code (an archived object: InvalidObjectState), not a signing-key problem', async () => {
    const ctx = await signedCtx(trusted.privateKeyPem, { gcs_root_prefix: 'archived/' });
    const archived = await putObject(w, 'data/s/archived.bin', 2000, { StorageClass: 'GLACIER' });
    await publish(w, 'data/s/', [archived]);
    expect(await run(ctx, { exitWhenIdleMs: 1500 })).toMatchObject({ copied: 0, failed: 1, acked: 1 });
    const [e] = (await drain(w.errorSub, 1)).map((m) => JSON.parse(m.data.toString()));
    expect(e).toMatchObject({ key: archived.key, attempts: 1, reason: expect.stringMatching(/CDN GET \(origin InvalidObjectState\): HTTP 403/) });
    expect(e.reason).not.toMatch(/url_signer_key_pair_id/);
    await ctx.db.end();
  });

  it('fails at start with a clear error, without the key, when the signing key is unusable', async () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nTk9UIEEgS0VZIEFUIEFMTA==\n-----END PRIVATE KEY-----\n';
    const ctx = await signedCtx(pem);
    const err = await run(ctx, { exitWhenIdleMs: 500 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/cannot sign CloudFront URLs with the key of key pair KOTTTEST/);
    expect((err as Error).message).not.toContain('Tk9UIEEgS0VZ');
    await ctx.db.end();
  });
});
