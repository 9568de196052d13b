// `ott report --format csv`: every subfolder's state, one row each, streamed. Rows come from MySQL a page at
// a time by keyset pagination on the primary key (src/state/report.ts subfolderPage) and each page is written
// once the stream has room (backpressure: we wait for 'drain'), so memory holds one page whatever the table's
// size. Pages are read outside a transaction: a snapshot held for the minutes a billion-row export takes
// would hold InnoDB's undo log back under a writing fleet, so a subfolder that changes during the export
// appears as it was when its page was read.
//
// Format: RFC 4180 (CRLF line ends, a header row, a field quoted when it holds `"`, `,`, CR or LF, quotes
// doubled). S3 keys may hold any of these, and may start with `=`, `+`, `-` or `@`, which a spreadsheet runs as
// a formula (CSV injection): a text field that starts with one of those, a TAB, a CR or `'` is written with a
// `'` in front. The choice keeps every key recoverable: a text field that starts with `'` had one added, so
// stripping one leading `'` gives the key exactly (readCsvText). Numbers are plain digits (exact BIGINTs),
// times ISO 8601 UTC, an unknown value (NULL) an empty field.
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { Db } from '../../common/db.js';
import { COUNTER_COLUMNS, subfolderPage, TIME_COLUMNS, type SubfolderRow } from '../../state/report.js';

export const CSV_HEADER = [
  'dir_key', 'phase', 'source', 's3_bytes', 's3_objects', 'gcs_bytes', 'gcs_objects',
  ...COUNTER_COLUMNS, 'last_error_mode', 'last_error', ...TIME_COLUMNS,
] as const;

export const PAGE_ROWS = 2000;

/** Spreadsheets run a cell starting with these as a formula (OWASP CSV injection); `'` so the guard can be undone. */
const FORMULA_START = /^[=+\-@\t\r']/;

/** A text field: the formula guard, then RFC 4180 quoting. */
export function csvText(v: string): string {
  const s = FORMULA_START.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** The inverse of the formula guard, for a field a CSV parser has already unquoted. */
export function readCsvText(field: string): string {
  return field.startsWith("'") ? field.slice(1) : field;
}

const numField = (v: number | string | null): string => (v === null ? '' : String(v));
const timeField = (d: Date | null): string => (d ? d.toISOString() : '');

export function csvLine(r: SubfolderRow): string {
  const cells = [
    csvText(r.dirKey), csvText(r.phase), csvText(r.source),
    numField(r.s3Bytes), numField(r.s3Objects), numField(r.gcsBytes), numField(r.gcsObjects),
    ...COUNTER_COLUMNS.map((c) => numField(r.counters[c])),
    csvText(r.lastErrorMode), csvText(r.lastError),
    ...TIME_COLUMNS.map((c) => timeField(r.times[c])),
  ];
  return cells.join(',') + '\r\n';
}

export interface CsvSummary {
  rows: number;
  pages: number;
  bytesWritten: number;
}

/** Writes the header and every subfolder to `out` (not ended: the caller owns it). */
export async function writeCsv(db: Db, table: string, out: Writable, opts: { pageRows?: number; signal?: AbortSignal } = {}): Promise<CsvSummary> {
  const pageRows = opts.pageRows ?? PAGE_ROWS;
  const sum: CsvSummary = { rows: 0, pages: 0, bytesWritten: 0 };
  const write = async (text: string): Promise<void> => {
    sum.bytesWritten += Buffer.byteLength(text);
    // Backpressure: a full buffer stops the reads until the consumer (file, pipe) has taken it.
    if (!out.write(text)) await once(out, 'drain', { signal: opts.signal });
  };
  await write(CSV_HEADER.join(',') + '\r\n');
  let after = 0;
  for (;;) {
    opts.signal?.throwIfAborted();
    const page = await subfolderPage(db, table, after, pageRows);
    if (!page.length) break;
    sum.pages++;
    sum.rows += page.length;
    after = page[page.length - 1].id;
    await write(page.map(csvLine).join(''));
    if (page.length < pageRows) break;
  }
  return sum;
}
