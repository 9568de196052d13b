// Mode `cdnTransfer`: pulls object-list messages (through consume()), copies every object S3 -> CloudFront
// -> GCS (verified) under one process-wide copy limit, and acks a message only when each of its keys is
// verified in GCS or handed to the error topic. Malformed messages follow consume()'s dead-letter policy.
// What it records: per-subfolder counters in MySQL, progress and throughput lines, skip reasons, the summary.
// Shutdown: stop pulling, let in-flight objects finish within grace_period_seconds, nack the rest.
import type { Ctx } from '../common/context.js';
import { requireFields } from '../common/config/schema.js';
import { objectsListMessageSchema, type ObjectsListMessage } from '../common/messages.js';
import { startProgress } from '../common/progress.js';
import { createCopier, type Copier, type CopyTunables } from './copy/index.js';
import type { CopyOutcome } from './copy/copyObject.js';
import type { VerifiedBy } from './copy/verify.js';
import { createLimiter, type Limiter } from '../common/limit.js';
import { startCounters } from './transferCounters.js';
import { consume, type Delivery, type Settle } from './consume.js';
import { reportError } from './errorTopic.js';
import { paceSettings, startPacer, type Pacer } from './pace.js';
import { startHistory, type History } from './history.js';
import type { Activity } from '../state/history.js';
import { parseBwlimit, type BwSlot } from './bandwidth.js';
import { ConfigError } from '../common/config/validate.js';
import { reasonClass } from '../common/errors.js';
import { redact } from '../common/redact.js';
import type { LedgerFailure } from '../state/ledger.js';

/** --bwlimit / config bwlimit parsed; a bad one is a config error (exit 78), not a failure per object. */
function bandwidthSchedule(text: string | undefined): BwSlot[] | undefined {
  if (!text) return undefined;
  try {
    return parseBwlimit(text);
  } catch (err) {
    throw new ConfigError((err as Error).message, ['bwlimit']);
  }
}

export interface CdnTransferArgs {
  /** Stop (as on SIGTERM) once nothing has arrived or been in flight for this long (batch runs, tests). */
  exitWhenIdleMs?: number;
  tunables?: Partial<CopyTunables>;
  /** --bwlimit: overrides config bwlimit. */
  bwlimit?: string;
}

export interface CdnTransferSummary {
  messages: number;
  acked: number;
  nacked: number;
  deadLettered: number;
  copied: number;
  copiedBytes: number;
  skipped: number;
  /** Skipped objects per reason (the copy path's `why`). */
  skippedWhy: Record<string, number>;
  failed: number;
  /** Copied objects verified by size only (none of S3's hashes applied): also `size_only_objects`. */
  sizeOnly: number;
  /** Copied objects by how they were verified (`md5`, `multipart-etag`, `crc`, `size-only`). */
  verifiedBy: Record<VerifiedBy, number>;
  seconds: number;
}

const MODE = 'cdnTransfer';
/** The history's count (sql/014) for each way a copy is verified: `ott report`'s verification summary. */
const VERIFIED_BY_ACTIVITY = {
  md5: 'verifiedMd5Objects',
  'multipart-etag': 'verifiedMultipartObjects',
  crc: 'verifiedCrcObjects',
  'size-only': 'verifiedSizeOnlyObjects',
} as const satisfies Record<VerifiedBy, keyof Activity>;
/** Pub/Sub's own flow control on message bytes (object-list messages are small; this bounds memory). */
const FLOW_MAX_BYTES = 64 * 1024 * 1024;
const PROGRESS_MS = 5000;
/**
 * Keys held per copy slot. A slot does ~70-100 small objects a second on a slower machine and ~180 on a
 * faster one (the small benchmark, bare loop: 2.9k/s then, 5.7k/s on 2026-12-01's machine); the ack -> next
 * message round trip (up to 100 ms of ack batching plus the delivery) needs ~25 per slot queued at the
 * faster rate. With 4 the queue ran dry 2-8% of the time; 12 sufficed at the slower rate, and at the faster
 * one left the worker idle: alone on the small workload 5.0 s with 12, 3.6-3.9 s with 32 (4 runs each).
 * Holding more costs little: leases are extended, a crash redelivers a few more keys (skipped cheaply by
 * their precondition), and a waiting key costs no closure or promise (limiter.each).
 */
const KEYS_IN_HAND_PER_SLOT = 32;

