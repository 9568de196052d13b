// What the subfolder modes (syncCheck, rsync) share on top of consume(): their dir messages, one subfolder
// per message worked on with the message's own signal, and the outcome -> ack rule; plus the claim of a
// subfolder row and the lease held while the mode works on it.
import { z } from 'zod';
import type { Ctx } from '../common/context.js';
import { dirMessageSchema, type DirMessage } from '../common/messages.js';
import { toError } from '../common/errors.js';
import { claim, renew, unpublish, type ClaimMode } from './claims.js';
import type { ConsumeOptions, ConsumeStats } from './consume.js';
import { reportError } from './errorTopic.js';

/** What a mode did with one subfolder; counted into the summary. */
export type Outcome = string;

export interface DirWorkerSummary {
  received: number;
  malformed: number;
  outcomes: Record<string, number>;
  seconds: number;
}

export interface SubfolderRunArgs {
  /** Subfolders worked on at once (each may itself run parallel listings or copies); default num_messages. */
  concurrency?: number;
  /** Stop after this long with nothing received and nothing in flight; 0 runs until shutdown. */
  idleExitSeconds?: number;
  /** Stop after this many messages (0: no limit). */
  maxMessages?: number;
}

/**
 * consume() options for a subfolder mode, and its summary. Only this purpose's dir messages are accepted
 * (another purpose is malformed here). `work` gets a context whose signal is the message's own (aborted at
 * the hard stop only). `released` (the hard stop gave the row back untouched) is nacked for redelivery;
 * every other outcome is recorded in the row and acked; a throw (the outcome could not be recorded,
 * e.g. MySQL is down) counts as `failed` and reaches consume(), which nacks the message.
 */
export function subfolderConsumer(ctx: Ctx, purpose: ClaimMode, args: SubfolderRunArgs, maxExtensionMs: number, work: (ctx: Ctx, dirKey: string) => Promise<Outcome>) {
  const outcomes: Record<string, number> = {};
  const count = (o: Outcome): void => void (outcomes[o] = (outcomes[o] ?? 0) + 1);
  const options: ConsumeOptions<DirMessage> = {
    mode: purpose,
    schema: dirMessageSchema.extend({ purpose: z.literal(purpose) }),
    concurrency: args.concurrency ?? ctx.config.num_messages,
    idleExitMs: (args.idleExitSeconds ?? 0) * 1000,
    maxMessages: args.maxMessages ?? 0,
    maxExtensionMs,
    graceMs: ctx.config.grace_period_seconds * 1000,
    handle: async (d) => {
      let outcome: Outcome;
      try {
        outcome = await work({ ...ctx, signal: d.signal }, d.message.dir_key);
      } catch (err) {
        count('failed');
        throw err;
      }
      count(outcome);
      return outcome === 'released' ? 'nack' : 'ack';
    },
  };
  const summary = (s: ConsumeStats): DirWorkerSummary => ({ received: s.received, malformed: s.malformed, outcomes, seconds: s.seconds });
  return { options, summary };
}

/**
 * Takes a subfolder for this worker. A row held by the other mode (or a live lease) is not dropped: its
 * published flag is cleared so the publisher sends it again (`busy`). A row that does not exist is
 * reported to the error topic (`unknown`).
 */
export async function claimSubfolder(ctx: Ctx, mode: ClaimMode, dirKey: string): Promise<'claimed' | 'busy' | 'unknown'> {
  const { db, config, workerId } = ctx;
  if (await claim(db, config.mysql_table, mode, dirKey, workerId, config.lease_seconds)) return 'claimed';
  if (await unpublish(db, config.mysql_table, mode, dirKey)) return 'busy';
  await reportError(ctx, mode, dirKey, `subfolder ${dirKey} is not in table ${config.mysql_table}: message dropped`);
  return 'unknown';
}

export interface HeldLease {
  /** Aborts when shutdown starts or the lease is lost (taken over after expiry): stop the work then. */
  signal: AbortSignal;
  /** True when a renewal found the row owned by someone else. */
  lost(): boolean;
  stop(): void;
}

/** Renews the lease every third of lease_seconds while the work runs: long work never loses its row. */
export function holdLease(ctx: Ctx, mode: ClaimMode, dirKey: string): HeldLease {
  const ctl = new AbortController();
  let lost = false;
  const leaseSeconds = ctx.config.lease_seconds;
  const timer = setInterval(() => {
    renew(ctx.db, ctx.config.mysql_table, mode, dirKey, ctx.workerId, leaseSeconds).then(
      (owned) => {
        if (owned) return;
        lost = true;
        ctl.abort(new Error(`lease on ${dirKey} lost: another worker took it over after it expired`));
      },
      // A failed renewal is not a lost lease: the next tick tries again before the lease runs out.
      (err) => ctx.log.warn(`${mode}: lease renewal failed for ${dirKey}`, { error: toError(err) }),
    );
  }, Math.max(1000, (leaseSeconds * 1000) / 3));
  return { signal: AbortSignal.any([ctx.signal, ctl.signal]), lost: () => lost, stop: () => clearInterval(timer) };
}
