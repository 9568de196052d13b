// A last-modified cutoff for filter tests, found from S3's own stamps instead of sleeps: S3 (and the
// emulator) may stamp whole seconds, so "sleep 1.5 s, take now, sleep 1.5 s" only hopes the second turned.
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { waitFor } from './wait.js';

/** The LastModified S3 lists for `key` (what a listing-driven filter sees), in ms. */
export async function listedLastModified(s3: S3Client, bucket: string, key: string): Promise<number> {
  const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 }));
  const hit = r.Contents?.find((c) => c.Key === key);
  if (!hit?.LastModified) throw new Error(`s3://${bucket}/${key} is not listed: cannot read its LastModified`);
  return hit.LastModified.getTime();
}

/**
 * An ISO instant strictly after the listed LastModified of every `earlier` key (already written) and strictly
 * before that of every `later` key, which `writeLater` writes, and writes again until S3 stamps them all after
 * the cutoff (a wait for S3's clock to pass it, with a deadline).
 */
export async function cutoffBetween(s3: S3Client, bucket: string, earlier: string[], later: string[], writeLater: () => Promise<void>): Promise<string> {
  const stamps = async (keys: string[]): Promise<number[]> => Promise.all(keys.map((k) => listedLastModified(s3, bucket, k)));
  // The next whole second after the latest stamp: strictly after it whether S3 stamps seconds or milliseconds.
  const cutoff = (Math.floor(Math.max(...(await stamps(earlier))) / 1000) + 1) * 1000;
  await waitFor(`S3 to stamp ${later.join(', ')} after ${new Date(cutoff).toISOString()}`, async () => {
    await writeLater();
    return Math.min(...(await stamps(later))) > cutoff;
  }, 30_000);
  return new Date(cutoff).toISOString();
}
