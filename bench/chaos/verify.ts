// The chaos run's judge, sharing no code with src/: two independent looks at both buckets.
// 1. test/helpers/compareCopies.ts: lists S3 and GCS through the SDKs, downloads every in-scope object from
//    both and compares the MD5 of the bytes; archived objects are reported, not compared.
// 2. `rclone check` (Debian's rclone 1.60, s3 backend -> gcs backend): its own listing of both sides, sizes
//    and, where both sides have an MD5, hashes. Its "missing on GCS" must be exactly the archived objects.
// Both must find 0 missing, 0 different, 0 extra.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Storage } from '@google-cloud/storage';
import { compareCopies, type CopyReport } from '../../test/helpers/compareCopies.js';

export interface RcloneReport {
  /** False when rclone could not run at all (then `error` says why). */
  ran: boolean;
  error?: string;
  /** Paths relative to the root prefix. */
  missingOnGcs: string[];
  missingOnS3: string[];
  differ: string[];
  errors: string[];
  matched: number;
  /** Every path rclone reported on, whatever the outcome (its --combined report). */
  seen: string[];
}

export interface Verdict {
  md5: CopyReport;
  rclone: RcloneReport;
  /** Where rclone and the MD5 pass disagree (each line says how). */
  disagreements: string[];
  /**
   * S3 objects rclone never reported on: rclone 1.60 cannot name some keys S3 holds (e.g. an empty path
   * segment, `a//b`). The MD5 pass covers them; they are listed so the second opinion's reach is known.
   */
  rcloneUnseen: string[];
}

/**
 * The paths of one rclone report file. rclone prints a control character in a name as its Unicode control
 * picture (\x01 as U+2401): mapped back, so its paths compare with S3's keys (the dataset holds no real
 * control pictures).
 */
const readLines = (file: string): string[] => {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.replace(/[\u2400-\u241f]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) - 0x2400)));
  } catch {
    return [];
  }
};

/** `rclone check` of s3://bucket/root against gs://bucket/root, its findings read from its report files. */
export async function rcloneCheck(o: { s3Endpoint: string; gcsEndpoint: string; s3Bucket: string; gcsBucket: string; root: string }): Promise<RcloneReport> {
  const dir = mkdtempSync(join(tmpdir(), 'ott-chaos-rclone-'));
  const f = (n: string): string => join(dir, n);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RCLONE_CONFIG_SRC_TYPE: 's3',
    RCLONE_CONFIG_SRC_PROVIDER: 'Other',
    RCLONE_CONFIG_SRC_ENDPOINT: o.s3Endpoint,
    RCLONE_CONFIG_SRC_ACCESS_KEY_ID: 'S3RVER',
    RCLONE_CONFIG_SRC_SECRET_ACCESS_KEY: 'S3RVER',
    RCLONE_CONFIG_SRC_REGION: 'us-east-1',
    RCLONE_CONFIG_SRC_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_DST_TYPE: 'google cloud storage',
    RCLONE_CONFIG_DST_ENDPOINT: `${o.gcsEndpoint.replace(/\/$/, '')}/storage/v1/`,
    RCLONE_CONFIG_DST_ANONYMOUS: 'true',
    RCLONE_CONFIG_DST_BUCKET_POLICY_ONLY: 'true',
  };
  delete env.AWS_CA_BUNDLE; // breaks rclone's S3 backend on these machines
  const args = [
    'check',
    `src:${o.s3Bucket}/${o.root}`,
    `dst:${o.gcsBucket}/${o.root}`,
    '--missing-on-dst', f('missing-on-dst'),
    '--missing-on-src', f('missing-on-src'),
    '--differ', f('differ'),
    '--error', f('error'),
    '--match', f('match'),
    '--combined', f('combined'),
    '--checkers', '8',
    '--config', f('rclone.conf'),
  ];
  writeFileSync(f('rclone.conf'), '');
  try {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn('rclone', args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (b: Buffer) => void (err = (err + b.toString('utf8')).slice(-20_000)));
      child.once('error', (e) => resolve({ code: 127, stderr: e.message }));
      child.once('close', (c) => resolve({ code: c, stderr: err }));
    });
    const r: RcloneReport = {
      ran: code === 0 || code === 1,
      missingOnGcs: readLines(f('missing-on-dst')).sort(),
      missingOnS3: readLines(f('missing-on-src')).sort(),
      differ: readLines(f('differ')).sort(),
      errors: readLines(f('error')).sort(),
      matched: readLines(f('match')).length,
      seen: readLines(f('combined')).map((l) => l.slice(2)),
    };
    if (!r.ran) r.error = `rclone check exited ${code}: ${stderr.slice(-1500)}`;
    return r;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const sameSet = (a: string[], b: string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export async function verify(o: { s3: S3Client; storage: Storage; s3Endpoint: string; gcsEndpoint: string; s3Bucket: string; gcsBucket: string; root: string }): Promise<Verdict> {
  const [md5, rclone] = await Promise.all([
    compareCopies({ s3Bucket: o.s3Bucket, s3Prefix: o.root, gcsBucket: o.gcsBucket, gcsPrefix: o.root, s3: o.s3, storage: o.storage, concurrency: 8 }),
    rcloneCheck(o),
  ]);
  const rel = (keys: string[]): string[] => keys.map((k) => k.slice(o.root.length)).sort();
  const disagreements: string[] = [];
  const seen = new Set(rclone.seen);
  // rclone's reach over S3's objects: the bad ones by name, the identical ones (not named by the MD5 pass) by count.
  const rcloneUnseen = [...rel(md5.missing), ...rel(md5.different), ...rel(md5.archived), ...rel(md5.metadataLost)].filter((k) => !seen.has(k));
  const unseenCount = md5.s3Objects + md5.archived.length - (seen.size - rclone.missingOnS3.length);
  if (rclone.ran && unseenCount > rcloneUnseen.length) rcloneUnseen.push(`(${unseenCount - rcloneUnseen.length} more, found identical by the MD5 pass)`);
  if (!rclone.ran) disagreements.push(`rclone did not run: ${rclone.error}`);
  else {
    const expectMissing = [...rel(md5.missing), ...rel(md5.archived)].sort();
    if (!sameSet(rclone.missingOnGcs, expectMissing)) disagreements.push(`missing on GCS: rclone ${JSON.stringify(rclone.missingOnGcs.slice(0, 20))}, MD5 pass (missing + archived) ${JSON.stringify(expectMissing.slice(0, 20))}`);
    if (!sameSet(rclone.missingOnS3, rel(md5.extra))) disagreements.push(`extra in GCS: rclone ${JSON.stringify(rclone.missingOnS3.slice(0, 20))}, MD5 pass ${JSON.stringify(rel(md5.extra).slice(0, 20))}`);
    // rclone sees only size and MD5 differences where both sides have an MD5: every one it finds the MD5 pass must find.
    const notInMd5 = rclone.differ.filter((k) => !rel(md5.different).includes(k));
    if (notInMd5.length) disagreements.push(`rclone finds different what the MD5 pass finds identical: ${JSON.stringify(notInMd5.slice(0, 20))}`);
    if (rclone.errors.length) disagreements.push(`rclone errors on ${JSON.stringify(rclone.errors.slice(0, 20))}`);
  }
  return { md5, rclone, disagreements, rcloneUnseen };
}
