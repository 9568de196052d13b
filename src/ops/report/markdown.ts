// `ott report --format md`: the summary for a ticket or a pull request, from reportSummary(). The only keys
// printed are the worst subfolders', escaped (a key could carry Markdown or HTML), as are config values. "not recorded" marks what MySQL
// does not hold, never an estimate in its place.
import { humanBytes } from '../status.js';
import { printable } from '../../common/printable.js';
import { humanSeconds } from '../statusHistory.js';
import { PHASES } from '../../state/status.js';
import type { Peak } from '../../state/report.js';
import type { ReportSummary } from './summary.js';

const int = (v: number): string => v.toLocaleString('en-US');
const iso = (d: Date | null): string => (d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : 'not recorded');
const usd = (v: number): string => `$${v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
/** A value in a table cell or inline code: no pipe, backtick or line break can leave it. */
const cell = (s: string): string => s.replace(/[\\`|*_<>[\]]/g, (c) => `\\${c}`).replace(/[\r\n]+/g, ' ');
const pct = (part: number, whole: number): string => (whole > 0 ? ` (${Math.round((part / whole) * 1000) / 10}%)` : '');

function rate(objects: number, bytes: number, seconds: number): string {
  return `${Math.round((objects / seconds) * 100) / 100} objects/s, ${Math.round((bytes / 1048576 / seconds) * 100) / 100} MiB/s`;
}

function peakLine(name: string, p: Peak | null): string {
  if (!p) return `- Peak ${name}: not recorded`;
  return `- Peak ${name} (the fleet summed), from ${iso(p.at)}: ${rate(p.copiedObjects, p.copiedBytes, p.seconds)} (${int(p.copiedObjects)} objects, ${humanBytes(p.copiedBytes)})`;
}

