// `ott reset syncCheck|rsync`: the reference's manual reset procedure ("shut down the workers, purge the
// queue, set *_published and *_in_progress to FALSE") as one command. It refuses while live claims exist
// (a worker is still running) unless --force; --stale-only clears only expired claims, which the workers
// would also take over by themselves. Updates run in batches so no statement locks the table for long.
import type { ResultSetHeader, RowDataPacket } from 'mysql2';
import type { Message } from '@google-cloud/pubsub';
import type { Ctx } from '../common/context.js';
import type { Db } from '../common/db.js';
import { tableName } from '../common/db.js';
import { sleep } from '../common/retry.js';
import { CLAIM_COLUMNS, type ClaimMode } from '../worker/claims.js';

export interface ResetArgs {
  mode: ClaimMode;
  staleOnly?: boolean;
  force?: boolean;
  /** Seek this subscription to now, dropping every queued message (default: none). */
  purgeSubscription?: string;
  batchSize?: number;
  /** The drain after the seek stops after this long without a message. */
  drainIdleMs?: number;
}

export interface ResetSummary {
  mode: ClaimMode;
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
    mode: ClaimMode,
  ) {
    super(
      `refusing to reset ${mode}: ${live} live claim${live === 1 ? '' : 's'} (e.g. ${sample.map((s) => JSON.stringify(s)).join(', ')}); ` +
        `stop the ${mode} workers first, or use --stale-only (expired claims only) or --force`,
    );
    this.name = 'LiveClaimsError';
  }
}

/** Held with an unexpired lease. A flag set by hand (NULL lease) is not live: COALESCE keeps NULL out of NOT(...). */
const live = (m: ClaimMode): string => `(${CLAIM_COLUMNS[m].flag} = TRUE AND COALESCE(${CLAIM_COLUMNS[m].lease} >= UTC_TIMESTAMP(), FALSE))`;

/** Live claims: held, with a lease not yet expired. */
export async function liveClaims(db: Db, table: string, mode: ClaimMode): Promise<{ count: number; sample: string[] }> {
  const t = tableName(table);
  const c = CLAIM_COLUMNS[mode];
  const [[r]] = await db.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${t} WHERE ${c.flag} = TRUE AND ${c.lease} >= UTC_TIMESTAMP()`);
  const [rows] = await db.query<RowDataPacket[]>(`SELECT dir_key FROM ${t} WHERE ${c.flag} = TRUE AND ${c.lease} >= UTC_TIMESTAMP() LIMIT 3`);
  return { count: Number(r.n), sample: rows.map((x) => x.dir_key as string) };
}

async function batched(db: Db, sql: string, batchSize: number): Promise<number> {
  let total = 0;
  for (;;) {
    const [r] = await db.query<ResultSetHeader>(`${sql} LIMIT ${batchSize}`);
    total += r.affectedRows;
    if (r.affectedRows < batchSize) return total;
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
  const t = tableName(config.mysql_table);
  const c = CLAIM_COLUMNS[args.mode];
  const batchSize = args.batchSize ?? 10_000;
  const held = await liveClaims(db, config.mysql_table, args.mode);
  if (held.count > 0 && !args.force && !args.staleOnly) throw new LiveClaimsError(held.count, held.sample, args.mode);
  const clear = `UPDATE ${t} SET ${c.published} = FALSE, ${c.flag} = FALSE, ${c.owner} = NULL, ${c.lease} = NULL`;
  let cleared: number;
  if (args.staleOnly) {
    // Expired or hand-set (no lease) claims only; their published flag too, so the publisher sends them again.
    cleared = await batched(db, `${clear} WHERE ${c.flag} = TRUE AND (${c.lease} IS NULL OR ${c.lease} < UTC_TIMESTAMP())`, batchSize);
  } else {
    // Without --force, a claim taken after the check above is still left alone: the WHERE re-checks it.
    const guard = args.force ? '' : ` AND NOT ${live(args.mode)}`;
    cleared = await batched(db, `${clear} WHERE (${c.published} = TRUE OR ${c.flag} = TRUE)${guard}`, batchSize);
  }
  const summary: ResetSummary = { mode: args.mode, staleOnly: !!args.staleOnly, liveClaims: held.count, cleared };
  if (args.purgeSubscription) {
    summary.drained = await purge(ctx, args.purgeSubscription, args.drainIdleMs ?? 2000);
    summary.purged = args.purgeSubscription;
  }
  log.info(`reset ${args.mode}: cleared ${cleared} row(s)`, { ...summary });
  return summary;
}

export const run = reset;
