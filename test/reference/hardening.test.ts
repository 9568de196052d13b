// Issue 20's hardening of signed URLs and of what the tool prints, on the real stack where a service is
// involved: the signed policy covers the CDN path of s3_root_prefix only (the CloudFront fixture refuses a
// URL outside it), lasts an hour by default, and needs https off this machine; a signing key that cannot be
// read is an error; dead-letter and error-topic reasons and gcloud's dry-run output are redacted; keys in
// status, rsync plans and log messages are escaped so they cannot forge lines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from '@google-cloud/pubsub';
import { createCopier } from '../../src/worker/copy/index.js';
import { createUrlSigner } from '../../src/worker/copy/signer.js';
import { cdnBase, openSource } from '../../src/worker/copy/source.js';
import { run as runRsync } from '../../src/worker/rsync.js';
import { run as runStatus } from '../../src/ops/status.js';
import { deadLetter, reportError } from '../../src/worker/errorTopic.js';
import { loadSecrets } from '../../src/common/secrets.js';
import { validateConfig } from '../../src/common/config/validate.js';
import { readEnv } from '../../src/common/config/env.js';
import { registerSecret } from '../../src/common/redact.js';
import { createLogger } from '../../src/common/log.js';
import { printable } from '../../src/common/printable.js';
import { addTrustedKey } from '../stack/cdn/client.js';
import { rawRequest, rsaKeyPair } from '../stack/cdn/testing.js';
import { uniqueName } from '../helpers/names.js';
import { addRows, closeCtx, makeWorld, messagesOn, putS3, workerCtx, type World } from '../worker/syncCheckFixture.js';

let w: World;
const key = rsaKeyPair();

beforeAll(async () => {
  w = await makeWorld('hard20', {}, { cdn: true });
  await addTrustedKey(process.env.OTT_CDN_ENDPOINT!, { bucket: w.s3Bucket, keyPairId: 'KHARD20', publicKeyPem: key.publicKeyPem });
  await putS3(w, 'data/in/a.txt', 'inside the root');
  await putS3(w, 'other/secret.txt', 'outside the root');
});

afterAll(async () => {
  await closeCtx(w.ctx);
});

