// The chaos while the copy runs: two cdnTransfer workers SIGKILLed while the CDN is serving (mid-object),
// MariaDB stopped and started again (the stack's control endpoint, OTT_STACK_CONTROL), and the source
// changed in subfolders already copied. Each fires at a share of the in-scope objects found in GCS (listed
// from outside); what could not happen mid-run is done right after and marked late, never skipped silently.
import type { S3Client } from '@aws-sdk/client-s3';
import type { Storage } from '@google-cloud/storage';
import { cdnStats } from '../../test/stack/cdn/client.js';
import { addFaults } from '../../test/stack/faults.js';
import { serviceOutage } from '../../test/stack/control.js';
import { isArchived, type ChaosObject } from './dataset.js';
import { changeSource, type Change } from './mutate.js';
import type { ChaosCtx, WorkerPool } from './procs.js';

export interface EventLog {
  kills: { label: string; inGcs: number; cdnInFlight: number }[];
  outage?: { atInGcs: number; seconds: number; late: boolean };
  changes: Change[];
  changesLate: boolean;
  /** What was planned and did not happen, and why. */
  notDone: string[];
}

export interface EventOptions {
  storage: Storage;
  s3: S3Client;
  dataset: ChaosObject[];
  outageSeconds: number;
  /** The copy phase ends once every in-scope object is in GCS, or after this long without a new one. */
  stallMs: number;
  pollMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function gcsNames(storage: Storage, bucket: string, prefix: string): Promise<Set<string>> {
  const [files] = await storage.bucket(bucket).getFiles({ prefix, autoPaginate: true });
  return new Set(files.map((f) => f.name));
}

export async function chaosEvents(c: ChaosCtx, pool: WorkerPool, o: EventOptions): Promise<EventLog> {
  const { names } = c;
  const log: EventLog = { kills: [], changes: [], changesLate: false, notDone: [] };
  const inScope = o.dataset.filter((d) => !isArchived(d));
  let finished = false;
  void pool.done.then(() => void (finished = true));
  const cdn = c.env.OTT_CDN_ENDPOINT;
  let inGcs = new Set<string>();
  const share = (): number => inScope.filter((d) => inGcs.has(d.key)).length / inScope.length;

  const outage = async (late: boolean): Promise<void> => {
    const at = inGcs.size;
    c.say(`CHAOS: MariaDB down (${at} objects in GCS)`);
    await serviceOutage(c.env.OTT_STACK_CONTROL, 'mariadb', 'down');
    await sleep(o.outageSeconds * 1000);
    await serviceOutage(c.env.OTT_STACK_CONTROL, 'mariadb', 'up');
    c.say(`CHAOS: MariaDB up again after ${o.outageSeconds} s`);
    log.outage = { atInGcs: at, seconds: o.outageSeconds, late };
  };
  const change = async (force = false): Promise<void> => {
    const r = await changeSource(o.s3, names.s3Bucket, names.root, o.dataset, inGcs, force);
    if (r) {
      log.changes = r.changes;
      if (r.unfinished.length) log.notDone.push(`S3 changes in subfolders copied whole: ${r.unfinished.join(', ')} still lacked objects when changed`);
      c.say(`CHAOS: S3 changed${force ? ' (late)' : ''}: ${r.changes.map((x) => `${x.kind} ${x.key}`).join('; ')}`);
    }
  };

  // The outage and the S3 changes run beside the loop: the copy (and the kills) go on meanwhile. Awaited
  // here, the changes' seconds of S3 writes let a fast copy pass the second kill's slow answers unseen.
  let outageDone: Promise<void> | undefined;
  let changeDone: Promise<void> | undefined;
  let changing = false; // a change() that found too few finished subfolders is tried again on a later pass
  // The CDN's GET count is the stack's (cumulative): the chaos phase's own count starts here.
  const getsAtStart = (await cdnStats(cdn)).get;
  const firstAfterGets = Math.max(3, Math.round(inScope.length / 10));
  let getsAtFirstKill = 0;
  const secondAfterGets = Math.max(5, Math.round(inScope.length / 3));
  let listedAt = 0;
  let progressAt = Date.now();
  let stopping: Promise<void> | undefined;
  while (!finished) {
    // A full GCS listing costs the emulator CPU the workers need: about one page per second of interval.
    if (Date.now() - listedAt >= (o.pollMs ?? Math.max(2000, o.dataset.length))) {
      const before = inGcs.size;
      inGcs = await gcsNames(o.storage, names.gcsBucket, names.root);
      listedAt = Date.now();
      if (inGcs.size > before) progressAt = Date.now();
    }
    const s = share();
    // The copy phase is over when everything is copied, or nothing new arrived for stallMs (a SIGKILLed
    // worker's leased messages come back only when their leases lapse, so idle workers are no sign).
    if (!stopping && (s >= 1 || Date.now() - progressAt > o.stallMs)) {
      c.say(`copy phase over: ${s >= 1 ? 'every in-scope object is in GCS' : `no new object in GCS for ${Math.round(o.stallMs / 1000)} s`}; stopping the workers`);
      stopping = pool.stop();
    }
    if (log.kills.length < 2) {
      // Mid-object: only while the CDN is serving someone (polled often: small objects take milliseconds).
      // The first at 10% of the objects in GCS, or once the CDN served a tenth of the objects' GETs; the
      // second at 45%, or once it served another third since the first. The GET counts, polled every pass,
      // see a small run's copy that finishes in a burst between two listings (the listing alone missed
      // both kills in a CI run under load).
      const stats = await cdnStats(cdn);
      const due = log.kills.length === 0 ? s >= 0.1 || stats.get - getsAtStart >= firstAfterGets : s >= 0.45 || stats.get - getsAtFirstKill >= secondAfterGets;
      const alive = pool.alive();
      if (due && stats.inFlight > 0 && alive.length > 0) {
        const w = alive[log.kills.length % alive.length];
        await pool.kill(w);
        if (log.kills.length === 0) {
          getsAtFirstKill = stats.get;
          // Slow answers right where the second kill is due, so it finds the CDN serving (not counted as faults).
          await addFaults(cdn, { match: { op: 'get', bucket: names.s3Bucket }, after: secondAfterGets, times: 5, action: { delayMs: 3000 } });
        }
        log.kills.push({ label: w.label, inGcs: inGcs.size, cdnInFlight: stats.inFlight });
        c.say(`CHAOS: SIGKILLed ${w.label} with ${stats.inFlight} CDN responses in flight (${inGcs.size} objects in GCS); a replacement started`);
      }
    }
    if (!outageDone && s >= 0.25) outageDone = outage(false);
    if (!changing && log.changes.length === 0 && s >= 0.6) {
      changing = true;
      changeDone = change().finally(() => void (changing = false));
      changeDone.catch(() => undefined); // its failure is thrown where it is awaited, after the loop
    }
    await sleep(150);
  }
  await stopping;
  await outageDone;
  await changeDone;
  inGcs = await gcsNames(o.storage, names.gcsBucket, names.root);
  if (log.kills.length < 2) log.notDone.push(`${2 - log.kills.length} of the 2 SIGKILLs: the copy went idle before the CDN was serving at the planned share`);
  if (!outageDone) await outage(true);
  if (log.changes.length === 0) {
    log.changesLate = true;
    await change(true);
    if (log.changes.length === 0) log.notDone.push('the S3 changes: fewer than 4 subfolders were ever fully copied');
  }
  return log;
}
