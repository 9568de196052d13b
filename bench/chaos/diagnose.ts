// Why a key came out wrong: for each key the verifier found missing, different or extra, what is known
// about it from outside the tool: its shape in the dataset, the S3 change it came from (if any), and its
// subfolder's row in the state table (what the tool believed). The lead routes bugs from these lines.
import type { RowDataPacket } from 'mysql2/promise';
import { dirOf, type ChaosObject } from './dataset.js';
import type { Change } from './mutate.js';
import type { ChaosCtx } from './procs.js';

/** sql/004_status_phase.sql's phase numbers, for reading the rows (the run reads the table, never writes it). */
const PHASE_NAMES = ['new', 'published', 'transferred', 'checked equal', 'mismatched', 'rsynced', 'failed'];

function shape(o: ChaosObject | undefined, key: string, root: string): string {
  if (!o) return 'not in the seeded dataset';
  const bits: string[] = [`${o.sizeBytes} B`];
  if (dirOf(key, root) === root) bits.push('directly under the root');
  if (o.partBytes) bits.push(`multipart, parts ${o.partBytes.map((b) => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(0)}MiB` : `${b}B`)).join('+')}`);
  else if (o.multipart) bits.push('multipart, uniform parts');
  if (o.storageClass) bits.push(o.storageClass);
  if (/[^\x20-\x7e]|[ +%#?&]|\/\/|\.$/.test(key.slice(root.length))) bits.push('odd key');
  return bits.join(', ');
}

export async function diagnose(c: ChaosCtx, dataset: ChaosObject[], changes: Change[], bad: { kind: string; keys: string[] }[]): Promise<string[]> {
  const root = c.names.root;
  const byKey = new Map(dataset.map((o) => [o.key, o]));
  const dirs = [...new Set(bad.flatMap((b) => b.keys.map((k) => dirOf(k, root))))];
  const rows = new Map<string, RowDataPacket>();
  if (dirs.length) {
    try {
      const [found] = await c.db.query<RowDataPacket[]>(
        `SELECT dir_key, phase, s3_objects, gcs_objects, s3_size, gcs_size, deep_missing, deep_different, cdn_transfer_published, published_objects, copied_objects, skipped_objects, failed_objects, sync_check_error, rsync_error
           FROM \`${c.names.table}\` WHERE dir_key IN (?)`,
        [dirs],
      );
      for (const r of found) rows.set(r.dir_key as string, r);
    } catch (err) {
      return [`(state table unreadable for the diagnosis: ${(err as Error).message})`];
    }
  }
  const out: string[] = [];
  for (const b of bad) {
    for (const key of b.keys) {
      const dir = dirOf(key, root);
      const r = rows.get(dir);
      const ch = changes.filter((x) => x.key === key).map((x) => x.kind);
      const row = r
        ? `row ${dir}: phase ${PHASE_NAMES[Number(r.phase)] ?? r.phase}, published ${r.published_objects}, copied ${r.copied_objects}, skipped ${r.skipped_objects}, failed ${r.failed_objects}, measured S3 ${r.s3_objects}/${r.s3_size} B vs GCS ${r.gcs_objects}/${r.gcs_size} B, deep missing ${r.deep_missing ?? '-'} different ${r.deep_different ?? '-'}${r.sync_check_error ? `, sync_check_error ${String(r.sync_check_error).slice(0, 120)}` : ''}${r.rsync_error ? `, rsync_error ${String(r.rsync_error).slice(0, 120)}` : ''}`
        : `no row for ${JSON.stringify(dir)} in the state table`;
      out.push(`${b.kind} ${JSON.stringify(key)} [${shape(byKey.get(key), key, root)}${ch.length ? `; S3 change: ${ch.join(', ')}` : ''}]: ${row}`);
    }
  }
  return out;
}
