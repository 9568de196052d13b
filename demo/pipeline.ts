// The stage list runPipeline runs (for the demo and the full-pipeline test): the real CLI, one process per command,
// in the order the VMs run it. Each stage knows how to tell it is done from the outside (state table,
// GCS, error topic), never from the tool's own claims about itself.
import type { Pool } from 'mysql2/promise';
import type { Storage } from '@google-cloud/storage';
import { finishedSummary, type OttProcess } from './cli.js';
import type { DemoObject } from './dataset.js';
import { damageGcs, type Damage } from './damage.js';
import { dbNow, runOnce, runWorkers, sleep, startWorker, type RunContext, type StageProgress } from './stageRunner.js';
import { dirRows, gcsListing, isEqual, totals, type DirRow, type ErrorTopicAudit } from './state.js';
import type { DemoNames, Pipeline } from './setupCloud.js';
import { verifyCopies, type VerifyReport } from './verify.js';

export interface PipelineState {
  storage: Storage;
  audit: ErrorTopicAudit;
  /** s3 key -> GCS object name. */
  gcsName: (s3Key: string) => string;
  /** Resolves when the source bucket is seeded: dump waits for it (migrate need not). */
  sourceReady?: Promise<void>;
  damage?: Damage;
  /** Subfolders found mismatched by the check after the damage. */
  foundMismatched?: string[];
  statusJson?: unknown;
  verify?: VerifyReport;
  /** Seconds per stage, in order. */
  timings: Array<{ stage: string; seconds: number }>;
}

export interface PipelineOptions {
  dataset: DemoObject[];
  cdnWorkers: number;
  syncCheckWorkers: number;
  rsyncWorkers: number;
  /** Keys the CDN refuses (403) throughout cdnTransfer: they must be on the error topic, with reasons. */
  unavailableKeys?: string[];
  workerStageTimeoutMs: number;
  /** Run the post-damage check with --deep (catches same-size overwrites by checksum). */
  deepCheck: boolean;
  /** Subfolders to damage (default 3, plus one with a resized object). */
  damageSubfolders?: number;
  hooks?: PipelineHooks;
}

/** Where a caller (the e2e test) steps in while the pipeline runs. */
export interface PipelineHooks {
  /** After the cdnTransfer workers start (the test kills one mid-copy and starts replacements). */
  cdnTransferStarted?: (c: PipelineControl) => Promise<void>;
  /** After the first syncCheck workers start (the test kills one mid-claim). */
  syncCheckStarted?: (c: PipelineControl) => Promise<void>;
  /** After cdnTransfer is done and its workers stopped (the test lifts the CDN's 403s here, so rsync can repair). */
  afterTransfer?: (c: Omit<PipelineControl, 'workers' | 'startWorker'>) => Promise<void>;
}

/** What a hook sees and may do: the state table, the stage's workers, and starting more of them. */
export interface PipelineControl {
  names: DemoNames;
  /** The state table's database, as the demo's own MySQL user (read it; the workers write it). */
  db: Pool;
  /** The stage's worker processes, in start order (stop one to kill it). */
  workers: OttProcess[];
  /** Starts one more worker process for `pipeline` (`ott <argv>`); it joins the stage and is stopped with it. */
  startWorker(label: string, pipeline: Pipeline, argv: string[]): OttProcess;
}

function control(rc: RunContext, workers: OttProcess[]): PipelineControl {
  return { names: rc.names, db: rc.db, workers, startWorker: (label, pipeline, argv) => startWorker(rc, label, pipeline, argv) };
}

export interface Stage {
  name: string;
  /** Returns a one-line result for the progress output. */
  run(rc: RunContext, st: PipelineState): Promise<string>;
}

const summaryText = (p: OttProcess): string => JSON.stringify(finishedSummary(p) ?? {});

/**
 * How a round's subfolders reach the workers. 'select': `publishDirList` picks them by its criteria
 * (never checked, empty in GCS, or rsynced since the last check; sizes differ for rsync). 'recheck':
 * every subfolder again although checked equal before (after the damage): `publishDirList --purpose
 * syncCheck --recheck --recheck-before <round start>`, which re-publishes every subfolder whose last
 * check ended before the round began, once per publisher run.
 */
