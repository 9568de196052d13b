// Rows for the publisher tests, inserted as `dump` inserts them (new: initial_transfer, unpublished),
// with any other columns a test needs set (e.g. sizes after a sync check).
import type { Db } from '../../src/common/db.js';

export async function seedRows(db: Db, dirKeys: string[], set: Record<string, unknown> = {}, table = 'transfer_state'): Promise<void> {
  for (let i = 0; i < dirKeys.length; i += 500) {
    const rows = dirKeys.slice(i, i + 500).map((k) => [k, k]);
    await db.query(`INSERT INTO \`${table}\` (dir_key, dir_key_sha) VALUES ${rows.map(() => '(?, UNHEX(SHA2(?, 256)))').join(', ')}`, rows.flat());
  }
  const cols = Object.keys(set);
  if (cols.length) await db.query(`UPDATE \`${table}\` SET ${cols.map((c) => `\`${c}\` = ?`).join(', ')} WHERE dir_key IN (?)`, [...Object.values(set), dirKeys]);
}
