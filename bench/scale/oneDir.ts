// Part 2 of the scale benchmark: the real `ott publishObjectsList` (built: plain JavaScript, as on the
// VMs; tsx's compiler would add its own memory) on ONE subfolder of millions of objects, listed from the synthetic S3 (listServer.ts, 1000 keys a page) and published to the Pub/Sub
// emulator (a topic without subscriptions: nothing is kept). The state is dumpBase's one-row base, its row
// reset before each run. What counts: the process's peak RSS (VmHWM) and its keys per second, and whether
// its RSS grows with the listing: the highest RSS while the first half of the keys was served against the
// highest in the second half (a bounded publisher levels off early).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PubSub } from '@google-cloud/pubsub';
import { keyOf, openBase, resetRows, type Server } from '../dumpBase.js';
import { runOtt } from '../ottProcess.js';
import { startListServer } from './listServer.js';

const BUCKET = 'bench-scale';

export interface OneDirRun {
  objects: number;
  ms: number;
  peakRssMiB: number;
  /** Highest VmRSS while the first / second half of the keys was served. */
  firstHalfMiB: number;
  secondHalfMiB: number;
}

/** `entry`: the built CLI (transfer/worker.ts buildOtt). */
export async function publishOneDir(server: Server, ps: PubSub, env: Record<string, string>, entry: string, objects: number, log: (m: string) => void): Promise<OneDirRun> {
  const base = await openBase(server, 1, log);
  const dir = mkdtempSync(join(tmpdir(), 'ott-bench-scale-'));
  const list = await startListServer(BUCKET, keyOf(0), objects);
  try {
    await resetRows(base, [1]);
    const [topic] = await ps.createTopic(`bench-scale-one-${objects}-${Date.now()}`);
    const creds = join(dir, 'creds.json');
    writeFileSync(creds, JSON.stringify({ mysql_config: base.mysql, aws_key_id: 'AKIABENCHSCALE00001', aws_key_secret: 'synthetic-list-server-needs-no-secret' }));
    const cfg = join(dir, 'cfg.json');
    writeFileSync(cfg, JSON.stringify({ mysql_table: 'state', credentials_file: creds, s3_root_prefix: 'root/', s3_bucket: BUCKET, pubsub_topic_id: topic.name.split('/').pop() }));
    const half = [0, 0];
    log(`one subfolder of ${objects.toLocaleString('en')} objects: ott publishObjectsList`);
    const r = await runOtt(['--config', cfg, 'publishObjectsList'], 'publishObjectsList', {
      entry,
      env: { ...process.env, ...env, OTT_S3_ENDPOINT: list.endpoint },
      onSample: (kib) => {
        const i = list.served() * 2 < objects ? 0 : 1;
        half[i] = Math.max(half[i], kib);
      },
    });
    const s = r.summary as { objects: number; subfolders_published: number };
    if (s.objects !== objects || s.subfolders_published !== 1 || list.served() !== objects) {
      throw new Error(`publishObjectsList published ${s.objects} of ${objects} objects in ${s.subfolders_published} subfolder(s); the server listed ${list.served()}`);
    }
    await topic.delete();
    await resetRows(base, [1]);
    log(`${objects.toLocaleString('en')} objects in ${(r.ms / 1000).toFixed(1)} s, peak RSS ${r.peakRssMiB} MiB`);
    return { objects, ms: r.ms, peakRssMiB: r.peakRssMiB, firstHalfMiB: Math.round(half[0] / 1024), secondHalfMiB: Math.round(half[1] / 1024) };
  } finally {
    await list.close();
    await base.db.end();
    rmSync(dir, { recursive: true, force: true });
  }
}
