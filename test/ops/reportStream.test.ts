// `ott report --format csv` over 200,000 subfolders: rows stream a page at a time into a slow consumer
// (backpressure), memory stays flat, and the file re-imports (csv-parse, not ours) to the table's totals.
// The history's per-method verification counts (sql/014) survive the hourly roll-up, and copies from before
// 014 are reported as "not recorded", never guessed. Real MariaDB (a fresh database per file).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parse } from 'csv-parse';
import type { RowDataPacket } from 'mysql2';
import { testContext, type TestCtx } from '../helpers/context.js';
import { CSV_HEADER, PAGE_ROWS, readCsvText, writeCsv } from '../../src/ops/report/csv.js';
import { addSample, noActivity, rollUpHistory } from '../../src/state/history.js';
import { reportSummary } from '../../src/ops/report/summary.js';
import { renderMarkdown } from '../../src/ops/report/markdown.js';

const ROWS = 200_000;
// A full collection on demand, so the test measures the live heap, not when V8 chose to collect: RSS and
// heapUsed both include garbage, which under CI's load swung by 30 MiB between halves of a run.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
let ctx: TestCtx;

beforeAll(async () => {
  ctx = await testContext('reportstream', {});
  // 200k subfolders in one statement (MariaDB's sequence engine); every 7th with a key a spreadsheet would run.
  await ctx.db.query(
    `INSERT INTO transfer_state (dir_key, dir_key_sha, cdn_transfer_published, initial_transfer, published_objects, published_bytes, copied_objects, copied_bytes, sync_check_error)
     SELECT k, UNHEX(SHA2(k, 256)), 1, 0, seq % 50, seq * 1000, seq % 50, seq * 1000, IF(seq % 1000 = 0, CONCAT('listing failed, "retry" later\\nline 2 of ', k), NULL)
     FROM (SELECT seq, IF(seq % 7 = 0, CONCAT('=cmd|', seq, ',x/'), CONCAT('data/sub-', LPAD(seq, 7, '0'), '/')) AS k FROM seq_1_to_${ROWS}) s`,
  );
}, 300_000);

afterAll(async () => {
  await ctx.db.end();
});

describe('ott report --format csv at scale', () => {
  it('streams 200k subfolders with backpressure in bounded memory, and re-imports to the same totals', { timeout: 300_000 }, async () => {
    const highWaterMark = 64 * 1024;
    let maxBuffered = 0;
    const rss: number[] = [];
    const live: number[] = []; // heap and Buffers after a full collection, every LIVE_EVERY bytes the sink takes
    const LIVE_EVERY = 2 * 1048576;
    let taken = 0;
    const parser = parse({ columns: true, relax_column_count: false });
    const sums = { rows: 0, s3Bytes: 0, s3Objects: 0, gcsBytes: 0, gcsObjects: 0, formula: 0, errors: 0 };
    parser.on('readable', () => {
      for (let r = parser.read(); r !== null; r = parser.read()) {
        sums.rows++;
        sums.s3Bytes += Number(r.s3_bytes);
        sums.s3Objects += Number(r.s3_objects);
        sums.gcsBytes += Number(r.gcs_bytes);
        sums.gcsObjects += Number(r.gcs_objects);
        // Every formula-looking key is guarded, and the guard comes off.
        if (r.dir_key.startsWith("'=") && readCsvText(r.dir_key).startsWith('=cmd|')) sums.formula++;
        if (r.last_error) sums.errors++;
      }
    });
    const parsed = new Promise<void>((resolve, reject) => parser.on('end', resolve).on('error', reject));
    // A slow consumer: each chunk taken a tick later, so the writer must wait for 'drain'.
    const sink = new Writable({
      highWaterMark,
      write(chunk: Buffer, _enc, cb) {
        maxBuffered = Math.max(maxBuffered, sink.writableLength);
        parser.write(chunk);
        if (Math.floor((taken + chunk.length) / LIVE_EVERY) > Math.floor(taken / LIVE_EVERY)) {
          gc();
          const m = process.memoryUsage();
          live.push(m.heapUsed + m.external); // strings and Buffers alike
        }
        taken += chunk.length;
        setImmediate(cb);
      },
    });
    const sample = setInterval(() => rss.push(process.memoryUsage().rss), 50);
    const started = Date.now();
    const s = await writeCsv(ctx.db, 'transfer_state', sink);
    const ms = Date.now() - started;
    clearInterval(sample);
    parser.end();
    await parsed;

    expect(s.rows).toBe(ROWS);
    expect(s.pages).toBe(Math.ceil(ROWS / PAGE_ROWS));
    const [[t]] = await ctx.db.query<RowDataPacket[]>('SELECT SUM(published_bytes) AS b, SUM(published_objects) AS o, SUM(LEAST(copied_bytes, published_bytes)) AS gb FROM transfer_state');
    expect(sums).toEqual({ rows: ROWS, s3Bytes: Number(t.b), s3Objects: Number(t.o), gcsBytes: Number(t.gb), gcsObjects: Number(t.o), formula: Math.floor(ROWS / 7), errors: ROWS / 1000 });
    // Backpressure held: never more than the sink's mark plus one page buffered (a page is ~2000 rows).
    expect(maxBuffered).toBeLessThan(highWaterMark + 2 * PAGE_ROWS * 400);
    // The output (~32 MiB) never sat in memory: live memory is flat, the second half of the run peaking no
    // higher than the first plus 8 MiB, where output kept (as strings or Buffers) would add ~16 MiB.
    const mib = (b: number): string => (b / 1048576).toFixed(0);
    const peak = (xs: number[]): number => Math.max(...xs);
    const half = (xs: number[]): [number[], number[]] => [xs.slice(0, Math.floor(xs.length / 2)), xs.slice(Math.floor(xs.length / 2))];
    const [rss1, rss2] = half(rss);
    const [live1, live2] = half(live);
    console.log(
      `report csv: ${ROWS} rows, ${(s.bytesWritten / 1048576).toFixed(1)} MiB in ${ms} ms; live memory peak 1st half ${mib(peak(live1))}, 2nd half ${mib(peak(live2))} MiB ` +
        `(${live.length} samples); RSS start ${mib(rss[0])}, peak 1st half ${mib(peak(rss1))}, 2nd half ${mib(peak(rss2))} MiB (${rss.length} samples)`,
    );
    expect(s.bytesWritten).toBeGreaterThan(30 * 1048576);
    expect(live.length).toBeGreaterThanOrEqual(15);
    expect(peak(live2) - peak(live1)).toBeLessThan(8 * 1048576);
  });

  it('quotes per RFC 4180 and guards formulas reversibly', async () => {
    // A database of its own: deleting the 200k rows would cost more than the test.
    const small = await testContext('reportquote', {});
    await small.db.query("INSERT INTO transfer_state (dir_key, dir_key_sha, cdn_transfer_published, published_objects, published_bytes, copied_objects, copied_bytes) VALUES ('data/sub-0000001/', UNHEX(SHA2('data/sub-0000001/', 256)), 1, 1, 1000, 1, 1000)");
    const keys = ['a,b/', 'say "hi"/', 'line\nbreak\r\n/', "'quoted/", '-1+1/', '@SUM(A1)/', '\tTAB/'];
    for (const k of keys) await small.db.query('INSERT INTO transfer_state (dir_key, dir_key_sha) VALUES (?, UNHEX(SHA2(?, 256)))', [k, k]);
    const out: string[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => (out.push(c.toString()), cb()) });
    await writeCsv(small.db, 'transfer_state', sink, { pageRows: 3 });
    await small.db.end();
    const text = out.join('');
    expect(text.startsWith(`${CSV_HEADER.join(',')}\r\ndata/sub-0000001/,transferred,listed,1000,1,1000,1,`)).toBe(true);
    for (const cell of ['"a,b/"', '"say ""hi""/"', '"line\nbreak\r\n/"', "''quoted/", "'-1+1/", "'@SUM(A1)/", "'\tTAB/"]) expect(text).toContain(`\r\n${cell},new,none,`);
    const back = await new Promise<Record<string, string>[]>((resolve, reject) => parse(text, { columns: true }, (err, rows: Record<string, string>[]) => (err ? reject(err) : resolve(rows))));
    expect(back.map((r) => readCsvText(r.dir_key))).toEqual(['data/sub-0000001/', ...keys]);
  });
});

