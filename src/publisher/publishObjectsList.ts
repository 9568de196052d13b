// Mode `publishObjectsList`: claims subfolders whose objects list is not yet published, lists each one
// from S3 (recursive, filtered), and publishes its objects in messages of num_single_message keys. A
// subfolder is flagged published only after Pub/Sub acknowledged every one of its messages; a failure
// releases it with the reason on its row, to be retried later. At-least-once: a crash re-publishes the
// subfolder after its lease, and the transfer workers skip objects already copied.
import { setMaxListeners } from 'node:events';
import type { Ctx } from '../common/context.js';
import { requireFields } from '../common/config/schema.js';
import { classify } from '../common/errors.js';
import { encodeMessage, packObjects, type ObjectEntry } from '../common/messages.js';
import { startProgress } from '../common/progress.js';
import { withRetry } from '../common/retry.js';
import { InflightWindow } from './inflight.js';
import { objectFilter, s3Lister, type ObjectFilter, type ObjectLister } from './listObjects.js';
import { claimableRows, runClaimLoop } from './loop.js';
import { claim, claimablePage, countClaimable, markObjectsPublished, owned, release, renew, type PendingRow } from './sql.js';
import { dirKeyHash, openTopic, type PublishTopic } from './topic.js';

const MODE = 'publishObjectsList';
/** Subfolders listed and published at the same time by one publisher. */
export const PUBLISH_CONCURRENCY = 64;
/** Rows per claim statement. */
const CLAIM_BATCH = 64;
/** Per subfolder: messages and bytes handed to Pub/Sub but not yet acknowledged. */
const INFLIGHT_MESSAGES = 200;
const INFLIGHT_BYTES = 16 * 1024 * 1024;
/** A subfolder whose publish failed is claimable again after this long. */
const RETRY_AFTER_SECONDS = 60;
const SAMPLE = 10;

export interface PublishObjectsArgs {
  follow?: boolean;
  dryRun?: boolean;
  /** Replaces the S3 listing (the benchmark's fixture). */
  lister?: ObjectLister;
  retryAfterSeconds?: number;
}

export interface PublishObjectsSummary {
  dry_run: boolean;
  /** In a dry run, and for objects/bytes/messages too: what would have been published. */
  subfolders_published: number;
  subfolders_failed: number;
  /** Published, but another publisher had taken the lease over: it flags the row, not us. */
  subfolders_lease_lost: number;
  objects: number;
  bytes: number;
  messages: number;
  filtered: Record<'last_modified_after' | 'last_modified_before' | 'storage_class', number>;
  failures: { dir_key: string; reason: string }[];
  seconds: number;
}

interface SubfolderStats {
  objects: number;
  bytes: number;
  messages: number;
}

async function* kept(objects: AsyncIterable<ObjectEntry>, filter: ObjectFilter, s: PublishObjectsSummary, ctx: Ctx): AsyncGenerator<ObjectEntry> {
  for await (const o of objects) {
    const f = filter(o);
    if (f.keep) {
      yield o;
      continue;
    }
    s.filtered[f.why]++;
    ctx.log.debug('publishObjectsList: object filtered out', { key: o.key, why: f.why, last_modified: o.last_modified, storage_class: o.storage_class });
  }
}

/** Lists, packs and publishes one subfolder; resolves once Pub/Sub acknowledged every message. */
async function publishSubfolder(ctx: Ctx, row: PendingRow, source: AsyncIterable<ObjectEntry>, topic: PublishTopic | undefined, onMessage: (n: number) => void): Promise<SubfolderStats> {
  const stats: SubfolderStats = { objects: 0, bytes: 0, messages: 0 };
  const window = new InflightWindow(INFLIGHT_MESSAGES, INFLIGHT_BYTES);
  const attributes = { v: '1', kind: 'objects', dir_key_sha: dirKeyHash(row.dirKey) };
  try {
    for await (const msg of packObjects(row.dirKey, source, ctx.config.num_single_message)) {
      if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
      for (const o of msg.objects) stats.bytes += o.size;
      stats.objects += msg.objects.length;
      stats.messages++;
      if (topic) {
        const data = encodeMessage(msg);
        await window.add(topic.publish(data, { ...attributes, objects: String(msg.objects.length) }), data.length);
      }
      onMessage(msg.objects.length);
    }
    await window.drain();
  } catch (err) {
    // We MUST wait for every publish already handed over before the row is released: only then is the
    // outcome of this attempt known.
    await window.drain().catch(() => undefined);
    throw err;
  }
  return stats;
}

