// Benchmark: publishDirList on a large state table, against a bare loop that reads the same subfolders
// with one SELECT and publishes the same messages with the same batching to the same emulator, in the
// same run (no claims, no flags: the floor for "publish every due subfolder").
//   - `--purpose syncCheck --recheck`: every subfolder was checked before the run: all are due again.
//   - `--purpose rsync`: 2% of the subfolders differ in size after their check: sparse among rows no
//     index rules out, the case where reading candidates from the table's start each claim was quadratic.
// Usage: npx tsx bench/dirlist.bench.ts [--rows N]
import { createConnection } from 'mysql2/promise';
import { PubSub } from '@google-cloud/pubsub';
import type { RowDataPacket } from 'mysql2';
import { startStack } from '../test/stack/index.js';
import { createContext } from '../src/common/context.js';
import { validateConfig } from '../src/common/config/validate.js';
import { migrate } from '../src/common/migrate.js';
import { encodeMessage } from '../src/common/messages.js';
import { dirKeyHash } from '../src/publisher/topic.js';
import { run, type Purpose } from '../src/publisher/publishDirList.js';
import { perSecond, rateRatio, writeResults } from './results.js';
import { pidOf, processCpuMs } from './transfer/cpu.js';

const i = process.argv.indexOf('--rows');
const ROWS = i > 0 ? Number(process.argv[i + 1]) : 100_000;
const BATCH = 10; // max_messages_per_batch: the reference's default
const MISMATCHED_EVERY = 50; // 2%

const stack = await startStack({ only: ['mariadb', 'pubsub'] });
Object.assign(process.env, stack.env);
const env = stack.env;
const ps = new PubSub({ projectId: env.PUBSUB_PROJECT_ID });
const mysqlBase = { host: env.OTT_MYSQL_HOST, port: Number(env.OTT_MYSQL_PORT), user: env.OTT_MYSQL_USER, password: env.OTT_MYSQL_PASSWORD };
const mariadb = pidOf('mariadbd', `--port=${env.OTT_MYSQL_PORT}`);
const emulator = pidOf('cloud-pubsub-emulator');
let seq = 0;

/** Runs f; its wall time, and the CPU time this process, MariaDB and the emulator spent meanwhile (ms). */
async function timed(f: () => Promise<number>): Promise<{ ms: number; cpuMs: number; dbCpuMs: number; emuCpuMs: number }> {
  const c = process.cpuUsage();
  const [db0, emu0] = [processCpuMs(mariadb) ?? 0, processCpuMs(emulator) ?? 0];
  const ms = await f();
  const d = process.cpuUsage(c);
  return { ms, cpuMs: (d.user + d.system) / 1000, dbCpuMs: (processCpuMs(mariadb) ?? 0) - db0, emuCpuMs: (processCpuMs(emulator) ?? 0) - emu0 };
}
const newTopic = async (): Promise<string> => (await ps.createTopic(`bench-dirlist-${seq++}`))[0].name.split('/').pop()!;

/** A fresh database whose ROWS subfolders were all transferred and checked on 2026-01-01. */
async function seeded(name: string) {
  const c = await createConnection(mysqlBase);
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const mysql = { ...mysqlBase, database: name, ssl_disabled: true };
  const config = validateConfig({ mysql_table: 'state', credentials_file: '/dev/null', pubsub_topic_id: 'unset', max_messages_per_batch: BATCH }, 'bench');
  const ctx = await createContext({ mode: 'publishDirList', config, secrets: { mysql_config: mysql }, gcpProject: env.PUBSUB_PROJECT_ID, writeLog: () => undefined });
  await migrate(ctx.db, 'state');
  for (let from = 1; from <= ROWS; from += 100_000) {
    const to = Math.min(ROWS, from + 99_999);
    await ctx.db.query(`INSERT INTO state (dir_key, dir_key_sha, initial_transfer, cdn_transfer_published, sync_check_frequency, sync_check_published,
        s3_size, gcs_size, s3_objects, gcs_objects, sync_check_last_start, sync_check_last_end)
      SELECT CONCAT('root/sub-', LPAD(seq, 8, '0'), '/'), UNHEX(SHA2(CONCAT('root/sub-', LPAD(seq, 8, '0'), '/'), 256)), FALSE, TRUE, 1, TRUE,
        1000, IF(seq % ${MISMATCHED_EVERY} = 0, 10, 1000), 10, 10, '2026-01-01', '2026-01-01'
      FROM seq_${from}_to_${to}`);
  }
  await ctx.db.query('ANALYZE TABLE state');
  await ctx.db.end();
  await ctx.clients.close();
  return mysql;
}

