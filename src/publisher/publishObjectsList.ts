// Mode `publishObjectsList`: claims subfolders whose objects list is not yet published, lists each one
// from S3 (recursive, filtered; the root row flat: only the objects directly under s3_root_prefix;
// archived objects and names GCS cannot hold recorded on the row, not published), and publishes its objects in messages of num_single_message keys. A
// subfolder is flagged published only after Pub/Sub acknowledged every one of its messages; a failure
// releases it with the reason on its row, to be retried later. At-least-once: a crash re-publishes the
// subfolder after its lease, and the transfer workers skip objects already copied.
// With --delta it takes the subfolders already published instead (once per run), and publishes only the
// objects new or changed since (delta.ts); objects gone from S3 are reported, and removed only on opt-in.
// With --from-inventory the objects come from the S3 Inventory index `dump --inventory` wrote
// (inventoryLister.ts) instead of a listing: no LIST call, the same filters, claims, messages and flags.
import { setMaxListeners } from 'node:events';
import type { Ctx } from '../common/context.js';
import { requireFields } from '../common/config/schema.js';
import { classify } from '../common/errors.js';
import { ObjectsPacker, type ObjectEntry, type PackedMessage } from '../common/messages.js';
import { startProgress, type Progress } from '../common/progress.js';
import { withRetry } from '../common/retry.js';
import { isRootDir } from '../common/source/rootDir.js';
import { Exclusions, logExclusions, sourceScope, type ScopeVerdict } from '../common/source/unmigratable.js';
import { recordPublishExclusions } from '../state/exclusions.js';
import { recordFailures, type LedgerFailure } from '../state/ledger.js';
import { s3Lister, type ObjectLister } from '../common/source/s3List.js';
import { addFindings, deltaEntries, noDeltaSummary, noFindings, type DeltaFindings, type DeltaSummary } from './delta.js';
import { GroupCommit } from './groupCommit.js';
import { InflightWindow, PublishBudget } from './inflight.js';
import { publishGate } from './gate.js';
import { claimableRows, releaseFailed, runPublishLoop, type Finishing } from './loop.js';
import { holderOf, type Holder } from '../state/leases.js';
import { markDeltaPublished, markObjectsPublished, type PublishedDelta, type PublishedObjects } from '../state/publish.js';
import { claimableWalk, countClaimable, startRecheck, type PendingRow, type Recheck } from '../state/publishable.js';
import { dirKeyHash, openTopic, type PublishTopic } from './topic.js';
import { inventoryLister } from './inventoryLister.js';

const MODE = 'publishObjectsList';
/** Objects set aside (archived, unmigratable) written to the failed-object ledger per statement. */
const SET_ASIDE_BATCH = 1000;
/**
 * Subfolders being listed, packed and handed to Pub/Sub at once by one publisher. Each holds a listing
 * page and a message being filled; more of them only keeps more objects alive for the garbage collector.
 * At S3's ~50-100 ms per page that is 300-600 listing pages a second per publisher; run more publishers
 * for more.
 */
const LISTING_CONCURRENCY = 32;
/**
 * Subfolders listed and waiting for Pub/Sub's acknowledgements and their flag: most subfolders are small
 * and spend most of their time here, so many must be in hand to keep the client's batches full. Memory is
 * bounded by the budget below, not by this.
 */
const MAX_FINISHING = 1024;
/** Most rows per claim statement: claims follow what the handlers use (loop.ts), from 32 up to this. */
const CLAIM_BATCH = 256;
/** Per publisher, across its subfolders: messages and bytes handed to Pub/Sub but not yet acknowledged. */
const INFLIGHT_MESSAGES = 2000;
const INFLIGHT_BYTES = 64 * 1024 * 1024;
/** Most subfolders flagged published by one statement. */
const FLAG_BATCH = 256;
/** A subfolder whose publish failed is claimable again after this long. */
const RETRY_AFTER_SECONDS = 60;
const SAMPLE = 10;

export interface PublishObjectsArgs {
  follow?: boolean;
  dryRun?: boolean;
  /** Subfolders already published, once per run: publish only the objects new or changed since (delta.ts). */
  delta?: boolean;
  /** With `delta`: remove from GCS the objects whose S3 source is gone (default: config delete_unmatched). */
  deleteUnmatched?: boolean;
  /** Replaces the S3 listing (the benchmark's fixture). */
  lister?: ObjectLister;
  /** Objects from the S3 Inventory index of the latest `dump --inventory`, not from listing S3. */
  fromInventory?: boolean;
  retryAfterSeconds?: number;
  /** How often the publish gate (spend cap, backlog) re-reads the table; 30 s by default. */
  gateCheckEveryMs?: number;
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
  /** In scope but not published, recorded on their rows: archived (S3 will not serve them) and objects GCS cannot hold. */
  excluded: Record<'archived' | 'unmigratable', number>;
  failures: { dir_key: string; reason: string }[];
  /** A delta run's findings over its subfolders (objects/bytes/messages above are what it published). */
  delta?: DeltaSummary;
  seconds: number;
}

