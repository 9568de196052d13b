// S3 changes while the migration runs, as a live bucket does: in subfolders already copied whole (every
// object in GCS), objects are added, overwritten with new bytes of another size, overwritten with new bytes
// of the SAME size (the only change in its subfolder, so a size/count check cannot be what finds it), and
// deleted; a new object appears directly under the root and a new subfolder appears. Each change is kept,
// so a failure can say which change a bad key came from.
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { putOne } from '../../demo/index.js';
import { dirOf, isArchived, type ChaosObject } from './dataset.js';

export type ChangeKind = 'added' | 'overwritten-resized' | 'overwritten-same-size' | 'deleted' | 'added-root' | 'added-new-subfolder';

export interface Change {
  kind: ChangeKind;
  key: string;
  dir: string;
}

/**
 * Picks subfolders whose every object is in GCS (`inGcs`: the GCS names listed now) and changes them.
 * Returns the changes, or undefined if fewer than four such subfolders exist yet (call again later).
 * With `force`, takes the subfolders with the most objects in GCS instead (the copy left some behind);
 * `unfinished` then names those that were not whole.
 */
export async function changeSource(
  s3: S3Client,
  bucket: string,
  root: string,
  dataset: ChaosObject[],
  inGcs: ReadonlySet<string>,
  force = false,
): Promise<{ changes: Change[]; unfinished: string[] } | undefined> {
  const byDir = new Map<string, ChaosObject[]>();
  for (const o of dataset) if (o.key.startsWith(`${root}set-`) && !isArchived(o)) byDir.set(dirOf(o.key, root), [...(byDir.get(dirOf(o.key, root)) ?? []), o]);
  const copied = (list: ChaosObject[]): number => list.filter((o) => inGcs.has(o.key)).length;
  const candidates = [...byDir.entries()].filter(([, list]) => list.length >= 4 && list.some((o) => o.sizeBytes > 0 && !o.multipart));
  let finished = candidates.filter(([, list]) => copied(list) === list.length).sort(([a], [b]) => (a < b ? -1 : 1));
  const unfinished: string[] = [];
  if (finished.length < 4 && force) {
    finished = [...candidates].sort(([, a], [, b]) => copied(b) / b.length - copied(a) / a.length).slice(0, 4);
    for (const [d, list] of finished) if (copied(list) < list.length) unfinished.push(d);
  }
  if (finished.length < 4) return undefined;
  const step = Math.floor(finished.length / 4);
  const [addTo, resize, sameSize, del] = [0, 1, 2, 3].map((i) => finished[i * step]);
  const changes: Change[] = [];
  const put = async (kind: ChangeKind, o: ChaosObject): Promise<void> => {
    await putOne(s3, bucket, o);
    changes.push({ kind, key: o.key, dir: dirOf(o.key, root) });
  };
  await put('added', { key: `${addTo[0]}late-1.bin`, sizeBytes: 3333, multipart: false });
  await put('added', { key: `${addTo[0]}nested/deeper/late-2.bin`, sizeBytes: 0, multipart: false });
  const r = resize[1].find((o) => o.sizeBytes > 0)!;
  await put('overwritten-resized', { ...r, sizeBytes: r.sizeBytes + 100, contentSeed: `${r.key}#v2` });
  // The same-size overwrite: the only change in its subfolder.
  const s = sameSize[1].find((o) => o.sizeBytes > 0)!;
  await put('overwritten-same-size', { ...s, contentSeed: `${s.key}#v2` });
  for (const o of del[1].slice(0, 2)) {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.key }));
    changes.push({ kind: 'deleted', key: o.key, dir: dirOf(o.key, root) });
  }
  await put('added-root', { key: `${root}root-late-arrival.txt`, sizeBytes: 2222, multipart: false });
  for (let i = 0; i < 3; i++) await put('added-new-subfolder', { key: `${root}late-subfolder/obj-${i}.bin`, sizeBytes: 1000 * (i + 1), multipart: false });
  return { changes, unfinished };
}
