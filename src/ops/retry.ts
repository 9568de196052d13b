// `ott retry --failed [--reason R]`: publishes every open entry of the failed-object ledger again, as
// objects-list messages on pubsub_topic_id (the publishers' topic and packer), for cdnTransfer to copy.
// A page of the ledger at a time (index order): its keys are packed per subfolder, published, and marked
// retried once Pub/Sub acknowledged every message of the page. Entries stay open: only a verified copy
// resolves them, so one that fails again is still there, with its new reason and attempts. Unmigratable
// entries (set aside by the publisher: GCS cannot hold them as they are) only with --reason unmigratable.
import type { Ctx } from '../common/context.js';
import { ObjectsPacker, type ObjectEntry, type PackedMessage } from '../common/messages.js';
import { dirKeyHash, openTopic } from '../publisher/topic.js';
import { markRetried, openEntries } from '../state/ledger.js';

export interface RetryArgs {
  /** Only this reason class (REASON_CLASSES in src/common/errors.ts). */
  reason?: string;
  /** Keys per page (and the most in flight to Pub/Sub at once). */
  pageSize?: number;
}

export interface RetrySummary {
  objects: number;
  messages: number;
  subfolders: number;
  /** Entries marked retried (an entry resolved meanwhile is not). */
  marked: number;
  seconds: number;
}

const MODE = 'retry';

export async function run(ctx: Ctx, args: RetryArgs = {}): Promise<RetrySummary> {
  const started = Date.now();
  const table = ctx.config.mysql_table;
  const topic = await openTopic(ctx, MODE);
  const s: RetrySummary = { objects: 0, messages: 0, subfolders: 0, marked: 0, seconds: 0 };
  const dirs = new Set<string>();
  let after: Buffer | undefined;
  for (;;) {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
    // Unmigratable objects (names GCS refuses, over 5 TiB) cannot be copied as they are: only on request.
    const page = await openEntries(ctx.db, table, { reasonClass: args.reason, notReasonClass: args.reason ? undefined : 'unmigratable', limit: args.pageSize ?? 1000, after });
    if (!page.entries.length) break;
    after = page.after;
    const byDir = new Map<string, ObjectEntry[]>();
    for (const e of page.entries) byDir.set(e.dirKey, [...(byDir.get(e.dirKey) ?? []), e.entry]);
    const acks: Promise<string>[] = [];
    const send = (dirKey: string, m: PackedMessage): void => {
      s.messages++;
      s.objects += m.objects;
      acks.push(topic.publish(m.data, { v: '1', kind: 'objects', dir_key_sha: dirKeyHash(dirKey), objects: String(m.objects), retry: 'failed' }));
    };
    for (const [dirKey, entries] of byDir) {
      dirs.add(dirKey);
      const packer = new ObjectsPacker(dirKey, ctx.config.num_single_message);
      for (const e of entries) {
        const full = packer.add(e);
        if (full) send(dirKey, full);
      }
      const last = packer.flush();
      if (last) send(dirKey, last);
    }
    await topic.flush();
    // Marked only once Pub/Sub holds every message of the page: a refusal throws and marks nothing.
    await Promise.all(acks);
    s.marked += await markRetried(ctx.db, table, page.entries.map((e) => e.key));
    ctx.log.info(`${MODE}: published a page of failed objects again`, { objects: page.entries.length, subfolders: byDir.size });
  }
  s.subfolders = dirs.size;
  s.seconds = Math.round((Date.now() - started) / 100) / 10;
  return s;
}
