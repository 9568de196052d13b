// Benchmark: `ott dump` loading 1,000,000 subfolder keys from an `aws s3 ls` file, initial and delta
// (1% new), against a bare LOAD DATA LOCAL INFILE of the same keys into the same table, same run; then a
// delta where 1% of the keys vanished. Ours runs as the real CLI (`ott dump`, through tsx as in a source
// checkout) in its own process so its time includes start-up and its peak RSS (VmHWM) is its own.
// Usage: npx tsx bench/dump.bench.ts [--keys N]
import { createReadStream, mkdtempSync, readFileSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { createConnection } from 'mysql2/promise';
import { startStack } from '../test/stack/index.js';
import { migrate } from '../src/common/migrate.js';
import { createDb } from '../src/common/db.js';
import { perSecond, rateRatio, writeResults } from './results.js';

const argKeys = process.argv.indexOf('--keys');
const N = argKeys > 0 ? Number(process.argv[argKeys + 1]) : 1_000_000;
const dir = mkdtempSync(join(tmpdir(), 'ott-bench-dump-'));
const stack = await startStack({ only: ['mariadb'] });
const env = stack.env;

async function writeLines(path: string, n: number, offset: number, fmt: (k: string) => string): Promise<void> {
  const out = createWriteStream(path);
  for (let i = 0; i < n; i++) {
    if (!out.write(fmt(`root/sub-${String(offset + i).padStart(8, '0')}-x/`) + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(r));
}

async function database(name: string) {
  const c = await createConnection({ host: env.OTT_MYSQL_HOST, port: Number(env.OTT_MYSQL_PORT), user: env.OTT_MYSQL_USER, password: env.OTT_MYSQL_PASSWORD });
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const mysql = { host: env.OTT_MYSQL_HOST, port: Number(env.OTT_MYSQL_PORT), user: env.OTT_MYSQL_USER, password: env.OTT_MYSQL_PASSWORD, database: name, ssl_disabled: true };
  const db = createDb(mysql);
  await migrate(db, 'state');
  return { db, mysql };
}

async function bareLoad(db: ReturnType<typeof createDb>, file: string): Promise<number> {
  const t = Date.now();
  await db.query({
    sql: "LOAD DATA LOCAL INFILE 'keys' IGNORE INTO TABLE state FIELDS TERMINATED BY '\\t' ESCAPED BY '' LINES TERMINATED BY '\\n' (dir_key) SET dir_key_sha = UNHEX(SHA2(dir_key, 256))",
    infileStreamFactory: () => createReadStream(file),
  });
  return Date.now() - t;
}

async function ours(cfg: string, file: string): Promise<{ ms: number; peakRssMiB: number; summary: Record<string, number> }> {
  const t = Date.now();
  const child = spawn(process.execPath, ['bin/ott.mjs', '--config', cfg, 'dump', '--dump-file', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let peakKiB = 0;
  child.stdout.on('data', (b) => (out += b));
  const timer = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peakKiB = Math.max(peakKiB, Number(m[1]));
    } catch {
      /* exited */
    }
  }, 50);
  const code = await new Promise((r) => child.on('exit', r));
  clearInterval(timer);
  if (code !== 0) throw new Error(`ott dump exited ${code}: ${out.slice(-2000)}`);
  const ms = Date.now() - t;
  const done = out.trim().split('\n').map((l) => JSON.parse(l)).find((l) => l.message === 'dump finished');
  if (!done) throw new Error(`no summary from ott dump: ${out.slice(-2000)}`);
  const summary = done.summary;
  return { ms, peakRssMiB: Math.round(peakKiB / 1024), summary };
}

try {
  const keysFile = join(dir, 'keys.txt');
  const lsFile = join(dir, 'ls.txt');
  await writeLines(keysFile, N, 0, (k) => k);
  await writeLines(lsFile, N, 0, (k) => `                           PRE ${k.slice('root/'.length)}`);
  const bare = await database('bench_bare');
  const mine = await database('bench_ours');
  const creds = join(dir, 'creds.json');
  writeFileSync(creds, JSON.stringify({ mysql_config: mine.mysql }));
  const cfg = join(dir, 'cfg.json');
  writeFileSync(cfg, JSON.stringify({ mysql_table: 'state', credentials_file: creds, s3_root_prefix: 'root/' }));

  const bareInitialMs = await bareLoad(bare.db, keysFile);
  const oursInitial = await ours(cfg, lsFile);
  if (oursInitial.summary.new !== N) throw new Error(`ours loaded ${oursInitial.summary.new} of ${N}`);

  // Delta: the same keys plus 1% new ones.
  const extra = Math.round(N / 100);
  await writeLines(keysFile, N + extra, 0, (k) => k);
  await writeLines(lsFile, N + extra, 0, (k) => `                           PRE ${k.slice('root/'.length)}`);
  const bareDeltaMs = await bareLoad(bare.db, keysFile);
  const oursDelta = await ours(cfg, lsFile);
  if (oursDelta.summary.new !== extra) throw new Error(`delta inserted ${oursDelta.summary.new}, expected ${extra}`);

  // Not a ratio (no bare equivalent): the cost of reporting and marking vanished subfolders. The listing
  // drops the first 1% of the keys; nothing is new.
  await writeLines(lsFile, N, extra, (k) => `                           PRE ${k.slice('root/'.length)}`);
  const oursVanished = await ours(cfg, lsFile);
  if (oursVanished.summary.new !== 0 || oursVanished.summary.vanished !== extra) throw new Error(`vanished run: ${JSON.stringify(oursVanished.summary)}`);

  const cmd = '`npx tsx bench/dump.bench.ts`';
  writeResults('dump', [
    `- dump initial load (${N.toLocaleString('en')} keys): ${rateRatio(oursInitial.ms, bareInitialMs)} of bare LOAD DATA LOCAL INFILE (ours ${perSecond(N, oursInitial.ms)}, bare ${perSecond(N, bareInitialMs)}, ours peak RSS ${oursInitial.peakRssMiB} MiB) -- ${cmd}`,
    `- dump delta, 1% new (${(N + extra).toLocaleString('en')} keys): ${rateRatio(oursDelta.ms, bareDeltaMs)} of bare LOAD DATA LOCAL INFILE IGNORE (ours ${perSecond(N + extra, oursDelta.ms)}, bare ${perSecond(N + extra, bareDeltaMs)}, ours peak RSS ${oursDelta.peakRssMiB} MiB) -- ${cmd}`,
    `- dump delta, 1% vanished (${N.toLocaleString('en')} keys listed, ${extra.toLocaleString('en')} missing): ours ${perSecond(N, oursVanished.ms)}, peak RSS ${oursVanished.peakRssMiB} MiB, vanished counted, sampled and marked (no bare equivalent) -- ${cmd}`,
  ]);
  await Promise.all([bare.db.end(), mine.db.end()]);
} finally {
  await stack.stop();
}
