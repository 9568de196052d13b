// Deliberate damage to the destination, so the demo shows syncCheck finding it and rsync repairing it:
// in a few subfolders one object is deleted and another overwritten with different bytes of the same
// size (only a checksum can tell), and in one more an object changes size. Deterministic picks.
import type { Storage } from '@google-cloud/storage';
import { contentStream, type DemoObject } from './dataset.js';

export interface Damage {
  deleted: string[];
  overwrittenSameSize: string[];
  resized: string[];
  /** Subfolders (S3 dir_keys) that now differ. */
  dirs: string[];
}

/** The subfolder (dir_key) an object belongs to: root plus its first path segment. */
export function dirKeyOf(key: string, root: string): string {
  return `${root}${key.slice(root.length).split('/')[0]}/`;
}

async function bytes(key: string, size: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of contentStream(key, size)) parts.push(b as Buffer);
  return Buffer.concat(parts);
}

export async function damageGcs(
  storage: Storage,
  bucket: string,
  gcsName: (s3Key: string) => string,
  objects: DemoObject[],
  root: string,
  subfolders = 3,
  /** Objects not to touch (e.g. never copied); their subfolders are avoided too. */
  avoidKeys: ReadonlySet<string> = new Set(),
): Promise<Damage> {
  const avoidDirs = new Set([...avoidKeys].map((k) => dirKeyOf(k, root)));
  // Subfolders with at least two small non-empty objects, spread over the listing.
  const byDir = new Map<string, DemoObject[]>();
  for (const o of objects) {
    if (o.multipart || o.sizeBytes === 0 || o.sizeBytes > 4 * 1024 * 1024) continue;
    const d = dirKeyOf(o.key, root);
    if (!d.startsWith(`${root}set-`) || avoidDirs.has(d)) continue;
    byDir.set(d, [...(byDir.get(d) ?? []), o]);
  }
  const candidates = [...byDir.entries()].filter(([, list]) => list.length >= 2).sort(([a], [b]) => (a < b ? -1 : 1));
  if (candidates.length < subfolders + 1) throw new Error(`damage: need ${subfolders + 1} subfolders with two objects, found ${candidates.length}`);
  const step = Math.floor(candidates.length / (subfolders + 1));
  const picked = Array.from({ length: subfolders + 1 }, (_, i) => candidates[i * step + Math.floor(step / 2)]);
  const dmg: Damage = { deleted: [], overwrittenSameSize: [], resized: [], dirs: [] };
  const b = storage.bucket(bucket);
  for (const [i, [dir, list]] of picked.entries()) {
    dmg.dirs.push(dir);
    if (i < subfolders) {
      const [gone, changed] = list;
      await b.file(gcsName(gone.key)).delete();
      dmg.deleted.push(gone.key);
      await b.file(gcsName(changed.key)).save(await bytes(`${changed.key}#damaged`, changed.sizeBytes), { resumable: false, validation: false });
      dmg.overwrittenSameSize.push(changed.key);
    } else {
      const [grown] = list;
      await b.file(gcsName(grown.key)).save(await bytes(`${grown.key}#damaged`, grown.sizeBytes + 17), { resumable: false, validation: false });
      dmg.resized.push(grown.key);
    }
  }
  return dmg;
}