async function ours(purpose: Purpose, mysql: Awaited<ReturnType<typeof seeded>>, topicId: string, expected: number): Promise<number> {
  const config = validateConfig({ mysql_table: 'state', credentials_file: '/dev/null', pubsub_topic_id: topicId, max_messages_per_batch: BATCH }, 'bench');
  const ctx = await createContext({ mode: 'publishDirList', config, secrets: { mysql_config: mysql }, gcpProject: env.PUBSUB_PROJECT_ID, writeLog: () => undefined });
  const t = Date.now();
  const s = await run(ctx, { purpose, recheck: purpose === 'syncCheck' });
  const ms = Date.now() - t;
  if (s.subfolders_published !== expected || s.subfolders_failed) throw new Error(`ours published ${s.subfolders_published} of ${expected} (${s.subfolders_failed} failed)`);
  await ctx.db.end();
  await ctx.clients.close();
  return ms;
}

/** The floor: one SELECT of the due subfolders, then the same messages published with the same batching. */
async function bare(purpose: Purpose, mysql: Awaited<ReturnType<typeof seeded>>, topicId: string, expected: number): Promise<number> {
  const c = await createConnection(mysql);
  const topic = ps.topic(topicId, { batching: { maxMessages: BATCH, maxMilliseconds: 10 } });
  const t = Date.now();
  const where = purpose === 'rsync' ? 'sync_check_frequency > 0 AND (s3_size <> gcs_size OR s3_objects <> gcs_objects)' : 'sync_check_last_end < UTC_TIMESTAMP()';
  const [rows] = await c.query<RowDataPacket[]>(`SELECT dir_key FROM state WHERE ${where}`);
  const pending = rows.map((r) => {
    const dirKey = r.dir_key as string;
    return topic.publishMessage({ data: encodeMessage({ v: 1, kind: 'dir', purpose, dir_key: dirKey }), attributes: { v: '1', kind: 'dir', purpose, dir_key_sha: dirKeyHash(dirKey) } });
  });
  await Promise.all(pending);
  const ms = Date.now() - t;
  await c.end();
  if (rows.length !== expected) throw new Error(`bare published ${rows.length} of ${expected}`);
  return ms;
}

try {
  const lines: string[] = [];
  const cmd = '`npx tsx bench/dirlist.bench.ts`';
  for (const purpose of ['syncCheck', 'rsync'] as const) {
    const expected = purpose === 'rsync' ? Math.floor(ROWS / MISMATCHED_EVERY) : ROWS;
    // A warm-up of each side on its own table, then one timed run each on fresh tables: a run flags the
    // rows it publishes, so a table serves one run.
    await bare(purpose, await seeded(`warm_bare_${purpose}`), await newTopic(), expected);
    await ours(purpose, await seeded(`warm_ours_${purpose}`), await newTopic(), expected);
    const [bareDb, oursDb] = [await seeded(`bare_${purpose}`), await seeded(`ours_${purpose}`)];
    const [bareTopic, oursTopic] = [await newTopic(), await newTopic()];
    const b = await timed(() => bare(purpose, bareDb, bareTopic, expected));
    const o = await timed(() => ours(purpose, oursDb, oursTopic, expected));
    process.stderr.write(`${purpose}: bare ${JSON.stringify(b)}, ours ${JSON.stringify(o)}\n`);
    const per = (ms: number): string => `${((ms / expected) * 1000).toFixed(0)} µs`;
    const what =
      purpose === 'rsync'
        ? `publishDirList --purpose rsync (${expected.toLocaleString('en')} mismatched among ${ROWS.toLocaleString('en')} checked subfolders)`
        : `publishDirList --purpose syncCheck --recheck (${ROWS.toLocaleString('en')} checked subfolders, all due)`;
    lines.push(
      `- ${what}: ${rateRatio(o.ms, b.ms)} of a bare SELECT + @google-cloud/pubsub publish loop of the same messages, batches of ${BATCH} (ours ${perSecond(expected, o.ms)}, bare ${perSecond(expected, b.ms)}; ours claims in id order, publishes and flags every row; CPU per subfolder published: MariaDB ours ${per(o.dbCpuMs)}, bare ${per(b.dbCpuMs)}, this process ours ${per(o.cpuMs)}, bare ${per(b.cpuMs)}, emulator ours ${per(o.emuCpuMs)}, bare ${per(b.emuCpuMs)}; one run each after a warm-up; 2 cores shared by all three) -- ${cmd}`,
    );
  }
  writeResults('dirlist', lines);
  await ps.close();
} finally {
  await stack.stop();
}