interface SubfolderStats {
  objects: number;
  bytes: number;
  messages: number;
  /** What the listing found in scope but cannot migrate: recorded on the row, never published. */
  exclusions: Exclusions;
}

/** What every subfolder of a run is published with. */
interface Publishing {
  scope: (o: ObjectEntry) => ScopeVerdict;
  /** A delta run: its start (once per run) and whether gone objects are removed. */
  delta?: { run: Recheck; remove: boolean };
  lister: ObjectLister;
  /** Absent in a dry run: nothing is sent. */
  topic?: PublishTopic;
  budget: PublishBudget;
  summary: PublishObjectsSummary;
  progress: Progress;
  onMessage(objects: number): void;
  /** Sent for subfolders not yet flagged (their counts are not in the table yet): what the gate adds. */
  unflagged: { objects: number; bytes: number };
}

interface Sent {
  stats: SubfolderStats;
  /** A delta run: what the subfolder's diff found. */
  findings?: DeltaFindings;
  /** Settles once Pub/Sub acknowledged (or refused) every message handed over. */
  window: InflightWindow;
}

/**
 * A first publish: every object of the subfolder the filters keep and GCS can take (the others into
 * `exclusions`, and each one set aside into the failed-object ledger, a batch at a time; not in a dry run).
 */
async function* inScope(ctx: Ctx, row: PendingRow, p: Publishing, exclusions: Exclusions): AsyncGenerator<ObjectEntry> {
  const setAside: LedgerFailure[] = [];
  const record = (): Promise<number> => recordFailures(ctx.db, ctx.config.mysql_table, setAside.splice(0));
  for await (const o of p.lister(row.dirKey, ctx.signal, isRootDir(row.dirKey, ctx.config))) {
    const f = p.scope(o);
    if (!f.keep && 'excluded' in f) {
      exclusions.add(o, f.excluded);
      p.summary.excluded[f.excluded.kind]++;
      if (p.topic) setAside.push({ entry: o, dirKey: row.dirKey, mode: MODE, reasonClass: f.excluded.kind, message: f.excluded.why, attempts: 0, failures: 1 });
      if (setAside.length >= SET_ASIDE_BATCH) await record();
      continue;
    }
    if (!f.keep) {
      p.summary.filtered[f.why]++;
      ctx.log.debug('publishObjectsList: object filtered out', { key: o.key, why: f.why, last_modified: o.last_modified, storage_class: o.storage_class });
      continue;
    }
    yield o;
  }
  if (setAside.length) await record();
}

/**
 * Lists (a first publish: the filtered listing; a delta: what the diff finds new or changed), packs and
 * hands one subfolder's messages to Pub/Sub; resolves once the last is handed over, with the window to
 * wait on for their acknowledgements. A failure throws only once every publish handed over has settled:
 * only then is the outcome of this attempt known and the row safe to release.
 */
async function sendSubfolder(ctx: Ctx, row: PendingRow, p: Publishing): Promise<Sent> {
  const stats: SubfolderStats = { objects: 0, bytes: 0, messages: 0, exclusions: new Exclusions() };
  const { topic } = p;
  const findings = p.delta ? noFindings() : undefined;
  const entries = p.delta ? deltaEntries(ctx, row.dirKey, findings!, { remove: p.delta.remove }) : inScope(ctx, row, p, stats.exclusions);
  const window = new InflightWindow(p.budget);
  const packer = new ObjectsPacker(row.dirKey, ctx.config.num_single_message);
  const dirKeySha = dirKeyHash(row.dirKey);
  const send = async (msg: PackedMessage): Promise<void> => {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
    stats.objects += msg.objects;
    stats.bytes += msg.bytes;
    stats.messages++;
    p.unflagged.objects += msg.objects;
    p.unflagged.bytes += msg.bytes;
    if (topic) await window.add(() => topic.publish(msg.data, { v: '1', kind: 'objects', dir_key_sha: dirKeySha, objects: String(msg.objects) }), msg.data.length);
    p.onMessage(msg.objects);
  };
  try {
    for await (const o of entries) {
      const full = packer.add(o);
      if (full) await send(full);
    }
    const last = packer.flush();
    if (last) await send(last);
  } catch (err) {
    // We MUST wait for every publish already handed over before the row is released.
    await window.drain().catch(() => undefined);
    unflag(p, stats);
    throw err;
  }
  if (findings) addFindings(ctx.log, p.summary.delta!, p.summary.filtered, row.dirKey, findings);
  return { stats, window, findings };
}