type Publishing = 'select' | 'recheck';

/** One round of publishing + workers for `purpose`, done when every target row ran after the round began. */
async function dirRound(
  rc: RunContext,
  o: PipelineOptions,
  purpose: 'syncCheck' | 'rsync',
  stage: string,
  targets: (rows: DirRow[]) => DirRow[],
  publishing: Publishing,
  extraArgs: string[] = [],
  onStarted?: (workers: OttProcess[]) => Promise<void>,
): Promise<{ targets: number; rows: DirRow[] }> {
  const table = rc.names.table;
  const since = await dbNow(rc.db);
  const wanted = new Set(targets(await dirRows(rc.db, table)).map((r) => r.dir_key));
  if (wanted.size === 0) return { targets: 0, rows: await dirRows(rc.db, table) };
  const pipeline: Pipeline = purpose;
  const endCol = purpose === 'syncCheck' ? 'sync_check_last_end' : 'rsync_last_end';
  const busyCol = purpose === 'syncCheck' ? 'sync_check_in_progress' : 'rsync_in_progress';
  const isDone = (r: DirRow): boolean => r[endCol] !== null && r[endCol]! > since && !r[busyCol];
  let rows: DirRow[] = [];

  // The round's start as the recheck instant: a republish (a later run) sends again only the subfolders
  // not checked since the round began, e.g. those a busy worker gave back, never the ones already done.
  const recheckArgs = publishing === 'recheck' ? ['--recheck', '--recheck-before', `${since.replace(' ', 'T')}Z`] : [];
  const publish = async (label: string): Promise<string> => summaryText(await runOnce(rc, label, pipeline, ['publishDirList', '--purpose', purpose, ...recheckArgs]));
  const progress = async (): Promise<StageProgress> => {
    rows = await dirRows(rc.db, table);
    const mine = rows.filter((r) => wanted.has(r.dir_key));
    const finished = mine.filter(isDone);
    const busy = mine.filter((r) => r[busyCol]).length;
    const errors = finished.filter((r) => (purpose === 'syncCheck' ? r.sync_check_error : r.rsync_error)).length;
    const unequal = finished.filter((r) => !isEqual(r)).length;
    return { done: finished.length === mine.length, text: `${finished.length}/${mine.length} subfolders done, ${busy} claimed now, ${unequal} unequal, ${errors} with errors` };
  };
  await runWorkers(rc, {
    stage,
    pipeline,
    argv: [purpose, ...extraArgs],
    count: purpose === 'syncCheck' ? o.syncCheckWorkers : o.rsyncWorkers,
    progress,
    timeoutMs: o.workerStageTimeoutMs,
    // The workers load while the publisher runs, as on the VMs where both are always up.
    afterSpawn: async () => {
      // *_last_end is whole seconds: once the database clock has moved past `since`, every stamp of this
      // round is > since. Waited for, not slept: a fixed sleep only hopes the second turned.
      const until = Date.now() + 30_000;
      while ((await dbNow(rc.db)) <= since) {
        if (Date.now() > until) throw new Error(`${stage}: the database clock did not pass ${since} within 30 s`);
        await sleep(100);
      }
      rc.say(`${stage}: published ${await publish(`publishDirList-${purpose}`)}`);
    },
    onStarted,
    // A worker that finds a row busy has its message redelivered later (and after a few deliveries gives the
    // row back unpublished); the publisher (a timer on the VMs) sends what was given back again.
    republish: async () => void (await publish(`publishDirList-${purpose}-again`)),
  });
  return { targets: wanted.size, rows };
}

/** `ott status --json` in one line: subfolders per phase, bytes and objects S3 vs GCS. */
function statusText(status: unknown): string {
  const phases = (status as { phases?: Record<string, { subfolders: number; s3Bytes: number; gcsBytes: number; s3Objects: number; gcsObjects: number }> }).phases;
  if (!phases) return JSON.stringify(status).slice(0, 600);
  const nonEmpty = Object.entries(phases).filter(([, p]) => p.subfolders > 0);
  return nonEmpty.map(([name, p]) => `${name}: ${p.subfolders} subfolders, S3 ${p.s3Objects} objects/${p.s3Bytes} B, GCS ${p.gcsObjects} objects/${p.gcsBytes} B`).join('; ');
}

