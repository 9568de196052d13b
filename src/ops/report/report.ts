// `ott report --format csv|md|html [--out FILE]`: the record of a migration, read from MySQL. csv: every
// subfolder's state, streamed a page at a time (csv.ts); md: a summary for a ticket or a pull request
// (summary.ts, markdown.ts); html: the dashboard's page as one self-contained file (src/ops/dashboard/page.ts
// renderStaticHtml over the overview). With --out the report is written to FILE.partial and renamed over FILE once
// complete, so a reader never finds half a report; without it, it goes to stdout (with backpressure).
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import type { Ctx } from '../../common/context.js';
import { writeCsv } from './csv.js';
import { renderMarkdown } from './markdown.js';
import { reportSummary } from './summary.js';
import { readOverview } from '../overview.js';
import { renderStaticHtml } from '../dashboard/page.js';

export const REPORT_FORMATS = ['csv', 'md', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface ReportArgs {
  format: ReportFormat;
  /** A file to write; stdout when absent. */
  out?: string;
  /** Where to write when `out` is absent (tests); default process.stdout. */
  stdout?: Writable;
}

export interface ReportResult {
  format: ReportFormat;
  out: string;
  /** CSV: subfolder rows written. */
  rows?: number;
  bytes: number;
}

async function writeText(w: Writable, text: string): Promise<void> {
  await new Promise<void>((resolve, reject) => w.write(text, (err) => (err ? reject(err) : resolve())));
}

async function produce(ctx: Ctx, format: ReportFormat, w: Writable): Promise<Omit<ReportResult, 'out' | 'format'>> {
  if (format === 'csv') {
    const s = await writeCsv(ctx.db, ctx.config.mysql_table, w, { signal: ctx.signal });
    return { rows: s.rows, bytes: s.bytesWritten };
  }
  if (format === 'md') {
    const text = renderMarkdown(await reportSummary(ctx));
    await writeText(w, text);
    return { bytes: Buffer.byteLength(text) };
  }
  // html: the dashboard's page as one offline file (inline CSS and JS, charts from the embedded overview).
  const text = renderStaticHtml(await readOverview(ctx.db, ctx.config.mysql_table));
  await writeText(w, text);
  return { bytes: Buffer.byteLength(text) };
}

export async function run(ctx: Ctx, args: ReportArgs): Promise<ReportResult> {
  if (!args.out) {
    const r = await produce(ctx, args.format, args.stdout ?? process.stdout);
    return { format: args.format, out: '-', ...r };
  }
  const partial = `${args.out}.partial`;
  const file = createWriteStream(partial);
  try {
    const r = await produce(ctx, args.format, file);
    file.end();
    await finished(file);
    await rename(partial, args.out);
    return { format: args.format, out: args.out, ...r };
  } catch (err) {
    file.destroy();
    await rm(partial, { force: true });
    throw new Error(`ott report: writing ${args.out} failed; nothing was written there`, { cause: err });
  }
}