/** A subfolder's counts leave `unflagged` once its row is flagged (they are in the table) or released. */
function unflag(p: Publishing, st: SubfolderStats): void {
  p.unflagged.objects -= st.objects;
  p.unflagged.bytes -= st.bytes;
}

function newSummary(dryRun: boolean): PublishObjectsSummary {
  return {
    dry_run: dryRun,
    subfolders_published: 0,
    subfolders_failed: 0,
    subfolders_lease_lost: 0,
    objects: 0,
    bytes: 0,
    messages: 0,
    filtered: { last_modified_after: 0, last_modified_before: 0, storage_class: 0 },
    excluded: { archived: 0, unmigratable: 0 },
    failures: [],
    seconds: 0,
  };
}

/** A subfolder's counts, for its log lines (its exclusions are logged on their own). */
function counts(st: SubfolderStats): { objects: number; bytes: number; messages: number } {
  return { objects: st.objects, bytes: st.bytes, messages: st.messages };
}

function countSent(s: PublishObjectsSummary, st: SubfolderStats): void {
  s.objects += st.objects;
  s.bytes += st.bytes;
  s.messages += st.messages;
}

export async function run(ctx: Ctx, args: PublishObjectsArgs = {}): Promise<PublishObjectsSummary> {
  const { config, log } = ctx;
  const retry = { maxAttempts: config.max_attempts, budgetMs: config.retry_budget_ms };
  if (args.deleteUnmatched && !args.delta) throw new Error('publishObjectsList: --delete-unmatched applies to --delta only (it removes objects gone from S3 since their copy)');
  // A delta is one pass (each subfolder once per run); run it again, e.g. from a timer, for the next one.
  if (args.delta && args.follow) throw new Error('publishObjectsList: --delta is one pass over the published subfolders; it takes no --follow (run it again for the next pass)');
  if (args.delta && args.lister) throw new Error('publishObjectsList: --delta lists both sides itself; a replacement lister is not supported');
  if (args.fromInventory && (args.delta || args.lister)) throw new Error('publishObjectsList: --from-inventory is a first publish from the inventory index; it takes no --delta (which lists both sides)');
  if (!args.lister && !args.fromInventory) requireFields(config, MODE, args.delta ? ['s3_bucket', 'gcs_bucket'] : ['s3_bucket']);
  const inventory = args.fromInventory ? await inventoryLister(ctx) : undefined;
  if (inventory) log.info('publishObjectsList: objects from the S3 Inventory index, no S3 listing', { inventory: inventory.source });
  // Every concurrent listing and backoff listens on the one shutdown signal: bounded, not a leak.
  setMaxListeners(LISTING_CONCURRENCY * 4 + 16, ctx.signal);
  const started = Date.now();
  const s = newSummary(!!args.dryRun);
  // Objects per second is the rate to watch; the ETA counts subfolders, the total known up front.
  const progress = startProgress(log, MODE, { rateKey: 'objects', totalKey: 'subfolders' });
  const publishing: Publishing = {
    scope: sourceScope(config),
    lister: args.lister ?? inventory?.lister ?? s3Lister(ctx.clients.s3(), config.s3_bucket!, retry),
    budget: new PublishBudget(INFLIGHT_MESSAGES, INFLIGHT_BYTES),
    summary: s,
    progress,
    onMessage: (n) => progress.add({ objects: n, messages: 1 }),
    unflagged: { objects: 0, bytes: 0 },
    ...(args.delta ? { delta: { run: await startRecheck(ctx.db), remove: args.deleteUnmatched ?? config.delete_unmatched } } : {}),
  };
  if (publishing.delta) s.delta = noDeltaSummary(publishing.delta.remove);
  if (args.dryRun) await dryRun(ctx, publishing);
  else await publishAll(ctx, args, publishing);
  progress.stop();
  s.seconds = Math.round((Date.now() - started) / 100) / 10;
  return s;
}

/** Nothing is claimed or published: each claimable subfolder is listed and what it would get is logged. */
async function dryRun(ctx: Ctx, p: Publishing): Promise<void> {
  const { db, config } = ctx;
  const retry = { maxAttempts: config.max_attempts, budgetMs: config.retry_budget_ms, signal: ctx.signal };
  // A dry delta diffs and reports, but never removes anything.
  if (p.delta) p.delta = { ...p.delta, remove: false };
  if (p.summary.delta) p.summary.delta.remove_gone = false;
  const kind = p.delta ? 'delta' : 'cdn';
  for await (const row of claimableRows((after) => claimableWalk(db, config.mysql_table, kind, after, CLAIM_BATCH, p.delta?.run), retry)) {
    const { stats: st, findings } = await sendSubfolder(ctx, row, p);
    countSent(p.summary, st);
    p.summary.subfolders_published++;
    p.progress.add({ subfolders: 1 });
    ctx.log.info('publishObjectsList (dry run): would publish', { dir_key: row.dirKey, ...counts(st), ...(findings ? { findings } : {}) });
    logExclusions(ctx.log, MODE, row.dirKey, st.exclusions);
  }
}

