// The claim loop every publish mode runs: claim rows in small batches, hand them to a bounded number of
// concurrent handlers, let a bounded number more finish (wait for Pub/Sub, flag) behind them, keep the
// leases of every row in hand alive, and when no work is left either stop or (follow) poll again with
// backoff. Claims follow the handlers, not the finishing rows, so a publisher takes only what it can
// work on. Safe with any number of publishers: a row is only ever handled by the publisher whose claim
// statement took it.
import type { Ctx } from '../common/context.js';
import { createLimiter, type Limiter } from '../common/limit.js';
import type { Logger } from '../common/log.js';
import { backoffMs, sleep, withRetry, type RetryOptions } from '../common/retry.js';
import { m as metrics } from '../common/metrics.js';
import { holderOf, type PublishKind } from '../state/leases.js';
import { claimForPublish, releasePublish, renewPublishLeases, type ClaimResult } from '../state/publish.js';
import type { PendingRow, Recheck, WalkCursor } from '../state/publishable.js';

/** A handled row still finishing (waiting for Pub/Sub's acknowledgements, its flag) behind the handlers. */
export interface Finishing {
  /** Settles when the row is flagged or released. Must not reject unless the loop is to fail. */
  done: Promise<void>;
}

export interface ClaimLoopOptions {
  /** Rows handled at the same time (each handler lists and hands over one subfolder). */
  concurrency: number;
  /** Rows finishing at the same time behind the handlers (default: none, handlers finish their rows). */
  maxFinishing?: number;
  /**
   * Most rows taken per claim statement. A claim asks for what the handlers used up since the last one,
   * doubled (at least `concurrency`): small while subfolders are big, so publishers share the work; up to
   * this while they are tiny, so claiming keeps up with them.
   */
  claimBatch: number;
  follow: boolean;
  leaseSeconds: number;
  signal: AbortSignal;
  log: Logger;
  retry: { maxAttempts: number; budgetMs: number };
  /**
   * Claims up to `limit` rows, returning those it took. A claim that walks the table takes where the last
   * one ended (`after`, 0 at the start) and returns `next`; the loop carries it on and starts again from 0
   * at the end of the table.
   */
  claim(limit: number, after: WalkCursor): Promise<ClaimResult>;
  /** Extends the leases of these rows; returns how many are still held. */
  renew(ids: number[]): Promise<number>;
  /**
   * Publishes one row and marks or releases it, or returns what is left to finish it. Must not throw:
   * its row is its own to release.
   */
  handle(row: PendingRow): Promise<Finishing | undefined | void>;
  /** Gives back a row claimed but not started (shutdown). */
  giveBack(row: PendingRow): Promise<void>;
  /** Asked before every claim: go on, wait and ask again, or stop claiming (publisher/gate.ts). */
  gate?: () => Promise<'go' | 'wait' | 'stop'>;
}

/** Claims in a row that lost every candidate to other publishers before we back off as if idle. */
const MAX_COLLISIONS = 10;
/** Longest pause between polls when following and nothing is left to publish. */
const FOLLOW_MAX_IDLE_MS = 30_000;
/** Pause before asking a gate that said wait again. */
const GATE_WAIT_MS = 5_000;

export function runClaimLoop(o: ClaimLoopOptions): Promise<void> {
  return new ClaimLoop(o).run();
}

export interface PublishLoopOptions extends Pick<ClaimLoopOptions, 'concurrency' | 'maxFinishing' | 'claimBatch' | 'follow' | 'handle' | 'gate'> {
  /** Claim in id order from where the last claim ended (the dir lists); else random candidates (objects lists). */
  walk: boolean;
  recheck?: Recheck;
}

/** The claim loop on one publish lease: its claims, renewals and give-backs are that lease's statements. */
export function runPublishLoop(ctx: Ctx, kind: PublishKind, o: PublishLoopOptions): Promise<void> {
  const holder = holderOf(ctx);
  return runClaimLoop({
    concurrency: o.concurrency,
    maxFinishing: o.maxFinishing,
    claimBatch: o.claimBatch,
    follow: o.follow,
    handle: o.handle,
    gate: o.gate,
    leaseSeconds: ctx.config.lease_seconds,
    signal: ctx.signal,
    log: ctx.log,
    retry: { maxAttempts: ctx.config.max_attempts, budgetMs: ctx.config.retry_budget_ms },
    claim: (limit, after) => claimForPublish(holder, kind, limit, o.recheck, o.walk ? after : undefined),
    renew: (ids) => renewPublishLeases(holder, kind, ids),
    giveBack: async (row) => void (await releasePublish(holder, kind, row.id, null, 0)),
  });
}