describe('signed URLs', () => {
  it('the policy covers the CDN path of s3_root_prefix only, for an hour by default', async () => {
    const ctx = await workerCtx(w, 'rsync', { url_signer_key_pair_id: 'KHARD20', url_signer_private_key_file: '/dev/null' });
    ctx.secrets = { ...ctx.secrets, url_signer_private_key: key.privateKeyPem };
    const copier = createCopier(ctx);
    try {
      const started = Math.floor(Date.now() / 1000);
      const query = copier.deps.signer.query();
      const policy = JSON.parse(Buffer.from(new URLSearchParams(query).get('Policy')!.replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/'), 'base64').toString('utf8'));
      expect(policy.Statement[0].Resource).toBe(`${process.env.OTT_CDN_ENDPOINT}/${w.s3Bucket}/data/*`);
      const expires = policy.Statement[0].Condition.DateLessThan['AWS:EpochTime'];
      expect(expires - started).toBeGreaterThanOrEqual(3599);
      expect(expires - started).toBeLessThanOrEqual(3601);
      // The CloudFront fixture checks the policy as CloudFront does.
      const inside = await rawRequest(`/${w.s3Bucket}/data/in/a.txt?${query}`);
      expect(inside.status).toBe(200);
      expect(inside.body.toString()).toBe('inside the root');
      const outside = await rawRequest(`/${w.s3Bucket}/other/secret.txt?${query}`);
      expect(outside.status).toBe(403);
      expect(outside.body.toString()).not.toContain('outside the root');
    } finally {
      await copier.close();
      await closeCtx(ctx);
    }
  });

  it('a key that replace_key_parts maps outside the signed path is refused before any request', async () => {
    const signer = createUrlSigner({ hostPre: 'https://d1.example.net/', scopePath: 'data/', keyPairId: 'KHARD20', privateKey: key.privateKeyPem, expireSeconds: 3600 });
    const naming = { replace_key_parts: { 'data/moved/': 'elsewhere/' } };
    const never = new Proxy({}, { get: () => { throw new Error('no request may be sent'); } }) as never;
    const err = await openSource(never, cdnBase('https://d1.example.net/'), { key: 'data/moved/x.txt', etag: 'e', size: 1 }, naming, signer, new AbortController().signal).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/CDN URL of "data\/moved\/x\.txt" is outside the signed policy's path "data\/"\*/);
  });

  it('needs https, except for a loopback host', () => {
    const base = { mysql_table: 't', credentials_file: '/dev/null' };
    for (const ok of ['https://d111111abcdef8.cloudfront.net/', 'http://127.0.0.1:8080/b/', 'http://127.3.4.5/', 'http://localhost:9/', 'http://[::1]:9/']) {
      expect(validateConfig({ ...base, cloudfront_url_host_pre: ok }, 'test').cloudfront_url_host_pre).toBe(ok);
    }
    for (const bad of ['http://d111111abcdef8.cloudfront.net/', 'http://10.0.0.5/', 'http://127.0.0.1.example.com/']) {
      expect(() => validateConfig({ ...base, cloudfront_url_host_pre: bad }, 'test')).toThrow(/cloudfront_url_host_pre: .*expected https.*loopback/);
    }
  });

  it('a configured signing key that cannot be read is an error, never unsigned URLs', async () => {
    const creds = join(mkdtempSync(join(tmpdir(), 'ott-hard20-')), 'creds.json');
    writeFileSync(creds, JSON.stringify({ mysql_config: { host: 'h', user: 'u', password: 'p', database: 'd' } }));
    const config = validateConfig({ mysql_table: 't', credentials_file: creds, url_signer_key_pair_id: 'K1', url_signer_private_key_secret_id: uniqueName('nokey') }, 'test');
    // No project to read it from: refused (it used to load no key, silently).
    await expect(loadSecrets({ ...config, credentials_file: creds }, undefined, readEnv().endpoints)).rejects.toThrow(/url_signer_private_key_secret_id needs a project/);
    // A secret that does not exist: refused, naming it.
    await expect(loadSecrets({ ...config, credentials_file: creds }, 'ott-local', readEnv().endpoints)).rejects.toThrow(/cannot read secret projects\/ott-local\/secrets\/nokey-/);
    // And the signer itself never signs nothing for a configured key pair.
    expect(() => createUrlSigner({ hostPre: 'https://d/', keyPairId: 'K1', expireSeconds: 60 })).toThrow(/no signing key was loaded.*refusing to send unsigned URLs/);
  });
});


describe('nothing secret leaks, no key forges a line', () => {
  it('error-topic and dead-letter reasons are redacted', async () => {
    registerSecret('hard20-Secret-Value-0001');
    const ctx = await workerCtx(w, 'syncCheck', { dead_letter_topic_id: w.config.error_pubsub_topic_id as string });
    const url = 'https://d1.cloudfront.net/data/a?Policy=eyJTdGF0ZW1lbnQi&Signature=abcDEF~_-123&Key-Pair-Id=KHARD20';
    expect(await reportError(ctx, 'syncCheck', 'data/x/', `GET ${url} failed with hard20-Secret-Value-0001`)).toBe(true);
    const bad = { id: 'm-1', data: Buffer.from('not json') } as unknown as Message;
    expect(await deadLetter(ctx, 'syncCheck', bad, 'cannot parse; connection string had hard20-Secret-Value-0001')).toBe(true);
    const got = await messagesOn(w, w.errorSubscription, 2);
    const all = JSON.stringify(got);
    expect(all).not.toContain('hard20-Secret-Value-0001');
    expect(all).not.toContain('abcDEF~_-123');
    expect(all).not.toContain('eyJTdGF0ZW1lbnQi');
    const dead = got.find((m) => m.data === 'not json')!;
    expect(dead.attributes.reason).toBe('cannot parse; connection string had [REDACTED]');
    await closeCtx(ctx);
  });

  it("gcloud's dry-run output is redacted, and every plan line escaped", { timeout: 60_000 }, async () => {
    registerSecret('tok-Hard20-9f8e7d');
    await putS3(w, 'data/g/report-tok-Hard20-9f8e7d.csv', 'x');
    await addRows(w, ['data/g/']);
    const ctx = await workerCtx(w, 'rsync', { rsync_engine: 'gcloud' });
    const lines: string[] = [];
    const s = await runRsync(ctx, { dryRun: true, dirs: ['data/g/'], print: (l) => lines.push(l) });
    expect(s.outcomes).toEqual({ planned: 1 });
    const text = lines.join('\n');
    expect(text).toMatch(/report-\[REDACTED\]\.csv/); // gcloud named the object: we saw its output
    expect(text).not.toContain('tok-Hard20-9f8e7d');
    await closeCtx(ctx);
  });

  it('a key with a newline cannot forge a line of the cdn rsync plan, of status, or of a log message', async () => {
    const evil = 'data/p/line\nERROR forged: all objects deleted\u001b[2J.txt';
    await putS3(w, 'data/p/line\nERROR forged.txt', 'x'); // S3 listings carry LF (XML); ESC cannot cross them
    await addRows(w, ['data/p/']);
    const ctx = await workerCtx(w, 'rsync', {});
    const plan: string[] = [];
    await runRsync(ctx, { dryRun: true, dirs: ['data/p/'], print: (l) => plan.push(l) });
    const out = plan.join('\n').split('\n');
    expect(out).toEqual(['# plan for data/p/ (cdn engine, dry run: nothing changes)', 'copy   data/p/line\\nERROR forged.txt (missing in GCS)']);

    // status: a failed subfolder whose key and error hold a newline and an escape sequence
    await addRows(w, [evil]);
    await w.ctx.db.query('UPDATE transfer_state SET sync_check_error = ?, sync_check_frequency = 1 WHERE dir_key = ?', [`listing ${evil} failed`, evil]);
    let screen = '';
    await runStatus(ctx, { write: (t) => (screen += t) });
    const lines = screen.split('\n');
    expect(lines.some((l) => l.startsWith('ERROR forged'))).toBe(false);
    expect(screen).not.toContain('\u001b');
    expect(screen).toContain(printable(evil));
    expect(printable(evil)).toBe('data/p/line\\nERROR forged: all objects deleted\\x1b[2J.txt');

    // a log message quoting the key: the message text is escaped; the field keeps the key exact
    const logged: string[] = [];
    createLogger({ labels: {}, write: (l) => logged.push(l) }).warn(`rsync: ${evil} failed`, { dir_key: evil });
    const entry = JSON.parse(logged[0]);
    expect(entry.message).toBe(`rsync: ${printable(evil)} failed`);
    expect(entry.dir_key).toBe(evil);
    await closeCtx(ctx);
  });
});
