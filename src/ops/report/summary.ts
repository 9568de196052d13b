// What `ott report --format md` says about a migration, gathered from MySQL: the dashboard's overview
// (src/ops/overview.ts: status's totals, exclusions, objects deleted from S3, the worst subfolders), the whole run's throughput history (copies, verification methods, peaks), the
// failed-object ledger, the table's checks and rsyncs, and the cost so far priced as `ott estimate` prices
// it. Every figure is read, never guessed: what MySQL does not hold is `null` and renders as "not recorded".
import type { Ctx } from '../../common/context.js';
import { costRoutes, type CostLine } from '../../estimate/cost.js';
import { loadPrices } from '../../estimate/prices.js';
import { historySums, noActivity, type Activity, type HistorySums } from '../../state/history.js';
import { ledgerByReason, type LedgerReason } from '../../state/ledger.js';
import { peakSpan, tableSpan, type Peak, type TableSpan } from '../../state/report.js';
import { readOverview, type Overview } from '../overview.js';

export interface ReportSummary {
  /**
   * The dashboard's overview, whole: its generatedAt, `ott status`'s own Status (totals, exclusions, objects
   * deleted from S3) and the subfolders with the most open ledger entries. The summary adds to it, never
   * assembles the totals again.
   */
  overview: Overview;
  /** cdnTransfer's whole history summed (every worker, every minute and hour kept). */
  copies: Activity & { firstAt: Date | null; lastAt: Date | null };
  /** Other modes in the history, if any wrote it. */
  otherModes: HistorySums[];
  /** Copies whose verification method the history holds (written since sql/014), and those it does not. */
  verification: { md5: number; multipartEtag: number; crc: number; sizeOnly: number; notRecorded: number };
  peakMinute: Peak | null;
  peakHour: Peak | null;
  ledger: LedgerReason[];
  span: TableSpan;
  /** The config's object filters in effect (objects they leave out are not counted anywhere). */
  filters: { name: string; value: string }[];
  cost: { lines: CostLine[]; usd: number; left: string[] } | null;
}

const MODE = 'cdnTransfer';

export async function reportSummary(ctx: Ctx): Promise<ReportSummary> {
  const { db, config } = ctx;
  const table = config.mysql_table;
  const [overview, sums, peakMinute, peakHour, ledger, span] = await Promise.all([
    readOverview(db, table),
    historySums(db, table),
    peakSpan(db, table, MODE, 'minute'),
    peakSpan(db, table, MODE, 'hour'),
    ledgerByReason(db, table, 'all'),
    tableSpan(db, table),
  ]);
  const cdn = sums.find((s) => s.mode === MODE);
  const a = cdn?.activity ?? noActivity();
  const known = a.verifiedMd5Objects + a.verifiedMultipartObjects + a.verifiedCrcObjects + a.verifiedSizeOnlyObjects;
  const filters = (['last_modified_after', 'last_modified_before', 'storage_class'] as const)
    .filter((k) => config[k] !== undefined)
    .map((k) => ({ name: k, value: Array.isArray(config[k]) ? (config[k] as string[]).join(', ') : String(config[k]) }));
  return {
    overview,
    copies: { ...a, firstAt: cdn?.firstAt ?? null, lastAt: cdn?.lastAt ?? null },
    otherModes: sums.filter((s) => s.mode !== MODE),
    verification: { md5: a.verifiedMd5Objects, multipartEtag: a.verifiedMultipartObjects, crc: a.verifiedCrcObjects, sizeOnly: a.verifiedSizeOnlyObjects, notRecorded: Math.max(0, a.copiedObjects - known) },
    peakMinute,
    peakHour,
    ledger,
    span,
    filters,
    cost: costSoFar(ctx, a, cdn),
  };
}

/**
 * This tool's route from `ott estimate`'s price list, for what the history says was copied: the lines
 * whose quantity follows from objects and bytes copied. VM hours, Cloud SQL and Pub/Sub are not recorded
 * per run (the estimate assumes them), so they are named as left out, not priced.
 */
function costSoFar(ctx: Ctx, a: Activity, cdn: HistorySums | undefined): ReportSummary['cost'] {
  if (!cdn || a.copiedObjects === 0) return null;
  const hours = cdn.firstAt && cdn.lastAt ? Math.max(0, cdn.lastAt.getTime() - cdn.firstAt.getTime()) / 3600e3 : 0;
  const routes = costRoutes(
    {
      objects: a.copiedObjects,
      bytes: a.copiedBytes,
      subfolders: 0,
      avgKeyBytes: 0,
      workloadFrom: 'measured',
      months: hours / (24 * 30.44),
      wallHours: 0,
      vms: 0,
      network: 'external-ip',
      cdnRegion: 'us',
      stsRegion: 'us',
      gcsStorageClass: ctx.config.gcs_storage_class ?? 'STANDARD',
      keysPerMessage: ctx.config.num_single_message,
    },
    loadPrices(ctx.config.prices_file),
  );
  const ours = routes.find((r) => r.id === 'ott-cloudfront')!;
  const lines = ours.lines.filter((l) => l.quantityFrom === 'measured' && !l.item.startsWith('Cloud NAT'));
  return {
    lines,
    usd: lines.reduce((s, l) => s + l.usd, 0),
    left: ['VM hours (Compute Engine)', 'Cloud SQL', 'Pub/Sub', 'Cloud NAT (if the workers use it)', 'GCS storage'],
  };
}