describe('verification methods in the throughput history (sql/014)', () => {
  it('are summed per method, kept through the hourly roll-up, and copies before 014 are "not recorded"', async () => {
    const w = { mode: 'cdnTransfer', workerId: 'w1', host: 'h1' };
    await addSample(ctx.db, 'transfer_state', w, { ...noActivity(), copiedObjects: 10, copiedBytes: 10_000, verifiedMd5Objects: 6, verifiedMultipartObjects: 3, verifiedSizeOnlyObjects: 1 });
    // Two days ago: a worker from before migration 014 (no method recorded) and one after; the roll-up sums both.
    await ctx.db.query(
      `INSERT INTO throughput_history (state_table, span_seconds, bucket_at, mode, worker_id, host, copied_objects, copied_bytes, verified_crc_objects)
       VALUES ('transfer_state', 60, DATE_FORMAT(UTC_TIMESTAMP() - INTERVAL 2 DAY, '%Y-%m-%d %H:%i:00'), 'cdnTransfer', 'old', 'h0', 5, 5000, 0),
              ('transfer_state', 60, DATE_FORMAT(UTC_TIMESTAMP() - INTERVAL 2 DAY, '%Y-%m-%d %H:%i:00'), 'cdnTransfer', 'w1', 'h1', 2, 2000, 2)`,
    );
    expect(await rollUpHistory(ctx.db, 'transfer_state')).toBe(2);
    const r = await reportSummary(ctx);
    expect(r.copies).toMatchObject({ copiedObjects: 17, copiedBytes: 17_000 });
    expect(r.verification).toEqual({ md5: 6, multipartEtag: 3, crc: 2, sizeOnly: 1, notRecorded: 5 });
    expect(r.peakHour).toMatchObject({ copiedObjects: 10, copiedBytes: 10_000, seconds: 3600 });
    expect(r.peakMinute).toMatchObject({ copiedObjects: 10, seconds: 60 });
    const md = renderMarkdown(r);
    expect(md).toContain('| MD5 (single-part ETag) | 6 (35.3%) |');
    expect(md).toContain('| not recorded (copied before migration 014) | 5 (29.4%) |');
    expect(md).not.toMatch(/NaN|undefined|null/);
  });
});
