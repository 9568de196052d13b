// The reference design's state table, exactly as its CREATE TABLE makes it (shared/reference: dir_key
// VARCHAR(500) PRIMARY KEY and 16 columns, all nullable), and rows in every state its modes leave them in,
// written with the reference's own statements (insert_query, update_query, start_query, end_query).
import type { Db } from '../../src/common/db.js';

export const REFERENCE_DDL = (table: string): string => `CREATE TABLE ${table} (
  dir_key VARCHAR(500) PRIMARY KEY,
  initial_transfer BOOLEAN DEFAULT TRUE,
  s3_size BIGINT(63) UNSIGNED DEFAULT 0,
  gcs_size BIGINT(63) UNSIGNED DEFAULT 0,
  cdn_transfer_published BOOLEAN DEFAULT FALSE,
  sync_check_published BOOLEAN DEFAULT FALSE,
  rsync_published BOOLEAN DEFAULT FALSE,
  sync_check_in_progress BOOLEAN DEFAULT FALSE,
  rsync_in_progress BOOLEAN DEFAULT FALSE,
  sync_check_frequency TINYINT UNSIGNED DEFAULT 0,
  rsync_frequency TINYINT UNSIGNED DEFAULT 0,
  sync_check_last_start DATETIME,
  sync_check_last_end DATETIME,
  rsync_last_start DATETIME,
  rsync_last_end DATETIME,
  sync_check_error TEXT,
  rsync_error TEXT
)`;

export const REFERENCE_COLUMNS = [
  'dir_key', 'initial_transfer', 's3_size', 'gcs_size', 'cdn_transfer_published', 'sync_check_published', 'rsync_published',
  'sync_check_in_progress', 'rsync_in_progress', 'sync_check_frequency', 'rsync_frequency', 'sync_check_last_start',
  'sync_check_last_end', 'rsync_last_start', 'rsync_last_end', 'sync_check_error', 'rsync_error',
] as const;

const T = (s: string): Date => new Date(`2026-03-0${s}Z`);

/**
 * One row per state, keyed by subfolder name under `root`. `sizes` are the subfolders' real S3 / GCS byte
 * counts for the rows the reference had measured.
 */