export async function run(ctx: Ctx, args: CdnTransferArgs = {}): Promise<CdnTransferSummary> {
  const { config } = ctx;
  requireFields(config, MODE, ['pubsub_subscription_id', 'gcs_bucket', 'cloudfront_url_host_pre']);
  const started = Date.now();
  const bwlimit = bandwidthSchedule(args.bwlimit ?? config.bwlimit);
  // The per-minute throughput history rides on the pacer's heartbeat.
  const history = startHistory(ctx, MODE);
  const pacer = await startPacer(ctx, MODE, paceSettings(ctx), () => history.flush());
  const copier = createCopier(ctx, { ...args.tunables, concurrency: config.transfer_concurrency, bwlimit, pacer });
  const limiter = createLimiter(config.transfer_concurrency);
  const rec = startRecording(ctx, limiter, pacer, history);
  // A message is acked only when its last key is done, and Pub/Sub sends the next one only once that ack
  // reached it (flow control counts unacked messages; acks go out in 100 ms batches): keep enough keys in
  // hand to cover that round trip (KEYS_IN_HAND_PER_SLOT per copy slot, plus two messages) so the limiter
  // never starves; num_messages is a floor.
  const maxMessages = Math.max(config.num_messages, Math.ceil((KEYS_IN_HAND_PER_SLOT * config.transfer_concurrency) / config.num_single_message) + 2);
  try {
    const stats = await consume(ctx, {
      mode: MODE,
      schema: objectsListMessageSchema,
      concurrency: maxMessages,
      maxBytes: FLOW_MAX_BYTES,
      maxExtensionMs: 24 * 3600_000,
      idleExitMs: args.exitWhenIdleMs,
      graceMs: config.grace_period_seconds * 1000,
      handle: (d) => copyMessage(ctx, copier, limiter, pacer, rec, d),
      logFields: { concurrency: config.transfer_concurrency, max_messages: maxMessages, signed_urls: copier.deps.signer.signed, bwlimit: args.bwlimit ?? config.bwlimit ?? 'off' },
    });
    Object.assign(rec.summary, { messages: stats.received, acked: stats.acked, nacked: stats.nacked, deadLettered: stats.malformed });
  } finally {
    await rec.stop();
    await pacer.stop();
    await copier.close();
  }
  rec.summary.seconds = Math.round((Date.now() - started) / 100) / 10;
  return rec.summary;
}

/**
 * The handler: every object of the message under the process-wide copy limit, each outcome recorded as it
 * comes. We MUST settle the message: ack only when every key is verified or handed to the error topic.
 * Throws when the error topic refuses a failure, so consume() nacks the message and it comes back.
 */
async function copyMessage(ctx: Ctx, copier: Copier, limiter: Limiter, pacer: Pacer, rec: Recording, d: Delivery<ObjectsListMessage>): Promise<Settle> {
  const msg = d.message;
  // One queue entry for the message's keys (limiter.each), not one closure and promise per waiting key.
  const outcomes = await limiter.each(msg.objects, async (entry): Promise<CopyOutcome> => {
    // Keys not started before shutdown are left for the redelivery.
    if (d.stopping()) return { status: 'aborted', key: entry.key, bytes: entry.size };
    // The fleet's pace (GCS's write ramp, max_objects_per_second, a throttle pause) gates every start.
    const turn = pacer.take(d.signal);
    if (turn) {
      try {
        await turn;
      } catch {
        return { status: 'aborted', key: entry.key, bytes: entry.size };
      }
    }
    const o = await copier.copy(entry, d.signal);
    rec.record(msg.dir_key, o);
    return o;
  });
  let handedOver = true;
  for (const o of outcomes) {
    if (o.status !== 'failed') continue;
    if (!(await reportError(ctx, MODE, msg.dir_key, o.reason, { key: o.key, attempts: o.attempts }))) handedOver = false;
  }
  if (!handedOver || outcomes.some((o) => o.status === 'aborted')) return 'nack';
  // Counted only now, once per message id: a nacked delivery counts nothing, a redelivery of one counted does not count again.
  rec.countMessage(d.id, msg, outcomes);
  return 'ack';
}

interface Recording {
  summary: CdnTransferSummary;
  /** One outcome as it comes: progress, the summary, the skip log (this process's activity). */
  record(dirKey: string, o: CopyOutcome): void;
  /** An acked message's outcomes into the state table's counters and the failed-object ledger (facts: once per message). */
  countMessage(messageId: string, msg: ObjectsListMessage, outcomes: CopyOutcome[]): void;
  /** Stops the throughput log and flushes the counters. */
  stop(): Promise<void>;
}

/**
 * What cdnTransfer records: counters and the failed-object ledger (MySQL, per acked message), the
 * per-minute throughput history (MySQL, on the heartbeat), progress and throughput lines, skip reasons, the summary.
 */