/**
 * A row whose publish failed goes back unflagged, with the reason (none on shutdown) and claimable again
 * after `retryAfterSeconds`: every message it did publish is a harmless duplicate when it is re-published.
 * If even that fails, its lease runs out and another run retries it.
 */
export async function releaseFailed(ctx: Ctx, kind: PublishKind, row: PendingRow, reason: string | null, retryAfterSeconds: number): Promise<void> {
  const retry = { maxAttempts: ctx.config.max_attempts, budgetMs: ctx.config.retry_budget_ms };
  await withRetry(() => releasePublish(holderOf(ctx), kind, row.id, reason, reason === null ? 0 : retryAfterSeconds), retry).catch((e: unknown) =>
    ctx.log.error('publisher: could not release a subfolder; it is retried after its lease', { kind, dir_key: row.dirKey, error: e }),
  );
}

class ClaimLoop {
  private readonly queue: PendingRow[] = [];
  /** Queued or being handled or finishing: the leases to keep alive. */
  private readonly held = new Map<number, PendingRow>();
  private exhausted = false;
  private refilling: Promise<void> | undefined;
  /** The first claim that failed (retries spent) or row that failed to finish: the loop fails with it. */
  private failure: { err: unknown } | undefined;
  private idlePolls = 0;
  private claimSize: number;
  /** Rows handed to handlers since the last claim started. */
  private taken = 0;
  /** A walking claim's position (0: the start). */
  private cursor: WalkCursor = 0;
  private readonly retry: RetryOptions;

  constructor(private readonly o: ClaimLoopOptions) {
    this.claimSize = Math.min(o.concurrency, o.claimBatch);
    this.retry = { ...o.retry, signal: o.signal, onRetry: (i) => o.log.warn('publisher: claim failed, retrying', { ...i }) };
  }

  private async claimMore(): Promise<void> {
    const o = this.o;
    let collisions = 0;
    while (!o.signal.aborted) {
      const verdict = await this.ask();
      if (verdict === 'stop') {
        this.exhausted = true;
        return;
      }
      if (verdict === 'wait') continue;
      this.claimSize = Math.min(o.claimBatch, Math.max(o.concurrency, 2 * this.taken));
      this.taken = 0;
      const from = this.cursor;
      const { seen, rows, next } = await withRetry(() => o.claim(this.claimSize, from), this.retry);
      if (rows.length) metrics.claims.inc({ lease: 'publish' }, rows.length);
      if (next !== undefined) {
        // A walk: at the end of the table, start again from its beginning before calling it exhausted
        // (rows behind the cursor may have become claimable since, e.g. a check's lease expired).
        if (seen === 0 && from !== 0) {
          this.cursor = 0;
          continue;
        }
        this.cursor = next;
        // Another publisher took these first: walk on.
        if (rows.length === 0 && seen > 0) continue;
      } else if (rows.length === 0 && seen > 0 && ++collisions < MAX_COLLISIONS) continue; // taken first: look again at once
      let added = 0;
      for (const r of rows) {
        // Only a row whose lease ran out while we still handle it (renewal failed) comes back to us.
        if (this.held.has(r.id)) continue;
        this.held.set(r.id, r);
        this.queue.push(r);
        added++;
      }
      if (added) {
        this.idlePolls = 0;
        return;
      }
      if (rows.length) continue; // all already in hand (re-taken after a failed renewal): not the end
      if (!o.follow) {
        this.exhausted = true;
        return;
      }
      this.idlePolls++;
      await sleep(500 + backoffMs(this.idlePolls, 1000, FOLLOW_MAX_IDLE_MS), o.signal).catch(() => undefined);
    }
  }

  /** One claim at a time; a failed one fails the loop through the next handler to ask. */
  private startRefill(): Promise<void> {
    return (this.refilling ??= this.claimMore()
      .catch((err: unknown) => void (this.failure ??= { err }))
      .finally(() => (this.refilling = undefined)));
  }

  /** The gate's verdict (go without one); after a wait, the pause is taken here. */
  private async ask(): Promise<'go' | 'wait' | 'stop'> {
    if (!this.o.gate) return 'go';
    const verdict = await withRetry(() => this.o.gate!(), this.retry);
    if (verdict === 'wait') await sleep(GATE_WAIT_MS, this.o.signal).catch(() => undefined);
    return verdict;
  }