export function renderMarkdown(r: ReportSummary): string {
  const o = r.overview;
  const s = o.status;
  const out: string[] = [];
  out.push(`# Migration report: \`${cell(o.table)}\``, '', `Generated ${iso(o.generatedAt)} by \`ott report\` from the state table in MySQL.`, '');

  out.push('## Totals', '', '| phase | subfolders | S3 bytes | GCS bytes | S3 objects | GCS objects |', '|---|---:|---:|---:|---:|---:|');
  for (const p of PHASES) {
    const t = s.phases[p];
    if (t.subfolders) out.push(`| ${p} | ${int(t.subfolders)} | ${humanBytes(t.s3Bytes)} | ${humanBytes(t.gcsBytes)} | ${int(t.s3Objects)} | ${int(t.gcsObjects)} |`);
  }
  const t = s.total;
  out.push(`| **total** | ${int(t.subfolders)} | ${humanBytes(t.s3Bytes)} | ${humanBytes(t.gcsBytes)} | ${int(t.s3Objects)} | ${int(t.gcsObjects)} |`, '');
  out.push(`Done: **${t.bytesPercentDone}% of bytes, ${t.objectsPercentDone}% of objects** in subfolders a check found equal (S3 and GCS sizes and counts).`, '');

  const c = r.copies;
  out.push('## Time taken', '');
  out.push(`- First subfolder loaded: ${iso(r.span.firstSeen)}; last change to any subfolder: ${iso(r.span.lastUpdated)}`);
  const copySeconds = c.firstAt && c.lastAt ? Math.round((c.lastAt.getTime() - c.firstAt.getTime()) / 1000) : null;
  out.push(`- Copies (cdnTransfer's history): first ${iso(c.firstAt)}, last ${iso(c.lastAt)}${copySeconds !== null ? `, ${humanSeconds(copySeconds)}` : ''}`, '');

  out.push('## Throughput (cdnTransfer, from the workers\' per-minute history)', '');
  out.push(`- Copied: ${int(c.copiedObjects)} objects, ${humanBytes(c.copiedBytes)}; found already in GCS (skipped): ${int(c.skippedObjects)} objects, ${humanBytes(c.skippedBytes)}`);
  out.push(copySeconds ? `- Average from first to last copy: ${rate(c.copiedObjects, c.copiedBytes, Math.max(60, copySeconds))}` : '- Average: not recorded');
  out.push(peakLine('minute (minutes are kept for a day, then rolled up per hour)', r.peakMinute), peakLine('hour', r.peakHour));
  for (const m of r.otherModes) out.push(`- ${cell(m.mode)}: ${int(m.activity.copiedObjects)} objects, ${humanBytes(m.activity.copiedBytes)} copied`);
  out.push('');

  const v = r.verification;
  out.push('## Verification', '', 'How each object cdnTransfer copied was verified before it counted:', '', '| method | objects |', '|---|---:|');
  out.push(`| MD5 (single-part ETag) | ${int(v.md5)}${pct(v.md5, c.copiedObjects)} |`);
  out.push(`| multipart ETag (MD5 of the parts' MD5s) | ${int(v.multipartEtag)}${pct(v.multipartEtag, c.copiedObjects)} |`);
  out.push(`| S3 full-object checksum (SSE-KMS objects) | ${int(v.crc)}${pct(v.crc, c.copiedObjects)} |`);
  out.push(`| size + CRC32C to GCS only (no S3 hash applied) | ${int(v.sizeOnly)}${pct(v.sizeOnly, c.copiedObjects)} |`);
  if (v.notRecorded) out.push(`| not recorded (copied before migration 014) | ${int(v.notRecorded)}${pct(v.notRecorded, c.copiedObjects)} |`);
  out.push('');
  out.push(`Skipped objects (${int(c.skippedObjects)}) were found in GCS with the same size and the same MD5 or recorded source ETag. ` +
    `Subfolders checked equal by syncCheck: ${int(s.phases['checked equal'].subfolders)} of ${int(t.subfolders)}; checks run: ${int(r.span.syncChecks)}.`, '');

  out.push('## Retries and failures', '');
  out.push(`- Objects failed after their retries (history): ${int(c.failedObjects)}, of which archived in S3: ${int(c.archivedObjects)}`);
  out.push('- Retries of copies that then succeeded: not recorded');
  out.push(`- rsync repairs: ${int(r.span.rsyncs)} run(s) over ${int(r.span.subfoldersRsynced)} subfolder(s)`);
  if (!r.ledger.length) out.push('- Failed-object ledger: empty', '');
  else {
    out.push('', 'Failed-object ledger by reason (each object once; resolved = a later copy verified it):', '', '| reason | objects | still open | tries | failures | re-published by `ott retry` |', '|---|---:|---:|---:|---:|---:|');
    for (const l of r.ledger) out.push(`| ${cell(l.reasonClass)} | ${int(l.objects)} | ${int(l.open)} | ${int(l.attempts)} | ${int(l.failures)} | ${int(l.retries)} |`);
    out.push('');
  }
  const top = o.failures.topDirs.filter((d) => d.open > 0).slice(0, 5);
  if (top.length) {
    // Keys escaped twice: control characters shown as escapes (printable), then Markdown's own characters.
    out.push(`Subfolders with the most open entries${o.failures.topDirsExact ? '' : ' (counted over a capped sample of the ledger)'}: ${top.map((d) => `${cell(printable(d.dirKey))} (${int(d.open)})`).join(', ')}`, '');
  }

  out.push('## Archived, excluded and filtered objects', '');
  for (const kind of ['archived', 'unmigratable'] as const) {
    const e = s.excluded[kind];
    out.push(`- ${kind}: ${int(e.objects)} object(s), ${humanBytes(e.bytes)} in ${int(e.subfolders)} subfolder(s), not in GCS`);
  }
  const g = s.goneFromS3;
  out.push(`- deleted from S3 after their copy: ${int(g.objects)} object(s), ${int(g.removed)} removed from GCS`);
  out.push(r.filters.length ? `- filtered out by config (${r.filters.map((f) => `${f.name} \`${cell(f.value)}\``).join(', ')}): count not recorded` : '- filtered out by config: no filter configured', '');

  out.push('## Cost so far', '');
  if (!r.cost) out.push('Not computed: no copy recorded in the history.');
  else {
    out.push(`List prices (\`ott estimate\`'s price list, CloudFront region us unless \`prices_file\` says otherwise) for the ${int(c.copiedObjects)} objects and ${humanBytes(c.copiedBytes)} copied:`, '');
    out.push('| item | quantity | USD |', '|---|---:|---:|');
    for (const l of r.cost.lines) out.push(`| ${cell(l.item)} | ${cell(l.quantity)} | ${usd(l.usd)} |`);
    out.push(`| **total** | | **${usd(r.cost.usd)}** |`, '', `Not included (not recorded per run): ${r.cost.left.join(', ')}.`);
  }
  return out.join('\n') + '\n';
}