function startRecording(ctx: Ctx, limiter: Limiter, pacer: Pacer, history: History): Recording {
  const { log } = ctx;
  const counters = startCounters(ctx.db, ctx.config.mysql_table, log, { stopTimeoutMs: ctx.config.grace_period_seconds * 1000, ledgerMaxRows: ctx.config.failed_ledger_max_rows });
  // The shared progress logger gives the totals line at the end; the windowed rates are ours, below.
  const progress = startProgress(log, MODE, { rateKey: 'objects', intervalMs: 10 * 60_000 });
  const s: CdnTransferSummary = { messages: 0, acked: 0, nacked: 0, deadLettered: 0, copied: 0, copiedBytes: 0, skipped: 0, skippedWhy: {}, failed: 0, sizeOnly: 0, verifiedBy: { md5: 0, 'multipart-etag': 0, crc: 0, 'size-only': 0 }, seconds: 0 };
  // Every few seconds: objects/s and MiB/s over the last window, in flight, skipped, failed.
  let window = { at: Date.now(), objects: 0, bytes: 0 };
  const tick = (): void => {
    const now = Date.now();
    const { objects = 0, bytes = 0 } = progress.snapshot();
    const secs = Math.max(0.001, (now - window.at) / 1000);
    const rate = (n: number): number => Math.round((n / secs) * 10) / 10;
    log.info(`${MODE}: throughput`, {
      objects_per_s: rate(objects - window.objects),
      mib_per_s: rate((bytes - window.bytes) / 1048576),
      in_flight: limiter.active,
      pace_objects_per_s: Number.isFinite(pacer.perSecond) ? Math.round(pacer.perSecond * 100) / 100 : 'unlimited',
      queued: limiter.queued,
      copied: s.copied,
      skipped: s.skipped,
      failed: s.failed,
    });
    window = { at: now, objects, bytes };
  };
  const timer = setInterval(tick, PROGRESS_MS);
  const record = (dirKey: string, o: CopyOutcome): void => {
    if (o.status !== 'aborted') pacer.done(o.status === 'copied' ? o.bytes : 0);
    // One literal per outcome, not a computed key and a spread: this runs once per object.
    progress.add(o.status === 'copied' ? { objects: 1, copied: 1, bytes: o.bytes } : o.status === 'skipped' ? { objects: 1, skipped: 1 } : o.status === 'failed' ? { objects: 1, failed: 1 } : { objects: 0, aborted: 1 });
    if (o.status === 'copied') {
      history.add({ copiedObjects: 1, copiedBytes: o.bytes, [VERIFIED_BY_ACTIVITY[o.verifiedBy]]: 1 });
      s.copied++;
      s.copiedBytes += o.bytes;
      s.verifiedBy[o.verifiedBy]++;
      if (o.verifiedBy === 'size-only') s.sizeOnly++;
    } else if (o.status === 'skipped') {
      history.add({ skippedObjects: 1, skippedBytes: o.bytes });
      s.skipped++;
      s.skippedWhy[o.why] = (s.skippedWhy[o.why] ?? 0) + 1;
      log.debug(`${MODE}: skipped`, { dir_key: dirKey, key: o.key, why: o.why });
    } else if (o.status === 'failed') {
      const why = reasonClass(o.reason);
      history.add({ failedObjects: 1, archivedObjects: why === 'archived' ? 1 : 0 }, why);
      s.failed++;
    }
  };
  const countMessage = (messageId: string, msg: ObjectsListMessage, outcomes: CopyOutcome[]): void => {
    const c = { copied_objects: 0, copied_bytes: 0, skipped_objects: 0, failed_objects: 0, size_only_objects: 0 };
    // The ledger: failed objects with their listing (so `ott retry --failed` can publish them again), and
    // every verified key, which resolves it if it is in the ledger (one index lookup each, in the flush).
    const ledger = { failures: [] as LedgerFailure[], verified: [] as string[] };
    outcomes.forEach((o, i) => {
      if (o.status === 'copied') {
        c.copied_objects++;
        c.copied_bytes += o.bytes;
        if (o.verifiedBy === 'size-only') c.size_only_objects++;
        ledger.verified.push(o.key);
      } else if (o.status === 'skipped') {
        c.skipped_objects++;
        ledger.verified.push(o.key);
      } else if (o.status === 'failed') {
        c.failed_objects++;
        ledger.failures.push({ entry: msg.objects[i], dirKey: msg.dir_key, mode: MODE, reasonClass: reasonClass(o.reason), message: redact(o.reason).slice(0, 4000), attempts: o.attempts, failures: 1 });
      }
    });
    counters.addMessage(messageId, msg.dir_key, c, ledger);
  };
  const stop = async (): Promise<void> => {
    clearInterval(timer);
    await counters.stop();
    progress.stop();
  };
  return { summary: s, record, countMessage, stop };
}
