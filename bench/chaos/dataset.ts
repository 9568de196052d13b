// The chaos run's source bucket, described as data (demo/dataset.ts's object shape): mostly small objects
// in many subfolders, as real buckets are, plus every shape issue 14 names: empty objects, objects of
// several MiB, multipart objects with uniform and non-uniform parts (one of 64 MiB+ at full size), odd keys,
// objects directly under the root, objects in storage classes CloudFront serves (GLACIER_IR, STANDARD_IA,
// INTELLIGENT_TIERING) and archived ones it cannot (GLACIER, DEEP_ARCHIVE, Intelligent-Tiering archive tiers).
import type { DemoObject } from '../../demo/index.js';

export const MiB = 1024 * 1024;

export interface ChaosObject extends DemoObject {
  /** Set after upload with the S3 fixture's access-tier control (an INTELLIGENT_TIERING object S3 archived). */
  accessTier?: 'ARCHIVE_ACCESS' | 'DEEP_ARCHIVE_ACCESS';
}

/** Archived: S3 answers GET with 403 InvalidObjectState; out of scope until restored. */
export function isArchived(o: ChaosObject): boolean {
  return o.storageClass === 'GLACIER' || o.storageClass === 'DEEP_ARCHIVE' || o.accessTier !== undefined;
}

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Subfolder `set-NNNN/` of the root. */
export const setDir = (root: string, i: number): string => `${root}set-${String(i).padStart(4, '0')}/`;

/**
 * About `objects` objects under `root`. At 10,000 and more the big tail holds a 64 MiB + 1 B multipart
 * object; smaller runs keep the same shapes with smaller big objects, so they stay quick.
 */
export function buildChaosDataset(objects: number, root: string): ChaosObject[] {
  const full = objects >= 10_000;
  // Small runs (the test's): the same shapes with the fewest bytes S3's 5 MiB minimum part allows.
  const small = objects < 1000;
  const rnd = prng(14);
  const out: ChaosObject[] = [];
  const add = (o: ChaosObject): void => void out.push(o);

  // Directly under the root (issue 14 point 1): no subfolder of their own.
  add({ key: `${root}root-level-file.txt`, sizeBytes: 1234, multipart: false, contentType: 'text/plain' });
  add({ key: `${root}root-empty`, sizeBytes: 0, multipart: false });
  add({ key: `${root}root unicodé.bin`, sizeBytes: 70_000, multipart: false });

  // Odd keys (one subfolder), case-only differences (two subfolders).
  const odd = `${root}odd keys/`;
  for (const name of ['space file.txt', 'plus+sign.txt', 'percent%20literal.txt', 'unicodé-日本語.txt', 'hash#q?amp&.txt', 'trailing dot.', 'double//slash.txt', 'ctrl\u0001char.txt', 'tab\there.txt']) {
    add({ key: odd + name, sizeBytes: 1000 + name.length, multipart: false, contentType: 'text/plain' });
  }
  add({ key: `${root}Case/x.txt`, sizeBytes: 11, multipart: false });
  add({ key: `${root}case/x.txt`, sizeBytes: 12, multipart: false });

  // The big tail: multipart with uniform parts (lib-storage's 5 MiB) and exact non-uniform parts.
  const big = `${root}big/`;
  add({ key: `${big}uniform.bin`, sizeBytes: (full ? 64 : small ? 10 : 16) * MiB + 1, multipart: true, contentType: 'application/x-chaos', metadata: { shape: 'uniform' } });
  const partsA = small ? [5 * MiB, 6 * MiB, 1024] : [5 * MiB, 7 * MiB, 5 * MiB, 1024];
  const partsB = [6 * MiB, 5 * MiB, 9 * MiB, 3 * MiB];
  const sum = (parts: number[]): number => parts.reduce((a, b) => a + b, 0);
  add({ key: `${big}non-uniform-a.bin`, sizeBytes: sum(partsA), multipart: true, partBytes: partsA });
  if (!small) add({ key: `${big}non-uniform-b.bin`, sizeBytes: sum(partsB), multipart: true, partBytes: partsB });
  add({ key: `${big}single-put.bin`, sizeBytes: (full ? 20 : small ? 3 : 6) * MiB + 3, multipart: false });

  // Storage classes: served ones are in scope; archived ones are not (reported, never fetched in a loop).
  const classes = `${root}classes/`;
  for (const c of ['GLACIER_IR', 'STANDARD_IA', 'INTELLIGENT_TIERING', 'STANDARD']) add({ key: `${classes}served-${c}.bin`, sizeBytes: 4096, multipart: false, storageClass: c });
  add({ key: `${classes}archived-glacier.bin`, sizeBytes: 5000, multipart: false, storageClass: 'GLACIER' });
  add({ key: `${classes}archived-deep.bin`, sizeBytes: 6000, multipart: false, storageClass: 'DEEP_ARCHIVE' });
  add({ key: `${classes}archived-it-archive.bin`, sizeBytes: 7000, multipart: false, storageClass: 'INTELLIGENT_TIERING', accessTier: 'ARCHIVE_ACCESS' });
  add({ key: `${classes}archived-it-deep.bin`, sizeBytes: 8000, multipart: false, storageClass: 'INTELLIGENT_TIERING', accessTier: 'DEEP_ARCHIVE_ACCESS' });
  add({ key: `${classes}archived-multipart.bin`, sizeBytes: 5 * MiB + 1024, multipart: true, partBytes: [5 * MiB, 1024], storageClass: 'GLACIER' });

  // The bulk: subfolders of ~25 objects (some nested), sizes from 0 B up, a few of several MiB.
  for (let i = 0; out.length < objects; i++) {
    const dir = setDir(root, i);
    // Small runs get small subfolders, so there are enough of them for the S3 changes.
    const n = Math.min(small ? 6 + Math.floor(rnd() * 7) : 15 + Math.floor(rnd() * 21), objects - out.length);
    for (let j = 0; j < n; j++) {
      const r = rnd();
      const size = r < 0.05 ? 0 : r < 0.9 ? Math.floor(rnd() * 64 * 1024) : r < 0.995 ? Math.floor(rnd() * MiB) : MiB + Math.floor(rnd() * 5 * MiB);
      add({
        key: `${dir}${rnd() < 0.2 ? 'nested/deeper/' : ''}obj-${j}.bin`,
        sizeBytes: size,
        multipart: false,
        contentType: j % 3 === 0 ? 'application/octet-stream' : undefined,
        metadata: j % 4 === 0 ? { owner: `team-${j % 7}` } : undefined,
        // An archived object now and then among ordinary ones.
        ...(i % 97 === 5 && j === 1 ? { storageClass: 'DEEP_ARCHIVE' } : {}),
      });
    }
  }
  return out;
}

/** The subfolder (dir_key) an object belongs to, or the root itself for an object directly under it. */
export function dirOf(key: string, root: string): string {
  const rest = key.slice(root.length);
  const slash = rest.indexOf('/');
  return slash === -1 ? root : `${root}${rest.slice(0, slash)}/`;
}
