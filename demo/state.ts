// What the orchestrator reads to know a stage is done: the state table (read-only, by the documented
// columns of sql/README.md), GCS listings, and the error topic (through our own audit subscription).
import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { Storage } from '@google-cloud/storage';
import { PubSub, type Message, type Subscription } from '@google-cloud/pubsub';
import { PROJECT } from './setupCloud.js';

export interface Totals {
  rows: number;
  published: number;
  publishedObjects: number;
  publishedBytes: number;
  copiedObjects: number;
  copiedBytes: number;
  skippedObjects: number;
  failedObjects: number;
}

export async function totals(db: Pool, table: string): Promise<Totals> {
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS n, COALESCE(SUM(cdn_transfer_published), 0) AS pub, COALESCE(SUM(published_objects), 0) AS po, COALESCE(SUM(published_bytes), 0) AS pb,
            COALESCE(SUM(copied_objects), 0) AS co, COALESCE(SUM(copied_bytes), 0) AS cb, COALESCE(SUM(skipped_objects), 0) AS so, COALESCE(SUM(failed_objects), 0) AS fo
       FROM \`${table}\``,
  );
  const r = rows[0];
  return {
    rows: Number(r.n),
    published: Number(r.pub),
    publishedObjects: Number(r.po),
    publishedBytes: Number(r.pb),
    copiedObjects: Number(r.co),
    copiedBytes: Number(r.cb),
    skippedObjects: Number(r.so),
    failedObjects: Number(r.fo),
  };
}

export interface DirRow {
  dir_key: string;
  s3_size: number;
  gcs_size: number;
  s3_objects: number;
  gcs_objects: number;
  sync_check_published: number;
  sync_check_in_progress: number;
  sync_check_frequency: number;
  sync_check_last_end: string | null;
  sync_check_error: string | null;
  rsync_published: number;
  rsync_in_progress: number;
  rsync_frequency: number;
  rsync_last_end: string | null;
  rsync_error: string | null;
  deep_different: number | null;
  deep_missing: number | null;
}

export async function dirRows(db: Pool, table: string): Promise<DirRow[]> {
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT dir_key, s3_size, gcs_size, s3_objects, gcs_objects,
            sync_check_published, sync_check_in_progress, sync_check_frequency, DATE_FORMAT(sync_check_last_end, "%Y-%m-%d %H:%i:%s") AS sync_check_last_end, sync_check_error,
            rsync_published, rsync_in_progress, rsync_frequency, DATE_FORMAT(rsync_last_end, "%Y-%m-%d %H:%i:%s") AS rsync_last_end, rsync_error,
            deep_different, deep_missing
       FROM \`${table}\` ORDER BY dir_key`,
  );
  return rows.map((r) => ({
    ...(r as DirRow),
    s3_size: Number(r.s3_size),
    gcs_size: Number(r.gcs_size),
    s3_objects: Number(r.s3_objects),
    gcs_objects: Number(r.gcs_objects),
    deep_different: r.deep_different === null ? null : Number(r.deep_different),
    deep_missing: r.deep_missing === null ? null : Number(r.deep_missing),
  }));
}

export const isEqual = (r: DirRow): boolean => r.s3_size === r.gcs_size && r.s3_objects === r.gcs_objects && !r.deep_different && !r.deep_missing;

/** Rows holding a claim (flag on): at the end of a run there must be none. */
export async function heldClaims(db: Pool, table: string): Promise<Array<{ dir_key: string; mode: string; owner: string | null }>> {
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT dir_key, 'syncCheck' AS mode, sync_check_owner AS owner FROM \`${table}\` WHERE sync_check_in_progress
     UNION ALL SELECT dir_key, 'rsync', rsync_owner FROM \`${table}\` WHERE rsync_in_progress
     UNION ALL SELECT dir_key, 'publishObjectsList', cdn_publish_owner FROM \`${table}\` WHERE cdn_publish_owner IS NOT NULL AND NOT cdn_transfer_published`,
  );
  return rows as Array<{ dir_key: string; mode: string; owner: string | null }>;
}

/** Objects under prefix in the GCS bucket: name -> size. */
export async function gcsListing(storage: Storage, bucket: string, prefix: string): Promise<Map<string, number>> {
  const [files] = await storage.bucket(bucket).getFiles({ prefix, autoPaginate: true });
  return new Map(files.map((f) => [f.name, Number(f.metadata.size)]));
}

export interface ErrorRecord {
  raw: string;
  message: Record<string, unknown>;
}

/** Collects (and acks) every message on the error topic, through a subscription created before the run. */
export class ErrorTopicAudit {
  readonly received: ErrorRecord[] = [];
  private pubsub = new PubSub({ projectId: PROJECT });
  private sub: Subscription;

  constructor(subscription: string) {
    this.sub = this.pubsub.subscription(subscription);
    this.sub.on('message', (m: Message) => {
      const raw = m.data.toString('utf8');
      let message: Record<string, unknown> = {};
      try {
        message = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        message = { unparsable: raw };
      }
      this.received.push({ raw, message });
      m.ack();
    });
    this.sub.on('error', () => undefined); // the emulator going away at the end is not news
  }

  /** Keys named by the error messages (distinct). */
  keys(): string[] {
    return [...new Set(this.received.map((e) => String(e.message.key ?? e.message.dir_key ?? '')))];
  }

  async close(): Promise<void> {
    await this.sub.close().catch(() => undefined);
    await this.pubsub.close().catch(() => undefined);
  }
}