export async function run(ctx: Ctx, args: PublishObjectsArgs = {}): Promise<PublishObjectsSummary> {
  const { config, log, db } = ctx;
  const table = config.mysql_table;
  const retry = { maxAttempts: config.max_attempts, budgetMs: config.retry_budget_ms };
  if (!args.lister) requireFields(config, MODE, ['s3_bucket']);
  const lister = args.lister ?? s3Lister(ctx.clients.s3(), config.s3_bucket!, retry);
  const filter = objectFilter(config);
  // Every concurrent listing and backoff listens on the one shutdown signal: bounded, not a leak.
  setMaxListeners(PUBLISH_CONCURRENCY * 4 + 16, ctx.signal);
  const started = Date.now();
  const s: PublishObjectsSummary = {
    dry_run: !!args.dryRun,
    subfolders_published: 0,
    subfolders_failed: 0,
    subfolders_lease_lost: 0,
    objects: 0,
    bytes: 0,
    messages: 0,
    filtered: { last_modified_after: 0, last_modified_before: 0, storage_class: 0 },
    failures: [],
    seconds: 0,
  };
  const progress = startProgress(log, MODE, { rateKey: 'objects' });
  const onMessage = (n: number): void => progress.add({ objects: n, messages: 1 });
  const done = (): PublishObjectsSummary => {
    progress.stop();
    s.seconds = Math.round((Date.now() - started) / 100) / 10;
    return s;
  };

  if (args.dryRun) {
    // Nothing is claimed or published: each claimable subfolder is listed and what it would get is logged.
    for await (const row of claimableRows((afterId) => claimablePage(db, table, 'cdn', afterId, CLAIM_BATCH), { ...retry, signal: ctx.signal })) {
      const st = await publishSubfolder(ctx, row, kept(lister(row.dirKey, ctx.signal), filter, s, ctx), undefined, onMessage);
      s.objects += st.objects;
      s.bytes += st.bytes;
      s.messages += st.messages;
      s.subfolders_published++;
      progress.add({ subfolders: 1 });
      log.info('publishObjectsList (dry run): would publish', { dir_key: row.dirKey, ...st });
    }
    return done();
  }

  const topic = await openTopic(ctx, MODE);
  log.info('publishObjectsList: starting', { table, topic: topic.name, subfolders_claimable: await countClaimable(db, table, 'cdn'), follow: !!args.follow });
  const retryAfter = args.retryAfterSeconds ?? RETRY_AFTER_SECONDS;
  const owner = ctx.workerId;

  const handle = async (row: PendingRow): Promise<void> => {
    let st: SubfolderStats;
    try {
      st = await publishSubfolder(ctx, row, kept(lister(row.dirKey, ctx.signal), filter, s, ctx), topic, onMessage);
    } catch (err) {
      const { reason } = classify(err);
      const shuttingDown = ctx.signal.aborted;
      // Released, never flagged: every message we did publish is a harmless duplicate when it is re-published.
      await withRetry(() => release(db, table, 'cdn', row.id, owner, shuttingDown ? null : reason, shuttingDown ? 0 : retryAfter), retry).catch((e: unknown) =>
        log.error('publishObjectsList: could not release a subfolder; it is retried after its lease', { dir_key: row.dirKey, error: e }),
      );
      if (shuttingDown) return;
      s.subfolders_failed++;
      if (s.failures.length < SAMPLE) s.failures.push({ dir_key: row.dirKey, reason });
      log.error(`publishObjectsList: subfolder not published, released for a retry in ${retryAfter} s`, { dir_key: row.dirKey, reason });
      return;
    }
    s.objects += st.objects;
    s.bytes += st.bytes;
    s.messages += st.messages;
    const mine = await withRetry(() => markObjectsPublished(db, table, row.id, owner, st.objects, st.bytes), retry);
    if (mine) {
      s.subfolders_published++;
      progress.add({ subfolders: 1 });
      log.debug('publishObjectsList: subfolder published', { dir_key: row.dirKey, ...st });
    } else {
      s.subfolders_lease_lost++;
      log.warn('publishObjectsList: lease was taken over while publishing; the new holder flags the subfolder', { dir_key: row.dirKey });
    }
  };

  await runClaimLoop({
    concurrency: PUBLISH_CONCURRENCY,
    claimBatch: CLAIM_BATCH,
    follow: !!args.follow,
    leaseSeconds: config.lease_seconds,
    signal: ctx.signal,
    log,
    retry,
    claim: (limit) => claim(db, table, 'cdn', owner, config.lease_seconds, limit),
    owned: (limit) => owned(db, table, 'cdn', owner, limit),
    renew: (ids) => renew(db, table, 'cdn', owner, ids, config.lease_seconds),
    handle,
    giveBack: async (row) => void (await release(db, table, 'cdn', row.id, owner, null, 0)),
  });
  return done();
}