  private async next(): Promise<PendingRow | undefined> {
    while (!this.o.signal.aborted) {
      if (this.failure) throw this.failure.err;
      // The next claim starts while half the last one is still queued, so handlers rarely wait on it.
      if (this.queue.length <= this.claimSize / 2 && !this.exhausted) void this.startRefill();
      if (this.queue.length) {
        // Asked per row, not only per claim: a claim may take many rows, and a hold must stop the next one.
        const verdict = await this.ask();
        if (verdict === 'stop') {
          this.exhausted = true;
          return undefined; // rows still queued are given back when the loop ends
        }
        if (verdict === 'wait' || !this.queue.length) continue;
        this.taken++;
        return this.queue.shift();
      }
      if (this.exhausted) return undefined;
      await this.startRefill();
    }
    return undefined;
  }

  /** A lease outlives a long subfolder only if renewed well before it runs out. */
  private startRenewal(): NodeJS.Timeout {
    const o = this.o;
    const timer = setInterval(
      () => {
        const ids = [...this.held.keys()];
        o.renew(ids).then(
          // Fewer than asked is usually a row flagged meanwhile; a real takeover is reported by the handler,
          // whose flag then matches nothing.
          (still) => {
            metrics.leaseRenewals.inc({ lease: 'publish', result: 'renewed' });
            o.log.debug('publisher: leases renewed', { asked: ids.length, renewed: still });
          },
          (err: unknown) => {
            metrics.leaseRenewals.inc({ lease: 'publish', result: 'failed' });
            o.log.warn('publisher: lease renewal failed (will retry)', { error: err });
          },
        );
      },
      Math.max(250, (o.leaseSeconds * 1000) / 3),
    );
    timer.unref();
    return timer;
  }

  /** Handles one row; what it leaves to finish waits for a finishing slot (holding the handler's), or is awaited here. */
  private async handleRow(row: PendingRow, finishers: Limiter | undefined): Promise<void> {
    let rest: Finishing | undefined | void;
    try {
      rest = await this.o.handle(row);
    } finally {
      if (!rest) this.held.delete(row.id);
    }
    if (!rest) return;
    const settled = rest.done.catch((err: unknown) => void (this.failure ??= { err })).finally(() => this.held.delete(row.id));
    await (finishers ? finishers.start(() => settled) : settled);
  }

  async run(): Promise<void> {
    const handlers = createLimiter(this.o.concurrency);
    const finishers = this.o.maxFinishing ? createLimiter(this.o.maxFinishing) : undefined;
    const renewTimer = this.startRenewal();
    let ended = false;
    try {
      // A slot asks for its next row only once it is free: claims follow the handlers, not the queue.
      while (!ended && !this.failure && !this.o.signal.aborted) {
        await handlers.start(async () => {
          const row = await this.next();
          if (row) await this.handleRow(row, finishers);
          else ended = true;
        });
      }
      const handled = await handlers.idle().then(
        () => undefined,
        (err: unknown) => ({ err }),
      );
      // Rows still finishing are flagged or released before the loop ends, whatever ended it.
      await finishers?.idle();
      if (handled) throw handled.err;
      if (this.failure) throw this.failure.err;
    } finally {
      clearInterval(renewTimer);
      // A claim still running (shutdown) may yet add rows: they go back with the rest.
      if (this.refilling) await this.refilling;
      // Shutdown (or a failed claim): rows claimed but never started go back at once, not after their lease.
      for (const row of this.queue.splice(0)) {
        await this.o.giveBack(row).catch((err: unknown) => this.o.log.warn('publisher: could not give back a row; it is retried after its lease', { dir_key: row.dirKey, error: err }));
        this.held.delete(row.id);
      }
    }
  }
}

/**
 * A dry run's walk: every claimable row, page by page as a claim walks them (publishable.ts claimableWalk:
 * each branch through its index), without claiming anything (so a dry run never changes a row). Stops
 * early on shutdown.
 */
export async function* claimableRows(page: (after: WalkCursor) => Promise<{ rows: PendingRow[]; next: WalkCursor }>, retry: RetryOptions): AsyncGenerator<PendingRow> {
  for (let after: WalkCursor = 0; ; ) {
    const { rows, next } = await withRetry(() => page(after), retry);
    if (!rows.length || retry.signal?.aborted) return;
    yield* rows;
    after = next;
  }
}
