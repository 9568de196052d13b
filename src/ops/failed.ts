// `ott status --failed`: the open entries of the failed-object ledger (sql/012, src/state/ledger.ts), per
// reason class and one line each, oldest key hash first (index order; a page, never the whole ledger).
import type { Ctx } from '../common/context.js';
import { printable } from '../common/printable.js';
import { ledgerByReason, openCounts, openEntries, type OpenEntry } from '../state/ledger.js';

export interface FailedArgs {
  /** One reason class (REASON_CLASSES in src/common/errors.ts). */
  reason?: string;
  limit?: number;
  json?: boolean;
  write?: (text: string) => void;
}

export interface FailedReport {
  table: string;
  /** Open entries per reason class (all classes, whatever --reason). */
  openByReason: Record<string, number>;
  /** Up to `limit` open entries (of --reason, if given). */
  entries: OpenEntry[];
  limit: number;
}

const iso = (d: Date | null): string => (d ? d.toISOString().replace('.000Z', 'Z') : '-');

export function renderFailed(r: FailedReport): string {
  const out: string[] = [];
  const total = Object.values(r.openByReason).reduce((a, b) => a + b, 0);
  out.push(`ott status --failed: table ${r.table}: ${total.toLocaleString('en-US')} object(s) failed and not resolved since`);
  for (const [cls, n] of Object.entries(r.openByReason)) out.push(`  ${cls.padEnd(14)} ${n.toLocaleString('en-US').padStart(12)}`);
  if (r.entries.length) out.push('', 'reason         attempts  last failed           retried  key: message');
  // Keys and messages escaped: a key holding a newline or ESC cannot forge a line.
  for (const e of r.entries) {
    const msg = printable(e.message.replace(/[ \t\r\n]+/g, ' ')).slice(0, 200);
    out.push(`${e.reasonClass.padEnd(14)} ${String(e.attempts).padStart(8)}  ${iso(e.lastFailedAt).padEnd(20)}  ${String(e.retries).padStart(7)}  ${printable(e.key)}: ${msg}`);
  }
  if (r.entries.length === r.limit) out.push(`(first ${r.limit}; --limit N for more, --json for scripts)`);
  if (total) out.push('', '`ott retry --failed [--reason R]` publishes the open ones again; a verified copy resolves them.');
  return out.join('\n') + '\n';
}

export async function run(ctx: Ctx, args: FailedArgs = {}): Promise<FailedReport> {
  const table = ctx.config.mysql_table;
  const limit = args.limit ?? 100;
  const [counts, page] = await Promise.all([ledgerByReason(ctx.db, table, 'open').then(openCounts), openEntries(ctx.db, table, { reasonClass: args.reason, limit })]);
  const r: FailedReport = { table, openByReason: counts, entries: page.entries, limit };
  const write = args.write ?? ((text: string) => process.stdout.write(text));
  write(args.json ? JSON.stringify(r, null, 2) + '\n' : renderFailed(r));
  return r;
}
