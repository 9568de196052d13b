// Benchmark: `ott dump`'s delta at 10 M subfolders (issue 19): a listing with 1% new keys, and one where
// 1% of the keys vanished, each against a bare baseline doing the same filtering with no tool around it
// (dumpBase.ts bareDelta: LOAD DATA LOCAL INFILE into a staging table, INSERT IGNORE ... SELECT of the
// new ones, an anti-join count of the vanished), on the same table, one after the other. Ours runs as the
// real CLI (`ott dump --dump-file`, built to JavaScript as on the VMs: tsx's own compiler would add to its
// memory) in its own process, so its time includes start-up and its peak RSS (VmHWM) is its own. Targets: peak RSS < 256 MiB, rate >= 0.7x bare.
// The table lives in the machine's MariaDB (dumpBase.ts: built once per size and schema, restored between
// rounds), so a run costs minutes. Usage: npx tsx bench/dump.bench.ts [--keys N] [--mysql HOST:PORT]
// [--user U] [--password P] [--rebuild] [--prepare: only build the base]
import { mkdtempSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { perSecond, rateRatio, writeResults } from './results.js';
import { runOtt, type OttRun } from './ottProcess.js';
import { buildOtt } from './transfer/worker.js';
import { bareDelta, dropBase, keyOf, openBase, restore, type Base } from './dumpBase.js';

const FULL_KEYS = 10_000_000;
const RSS_TARGET_MIB = 256;
const RATIO_TARGET = 0.7;

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const N = Number(flag('keys') ?? FULL_KEYS);
const [host, port] = (flag('mysql') ?? '127.0.0.1:3306').split(':');
const server = { host, port: Number(port), user: flag('user') ?? 'root', password: flag('password') ?? '' };
const log = (m: string): void => void process.stderr.write(`[dump.bench] ${m}\n`);

/** Writes keys [from, to) as lines: bare (`key`) or `aws s3 ls` (`PRE name/`). */
async function writeLines(path: string, from: number, to: number, ls: boolean): Promise<void> {
  const out = createWriteStream(path);
  let chunk = '';
  for (let i = from; i < to; i++) {
    const k = keyOf(i);
    chunk += ls ? `                           PRE ${k.slice('root/'.length)}\n` : `${k}\n`;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      chunk = '';
    }
  }
  out.write(chunk);
  await new Promise<void>((r) => out.end(r));
}

interface Ours extends OttRun {
  summary: Record<string, number>;
}

let entry: string | undefined;
async function ours(cfg: string, file: string): Promise<Ours> {
  return (await runOtt(['--config', cfg, 'dump', '--dump-file', file], 'dump', { entry })) as Ours;
}

interface Round {
  name: string;
  listed: number;
  bareMs: number;
  ours: Ours;
}

/** One delta: bare, back to base, ours (checked against what the bare side found), back to base. */
async function round(base: Base, cfg: string, name: string, files: { keys: string; ls: string }, listed: number, expect: { new: number; vanished: number }): Promise<Round> {
  log(`${name}: bare`);
  const bare = await bareDelta(base, files.keys);
  if (bare.inserted !== expect.new || bare.vanished !== expect.vanished) throw new Error(`${name}: bare found ${JSON.stringify(bare)}, expected ${JSON.stringify(expect)}`);
  await restore(base);
  log(`${name}: ours (bare ${Math.round(bare.ms / 1000)} s)`);
  const o = await ours(cfg, files.ls);
  const s = o.summary;
  if (s.new !== expect.new || s.vanished !== expect.vanished || s.existing !== listed - expect.new) throw new Error(`${name}: ours found ${JSON.stringify(s)}, expected ${JSON.stringify(expect)}`);
  log(`${name}: ours ${Math.round(o.ms / 1000)} s, peak RSS ${o.peakRssMiB} MiB`);
  await restore(base);
  return { name, listed, bareMs: bare.ms, ours: o };
}

function line(r: Round, what: string): string {
  const ratio = r.bareMs / r.ours.ms;
  const met = r.ours.peakRssMiB < RSS_TARGET_MIB && ratio >= RATIO_TARGET ? 'targets met' : 'TARGET MISSED';
  return (
    `- dump delta at ${N.toLocaleString('en')} subfolders, ${what}: ${rateRatio(r.ours.ms, r.bareMs)} of a bare staging-table delta ` +
    `(LOAD DATA LOCAL INFILE + INSERT IGNORE ... SELECT of the new + anti-join count of the vanished) ` +
    `(ours ${perSecond(r.listed, r.ours.ms)}, bare ${perSecond(r.listed, r.bareMs)}, ours peak RSS ${r.ours.peakRssMiB} MiB; ` +
    `targets < ${RSS_TARGET_MIB} MiB, >= ${RATIO_TARGET}x: ${met}) -- \`npx tsx bench/dump.bench.ts\``
  );
}

const dir = mkdtempSync(join(tmpdir(), 'ott-bench-dump-'));
try {
  if (process.argv.includes('--rebuild')) {
    const { db, mysql } = await openBase(server, N, log);
    await db.end();
    await dropBase(server, mysql.database);
  }
  const base = await openBase(server, N, log);
  if (process.argv.includes('--prepare')) {
    await base.db.end();
    process.exit(0);
  }
  log('building the CLI (tsc) to run it as JavaScript');
  entry = await buildOtt(join(dir, 'build'));
  const creds = join(dir, 'creds.json');
  writeFileSync(creds, JSON.stringify({ mysql_config: base.mysql }));
  const cfg = join(dir, 'cfg.json');
  writeFileSync(cfg, JSON.stringify({ mysql_table: 'state', credentials_file: creds, s3_root_prefix: 'root/' }));
  const extra = Math.round(N / 100);
  log('writing the listings');
  const grown = { keys: join(dir, 'grown.keys'), ls: join(dir, 'grown.ls') };
  const shrunk = { keys: join(dir, 'shrunk.keys'), ls: join(dir, 'shrunk.ls') };
  await Promise.all([writeLines(grown.keys, 0, N + extra, false), writeLines(grown.ls, 0, N + extra, true), writeLines(shrunk.keys, extra, N, false), writeLines(shrunk.ls, extra, N, true)]);
  const rounds = [
    await round(base, cfg, '1% new', grown, N + extra, { new: extra, vanished: 0 }),
    await round(base, cfg, '1% vanished', shrunk, N - extra, { new: 0, vanished: extra }),
  ];
  writeResults(
    'dump',
    [line(rounds[0], `1% new (${(N + extra).toLocaleString('en')} keys listed)`), line(rounds[1], `1% vanished (${(N - extra).toLocaleString('en')} keys listed, ${extra.toLocaleString('en')} gone: counted, sampled, marked missing)`)],
    { print: N !== FULL_KEYS },
  );
  await base.db.end();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
