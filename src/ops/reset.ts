// `ott reset syncCheck|rsync`: the reference's manual reset procedure ("shut down the workers, purge the
// queue, set *_published and *_in_progress to FALSE") as one command. It refuses while live claims exist
// (a worker is still running) unless --force; --stale-only clears only expired claims, which the workers
// would also take over by themselves. The statements are src/state/reset.ts's.
import type { Message } from '@google-cloud/pubsub';
import type { Ctx } from '../common/context.js';
import { sleep } from '../common/retry.js';
import type { WorkMode } from '../state/leases.js';
import { clearClaims, clearStaleClaims, liveClaims } from '../state/reset.js';

export interface ResetArgs {
  mode: WorkMode;
  staleOnly?: boolean;
  force?: boolean;
  /** Seek this subscription to now, dropping every queued message (default: none). */
  purgeSubscription?: string;
  batchSize?: number;
  /** The drain after the seek stops after this long without a message. */
  drainIdleMs?: number;
}

export interface ResetSummary {
  mode: WorkMode;
  staleOnly: boolean;
  liveClaims: number;
  /** Rows whose flags were cleared. */
  cleared: number;
  purged?: string;
  /** Messages still delivered after the seek and acked by the drain (0 on real Pub/Sub). */
  drained?: number;
}

export class LiveClaimsError extends Error {
  constructor(
    readonly live: number,
    sample: string[],
    mode: WorkMode,
  ) {
    super(
      `refusing to reset ${mode}: ${live} live claim${live === 1 ? '' : 's'} (e.g. ${sample.map((s) => JSON.stringify(s)).join(', ')}); ` +
        `stop the ${mode} workers first, or use --stale-only (expired claims only) or --force`,
    );
    this.name = 'LiveClaimsError';
  }
}

/**
 * Pub/Sub's purge is a seek to now (every message published before it counts as acknowledged, at any
 * backlog size). The emulator accepts the seek but ignores it, so whatever is still delivered afterwards
 * is pulled and acked until the subscription stays quiet: on real Pub/Sub that drain finds nothing.
 */
async function purge(ctx: Ctx, subscription: string, idleMs: number): Promise<number> {
  const sub = ctx.clients.pubsub().subscription(subscription, { flowControl: { maxMessages: 1000 } });
  await sub.seek(new Date());
  let drained = 0;
  let last = Date.now() + 3000; // the stream takes a moment to open before the first delivery
  sub.on('message', (m: Message) => {
    m.ack();
    drained++;
    last = Date.now();
  });
  sub.on('error', (err: Error) => ctx.log.warn(`reset: draining ${subscription} failed`, { error: err }));
  try {
    while (Date.now() - last < idleMs && !ctx.signal.aborted) await sleep(100);
  } finally {
    sub.removeAllListeners('message');
    await sub.close();
  }
  return drained;
}

export async function reset(ctx: Ctx, args: ResetArgs): Promise<ResetSummary> {
  const { db, config, log } = ctx;
  const batchSize = args.batchSize ?? 10_000;
  const held = await liveClaims(db, config.mysql_table, args.mode);
  if (held.count > 0 && !args.force && !args.staleOnly) throw new LiveClaimsError(held.count, held.sample, args.mode);
  const cleared = args.staleOnly
    ? await clearStaleClaims(db, config.mysql_table, args.mode, batchSize)
    : await clearClaims(db, config.mysql_table, args.mode, !!args.force, batchSize);
  const summary: ResetSummary = { mode: args.mode, staleOnly: !!args.staleOnly, liveClaims: held.count, cleared };
  if (args.purgeSubscription) {
    summary.drained = await purge(ctx, args.purgeSubscription, args.drainIdleMs ?? 2000);
    summary.purged = args.purgeSubscription;
  }
  log.info(`reset ${args.mode}: cleared ${cleared} row(s)`, { ...summary });
  return summary;
}

export const run = reset;