async function publishAll(ctx: Ctx, args: PublishObjectsArgs, p: Publishing): Promise<void> {
  const { config, log, db } = ctx;
  const s = p.summary;
  const retry = { maxAttempts: config.max_attempts, budgetMs: config.retry_budget_ms };
  const topic = await openTopic(ctx, MODE);
  p.topic = topic;
  const kind = p.delta ? 'delta' : 'cdn';
  const claimable = await countClaimable(db, config.mysql_table, kind, p.delta?.run);
  if (!args.follow) p.progress.setTotal(claimable);
  log.info('publishObjectsList: starting', {
    table: config.mysql_table,
    topic: topic.name,
    subfolders_claimable: claimable,
    follow: !!args.follow,
    ...(p.delta ? { delta: true, delta_run_start: p.delta.run.runStart.toISOString(), remove_gone: p.delta.remove } : {}),
  });
  const retryAfter = args.retryAfterSeconds ?? RETRY_AFTER_SECONDS;
  const holder = holderOf(ctx);
  const flag = flagger(holder);

  const failed = async (row: PendingRow, err: unknown): Promise<void> => {
    const { reason } = classify(err);
    const shuttingDown = ctx.signal.aborted;
    await releaseFailed(ctx, kind, row, shuttingDown ? null : reason, retryAfter);
    if (shuttingDown) return;
    s.subfolders_failed++;
    if (s.failures.length < SAMPLE) s.failures.push({ dir_key: row.dirKey, reason });
    log.error(`publishObjectsList: subfolder not published, released for a retry in ${retryAfter} s`, { dir_key: row.dirKey, reason });
  };

  // Waits for every acknowledgement of a subfolder handed over, then flags it (or releases it).
  const finish = async (row: PendingRow, { stats: st, window, findings }: Sent): Promise<void> => {
    try {
      await window.drain();
    } catch (err) {
      unflag(p, st);
      return failed(row, err);
    }
    countSent(s, st);
    // Recorded before the flag, under the same lease: a published row never lacks its exclusions.
    if (st.exclusions.any) await withRetry(() => recordPublishExclusions(holder, row.id, st.exclusions), retry).catch((err: unknown) => {
      unflag(p, st);
      throw err;
    });
    const flagged = await withRetry(() => flag(row, st, findings), retry).finally(() => unflag(p, st));
    if (flagged) {
      s.subfolders_published++;
      p.progress.add({ subfolders: 1 });
      log.debug('publishObjectsList: subfolder published', { dir_key: row.dirKey, ...counts(st) });
      logExclusions(log, MODE, row.dirKey, st.exclusions);
    } else {
      s.subfolders_lease_lost++;
      log.warn('publishObjectsList: lease was taken over while publishing; the new holder flags the subfolder', { dir_key: row.dirKey });
    }
  };

  const handle = async (row: PendingRow): Promise<Finishing | undefined> => {
    try {
      return { done: finish(row, await sendSubfolder(ctx, row, p)) };
    } catch (err) {
      await failed(row, err);
      return undefined;
    }
  };

  // A delta walks the table in id order (most published rows are due: a walk reads each once).
  await runPublishLoop(ctx, kind, {
    concurrency: LISTING_CONCURRENCY,
    maxFinishing: MAX_FINISHING,
    claimBatch: CLAIM_BATCH,
    follow: !!args.follow,
    walk: !!p.delta,
    recheck: p.delta?.run,
    handle,
    gate: publishGate(ctx, 'cdn', { follow: !!args.follow, checkEveryMs: args.gateCheckEveryMs, unflagged: () => p.unflagged }),
  });
}

/** Flags a subfolder published, with what was sent (and, for a delta, found); false if its lease was lost. */
function flagger(holder: Holder): (row: PendingRow, st: SubfolderStats, findings?: DeltaFindings) => Promise<boolean> {
  const first = new GroupCommit<PublishedObjects>((rows) => markObjectsPublished(holder, rows), FLAG_BATCH);
  const delta = new GroupCommit<PublishedDelta>((rows) => markDeltaPublished(holder, rows), FLAG_BATCH);
  return (row, st, f) =>
    f
      ? delta.submit({
          id: row.id,
          newObjects: f.newObjects,
          changedObjects: f.changedObjects,
          bytes: st.bytes,
          goneObjects: f.goneObjects,
          goneRemoved: f.goneRemoved,
          goneSample: f.goneSample,
        })
      : first.submit({ id: row.id, objects: st.objects, bytes: st.bytes });
}
