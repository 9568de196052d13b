// What the subfolder modes (syncCheck, rsync) share on top of consume(): their dir messages, one subfolder
// per message worked on with the message's own signal (each under a claim: src/state/withClaim.ts), and
// the outcome -> ack rule.
import { z } from 'zod';
import type { Ctx } from '../common/context.js';
import { dirMessageSchema, type DirMessage } from '../common/messages.js';
import type { WorkMode } from '../state/leases.js';
import type { ConsumeOptions, ConsumeStats, Settle } from './consume.js';
import { MAX_LATER_SECONDS } from './delivery.js';
import { m as metrics } from '../common/metrics.js';

/** What a mode did with one subfolder; counted into the summary. */
export type Outcome = string;

export interface DirWorkerSummary {
  received: number;
  malformed: number;
  /** Messages to come back later (busy subfolders). */
  deferred: number;
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

/** What a mode's work learns about the message beside the subfolder. */
export interface DirDelivery {
  /** Pub/Sub's delivery attempt (0: unknown, the subscription has no dead-letter policy). */
  deliveryAttempt: number;
}

/**
 * How long a busy subfolder's message waits before it comes back: a third of a lease (how often a holder
 * renews), at least 10 s, at most Pub/Sub's 600 s.
 */
export function busyRetrySeconds(ctx: Ctx): number {
  return Math.max(10, Math.min(MAX_LATER_SECONDS, Math.round(ctx.config.lease_seconds / 3)));
}

/** The settle rule of the subfolder modes, from the outcome of the work on one message. */
export function settleFor(ctx: Ctx, outcome: Outcome): Settle {
  if (outcome === 'released') return 'nack';
  if (outcome === 'busy') return { later: { seconds: busyRetrySeconds(ctx) } };
  return 'ack';
}

/**
 * consume() options for a subfolder mode, and its summary. Only this purpose's dir messages are accepted
 * (another purpose is malformed here). `work` gets a context whose signal is the message's own (aborted at
 * the hard stop only). `released` (the hard stop gave the row back untouched) is nacked for redelivery;
 * `busy` (another worker holds the row) is redelivered later (busyRetrySeconds), its flag untouched; every
 * other outcome is recorded in the row (or, `requeued`, handed back to the publisher) and acked; a throw
 * (the outcome could not be recorded, e.g. MySQL is down) counts as `failed` and reaches consume(), which
 * nacks the message.
 */
export function subfolderConsumer(
  ctx: Ctx,
  purpose: WorkMode,
  args: SubfolderRunArgs,
  maxExtensionMs: number,
  work: (ctx: Ctx, dirKey: string, delivery: DirDelivery) => Promise<Outcome>,
) {
  const outcomes: Record<string, number> = {};
  const count = (o: Outcome): void => {
    outcomes[o] = (outcomes[o] ?? 0) + 1;
    metrics.subfolders.inc({ outcome: o });
  };
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
        outcome = await work({ ...ctx, signal: d.signal }, d.message.dir_key, { deliveryAttempt: d.deliveryAttempt });
      } catch (err) {
        count('failed');
        throw err;
      }
      count(outcome);
      return settleFor(ctx, outcome);
    },
  };
  const summary = (s: ConsumeStats): DirWorkerSummary => ({ received: s.received, malformed: s.malformed, deferred: s.deferred, outcomes, seconds: s.seconds });
  return { options, summary };
}
