// Benchmark: `ott dump --inventory` indexing an S3 Inventory into MySQL, in rows/s, for CSV (gzip) and
// Parquet deliveries of N objects (default 1,000,000 in 10 subfolders' worth of data files) written in AWS's
// format (test/helpers/inventory.ts) into the S3 emulator: a first dump (every row new), then the same
// inventory again as a newer delivery (every row already indexed: the upsert's update side). The dump runs
// in this process (src/dump/dump.ts run()), so the time is the dump's: download + MD5, parse, index, count.
// Usage: npx tsx bench/inventory.bench.ts [--objects N] [--files N] [--format CSV|Parquet]
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { startStack } from '../test/stack/index.js';
import { perSecond, writeResults } from './results.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const N = Number(arg('objects') ?? 1_000_000);
const FILES = Number(arg('files') ?? 4);
const formats = (arg('format') ? [arg('format')!] : ['CSV', 'Parquet']) as ('CSV' | 'Parquet')[];

const stack = await startStack({ only: ['mariadb', 's3'] });
Object.assign(process.env, stack.env);
// Imported after the stack's env is in place (the helpers read it).
const { makeS3Client } = await import('../test/helpers/s3.js');
const { testContext } = await import('../test/helpers/context.js');
const { csvGz, parquet, putDelivery } = await import('../test/helpers/inventory.js');
const { run: dump } = await import('../src/dump/dump.js');

/** Object i of the inventory: 1,000 subfolders, keys of a realistic length. */
function line(i: number, gen: number): { key: string; size: number; etag: string; lastModified: Date; storageClass: string } {
  const dir = `sub-${String(i % 1000).padStart(4, '0')}`;
  return {
    key: `root/${dir}/photos/2026/${String(i).padStart(9, '0')}-IMG_${i % 9973}.jpg`,
    size: 1000 + (i % 100_000),
    etag: (gen * 7919 + i).toString(16).padStart(32, '0'),
    lastModified: new Date(1_700_000_000_000 + i * 1000),
    storageClass: 'STANDARD',
  };
}

const lines: string[] = [];
try {
  const s3 = makeS3Client();
  const dest = `inv-bench-${Date.now()}`;
  const source = `src-bench-${Date.now()}`;
  await s3.send(new CreateBucketCommand({ Bucket: dest }));
  for (const format of formats) {
    const per = Math.ceil(N / FILES);
    const deliveries = [];
    for (const gen of [1, 2]) {
      const files: Buffer[] = [];
      for (let f = 0; f < FILES; f++) {
        const part = Array.from({ length: Math.min(per, N - f * per) }, (_, j) => line(f * per + j, gen === 2 && (f * per + j) % 100 === 0 ? 2 : 1));
        files.push(format === 'CSV' ? csvGz(source, part) : parquet(source, part, 100_000));
      }
      deliveries.push(await putDelivery(s3, { dest, prefix: `${format}/`, source, config: 'daily', at: new Date(Date.UTC(2026, 10, 28 + gen)), format, files }));
    }
    const ctx = await testContext('dump', { s3_bucket: source, s3_root_prefix: 'root/' });
    for (const [i, d] of deliveries.entries()) {
      const t = Date.now();
      const s = await dump(ctx, { inventory: d.manifestUrl });
      const ms = Date.now() - t;
      if (s.inventory?.objects !== N) throw new Error(`indexed ${s.inventory?.objects} of ${N}`);
      const what = i === 0 ? 'first dump (all new)' : 'second delivery (all indexed, 1% changed)';
      const rss = Math.round(process.memoryUsage().rss / 2 ** 20);
      lines.push(`- inventory dump, ${format}, ${N.toLocaleString('en')} objects, ${what}: ${perSecond(N, ms)} (${(ms / 1000).toFixed(1)} s, RSS now ${rss} MiB${s.inventory.changes ? `, changed ${s.inventory.changes.changed_objects}` : ''}) -- \`npx tsx bench/inventory.bench.ts\``);
      console.log(lines[lines.length - 1]);
    }
    await ctx.db.end();
  }
  writeResults('inventory', lines, { print: N !== 1_000_000 });
} finally {
  await stack.stop();
}