export async function referenceRows(db: Db, table: string, root: string, sizes: Record<string, { s3: number; gcs: number }>): Promise<void> {
  const q = (sql: string, args: unknown[]): Promise<unknown> => db.query(sql.replaceAll('MYSQL_TABLE', table), args);
  const insert = (name: string): Promise<unknown> => q('INSERT INTO MYSQL_TABLE (dir_key) VALUES (?)', [`${root}${name}/`]);
  const key = (name: string): string => `${root}${name}/`;
  // new: loaded by the dump only
  await insert('new');
  // published: publishObjectsList's update_query; its objects lists sat in the reference's queue
  await insert('published');
  await q('UPDATE MYSQL_TABLE SET initial_transfer = FALSE, cdn_transfer_published = TRUE WHERE dir_key = ?', [key('published')]);
  // sync check published, not yet started
  await insert('check-published');
  await q('UPDATE MYSQL_TABLE SET initial_transfer = FALSE, cdn_transfer_published = TRUE, sync_check_published = TRUE WHERE dir_key = ?', [key('check-published')]);
  // sync check in progress (start_query ran, end_query never did: a worker died)
  await insert('checking');
  await q('UPDATE MYSQL_TABLE SET initial_transfer = FALSE, cdn_transfer_published = TRUE, sync_check_published = TRUE WHERE dir_key = ?', [key('checking')]);
  await q('UPDATE MYSQL_TABLE SET sync_check_in_progress = TRUE, sync_check_last_start = (?) WHERE dir_key = (?) AND sync_check_in_progress = FALSE AND rsync_in_progress = FALSE', [T('1T10:00:00'), key('checking')]);
  // checked equal, twice, the frequency at the TINYINT's top on another row
  for (const [name, freq] of [['equal', 2], ['checked-often', 255]] as const) {
    await insert(name);
    await q('UPDATE MYSQL_TABLE SET initial_transfer = FALSE, cdn_transfer_published = TRUE, sync_check_published = TRUE, sync_check_frequency = ? WHERE dir_key = ?', [freq - 1, key(name)]);
    await q('UPDATE MYSQL_TABLE SET sync_check_in_progress = TRUE, sync_check_last_start = (?) WHERE dir_key = (?) AND sync_check_in_progress = FALSE AND rsync_in_progress = FALSE', [T('2T10:00:00'), key(name)]);
    await q('UPDATE MYSQL_TABLE SET sync_check_in_progress = FALSE, s3_size = (?), gcs_size = (?), sync_check_last_end = (?), sync_check_frequency = sync_check_frequency + 1, sync_check_error = (?) WHERE dir_key = (?)', [sizes[name].s3, sizes[name].gcs, T('2T10:05:00'), null, key(name)]);
  }
  // checked, sizes differ, rsync published
  await insert('mismatched');
  await q('UPDATE MYSQL_TABLE SET initial_transfer = FALSE, cdn_transfer_published = TRUE, sync_check_published = TRUE, sync_check_frequency = 1, s3_size = ?, gcs_size = ?, sync_check_last_start = ?, sync_check_last_end = ?, rsync_published = TRUE WHERE dir_key = ?', [sizes.mismatched.s3, sizes.mismatched.gcs, T('3T08:00:00'), T('3T08:01:00'), key('mismatched')]);
  // rsync in progress
  await insert('rsyncing');
  await q('UPDATE MYSQL_TABLE SET initial_transfer = FALSE, cdn_transfer_published = TRUE, sync_check_published = TRUE, sync_check_frequency = 1, s3_size = ?, gcs_size = ?, sync_check_last_start = ?, sync_check_last_end = ?, rsync_published = TRUE WHERE dir_key = ?', [sizes.rsyncing.s3, sizes.rsyncing.gcs, T('3T08:00:00'), T('3T08:01:00'), key('rsyncing')]);
  await q('UPDATE MYSQL_TABLE SET rsync_in_progress = TRUE, rsync_last_start = (?) WHERE dir_key = (?) AND sync_check_in_progress = FALSE AND rsync_in_progress = FALSE', [T('4T09:00:00'), key('rsyncing')]);
  // rsynced with an error (gcloud failed), sizes still differ; a sync check error from before too
  await insert('rsync-failed');
  await q('UPDATE MYSQL_TABLE SET initial_transfer = FALSE, cdn_transfer_published = TRUE, sync_check_published = TRUE, sync_check_frequency = 3, sync_check_last_start = ?, sync_check_last_end = ?, sync_check_error = ?, rsync_published = TRUE WHERE dir_key = ?', [T('3T08:00:00'), T('3T08:01:00'), 'An error occurred (SlowDown) when calling the ListObjectsV2 operation', key('rsync-failed')]);
  await q('UPDATE MYSQL_TABLE SET rsync_in_progress = TRUE, rsync_last_start = (?) WHERE dir_key = (?) AND sync_check_in_progress = FALSE AND rsync_in_progress = FALSE', [T('4T09:00:00'), key('rsync-failed')]);
  await q('UPDATE MYSQL_TABLE SET rsync_in_progress = FALSE, s3_size = (?), gcs_size = (?), rsync_last_end = (?), rsync_frequency = rsync_frequency + 1, rsync_error = (?) WHERE dir_key = (?)', [sizes['rsync-failed'].s3, sizes['rsync-failed'].gcs, T('4T09:30:00'), 'ERROR: (gcloud.storage.rsync) HTTPError 503: Service Unavailable', key('rsync-failed')]);
  // a row written by hand with NULLs where the reference's columns allow them
  await q('INSERT INTO MYSQL_TABLE (dir_key, initial_transfer, s3_size, gcs_size, cdn_transfer_published, sync_check_published, rsync_published, sync_check_in_progress, rsync_in_progress, sync_check_frequency, rsync_frequency) VALUES (?, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)', [key('nulls')]);
}

/** The reference's defaults for a NULL it allowed (ours are NOT NULL). */
export const DEFAULTS_FOR_NULL = { initial_transfer: 1, s3_size: 0, gcs_size: 0, cdn_transfer_published: 0, sync_check_published: 0, rsync_published: 0, sync_check_in_progress: 0, rsync_in_progress: 0, sync_check_frequency: 0, rsync_frequency: 0 };