function mismatchText(rows: DirRow[]): string {
  const bad = rows.filter((r) => !isEqual(r));
  return bad.length ? `${bad.length} unequal: ${bad.slice(0, 6).map((r) => `${r.dir_key} (bytes ${r.s3_size}/${r.gcs_size}, objects ${r.s3_objects}/${r.gcs_objects}${r.deep_different ? `, ${r.deep_different} differ` : ''})`).join('; ')}` : 'all equal';
}

export function pipelineStages(o: PipelineOptions): Stage[] {
  const unavailable = new Set(o.unavailableKeys ?? []);
  const expectedInGcs = o.dataset.filter((d) => !unavailable.has(d.key)).length;
  return [
    { name: 'migrate', run: async (rc) => summaryText(await runOnce(rc, 'migrate', 'objects', ['migrate'])) },
    {
      name: 'dump',
      run: async (rc, st) => {
        await st.sourceReady;
        return summaryText(await runOnce(rc, 'dump', 'objects', ['dump']));
      },
    },
    {
      // What the operator would read before a byte moves: cost by route, time, what will not arrive as it is.
      name: 'estimate',
      run: async (rc) => {
        const p = await runOnce(rc, 'estimate', 'objects', ['estimate', '--sample', '1000', '--vms', String(o.cdnWorkers)]);
        return `\n${p.lines.filter((l) => !l.startsWith('{')).map((l) => `    ${l}`).join('\n')}`;
      },
    },
    {
      // The workers start while the publisher lists and publishes, as on the VMs where both run at once.
      name: 'publishObjectsList + cdnTransfer',
      run: async (rc, st) => {
        const root = rc.names.root;
        let inGcs = { size: 0, bytes: 0, at: 0 };
        const progress = async (): Promise<StageProgress> => {
          const t = await totals(rc.db, rc.names.table);
          const errored = new Set(st.audit.keys());
          const missingErrors = [...unavailable].filter((k) => !errored.has(k)).length;
          // A full GCS listing costs the emulator CPU the workers need: every 5 s, or when the counters say done.
          const countersDone = t.published > 0 && t.copiedObjects + t.skippedObjects + t.failedObjects >= t.publishedObjects;
          if (countersDone || Date.now() - inGcs.at > 5000) {
            const listing = await gcsListing(st.storage, rc.names.gcsBucket, root);
            inGcs = { size: listing.size, bytes: [...listing.values()].reduce((a, b) => a + b, 0), at: Date.now() };
          }
          return {
            done: inGcs.size >= expectedInGcs && missingErrors === 0,
            text: `${inGcs.size}/${expectedInGcs} objects in GCS (${(inGcs.bytes / 2 ** 20).toFixed(1)} MiB); counters: copied ${t.copiedObjects}, skipped ${t.skippedObjects}, failed ${t.failedObjects} of ${t.publishedObjects} published; ${st.audit.received.length} error message(s)`,
          };
        };
        const { last } = await runWorkers(rc, {
          stage: 'cdnTransfer',
          pipeline: 'objects',
          // One process per worker, as one VM each (the default forks one per CPU).
          argv: ['cdnTransfer', '--processes', '1'],
          count: o.cdnWorkers,
          progress,
          timeoutMs: o.workerStageTimeoutMs,
          pollMs: 1000,
          afterSpawn: async () => rc.say(`publishObjectsList: ${summaryText(await runOnce(rc, 'publishObjectsList', 'objects', ['publishObjectsList']))}`),
          onStarted: o.hooks?.cdnTransferStarted && ((w) => o.hooks!.cdnTransferStarted!(control(rc, w))),
        });
        await o.hooks?.afterTransfer?.({ names: rc.names, db: rc.db });
        return last.text;
      },
    },
    {
      name: 'syncCheck',
      run: async (rc) => {
        const r = await dirRound(rc, o, 'syncCheck', 'syncCheck', (rows) => rows, 'select', [], o.hooks?.syncCheckStarted && ((w) => o.hooks!.syncCheckStarted!(control(rc, w))));
        return `${r.targets} subfolders checked: ${mismatchText(r.rows)}`;
      },
    },
    {
      name: 'damage',
      run: async (rc, st) => {
        st.damage = await damageGcs(st.storage, rc.names.gcsBucket, st.gcsName, o.dataset, rc.names.root, o.damageSubfolders ?? 3, unavailable);
        const d = st.damage;
        return `deleted ${d.deleted.length}, overwrote ${d.overwrittenSameSize.length} with same-size different bytes, resized ${d.resized.length}, in ${d.dirs.join(', ')}`;
      },
    },
    {
      name: 'syncCheck (after damage)',
      run: async (rc, st) => {
        const r = await dirRound(rc, o, 'syncCheck', 'syncCheck-2', (rows) => rows, 'recheck', o.deepCheck ? ['--deep'] : []);
        st.foundMismatched = r.rows.filter((x) => !isEqual(x)).map((x) => x.dir_key);
        // Deletions and size changes must show without --deep; same-size overwrites only with it.
        const mustShow = new Set(st.damage!.dirs);
        const missed = [...mustShow].filter((d) => !st.foundMismatched!.includes(d));
        if (missed.length) throw new Error(`syncCheck after damage did not flag ${missed.join(', ')} (damage: ${JSON.stringify(st.damage)}); ${mismatchText(r.rows)}`);
        return mismatchText(r.rows);
      },
    },
    {
      name: 'rsync',
      run: async (rc) => {
        const r = await dirRound(rc, o, 'rsync', 'rsync', (rows) => rows.filter((x) => x.s3_size !== x.gcs_size || x.s3_objects !== x.gcs_objects), 'select');
        return `${r.targets} subfolders rsynced`;
      },
    },
    {
      name: 'syncCheck (final)',
      run: async (rc) => {
        // The subfolders rsync touched (the status phase "rsynced": waiting for a re-check), which
        // publishDirList selects by itself; every other one was checked equal after the damage.
        const rsynced = (x: DirRow): boolean => x.rsync_last_end !== null && (x.sync_check_last_end === null || x.sync_check_last_end < x.rsync_last_end);
        const r = await dirRound(rc, o, 'syncCheck', 'syncCheck-final', (rows) => rows.filter(rsynced), 'select', o.deepCheck ? ['--deep'] : []);
        const bad = r.rows.filter((x) => !isEqual(x) || x.sync_check_error);
        if (bad.length) throw new Error(`final syncCheck: ${mismatchText(r.rows)}; errors: ${bad.filter((x) => x.sync_check_error).map((x) => `${x.dir_key}: ${x.sync_check_error}`).join('; ')}`);
        return `${r.targets} rsynced subfolders re-checked; all ${r.rows.length} subfolders checked equal`;
      },
    },
    {
      name: 'status',
      run: async (rc, st) => {
        // Quiet: its pretty JSON is summarized below, not echoed line by line.
        const p = await runOnce({ ...rc, cli: { ...rc.cli, echo: undefined } }, 'status', 'objects', ['status', '--json']);
        const text = p.lines.filter((l) => !/^\{"severity"/.test(l)).join('\n');
        try {
          st.statusJson = JSON.parse(text);
        } catch {
          st.statusJson = text;
          return text.length > 600 ? `${text.slice(0, 600)}...` : text;
        }
        return statusText(st.statusJson);
      },
    },
    {
      name: 'verify',
      run: async (rc, st) => {
        st.verify = await verifyCopies(st.storage, rc.names.gcsBucket, st.gcsName, o.dataset, 6);
        const v = st.verify;
        return `${v.objects} objects, ${v.bytes} bytes byte-identical; missing ${v.missing.length}, different ${v.different.length}, metadata lost ${v.metadataLost.length}`;
      },
    },
  ];
}
