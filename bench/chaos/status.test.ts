// How the chaos run reads `ott status --json`: when it counts as done, and where it finds the archived
// objects, for the shapes status has had (main's, and one that reports exclusions on their own).
import { describe, expect, it } from 'vitest';
import { archivedInStatus, notDoneReason, type StatusJson } from './status.js';

const phase = (subfolders: number, s3Objects = 0, gcsObjects = s3Objects) => ({ subfolders, s3Bytes: s3Objects * 10, gcsBytes: gcsObjects * 10, s3Objects, gcsObjects });
const status = (o: { equal?: number; mismatched?: number; s3: number; gcs: number; extra?: Record<string, unknown> }): StatusJson => ({
  phases: { new: phase(0), 'checked equal': phase(o.equal ?? 1, o.s3, o.gcs), mismatched: phase(o.mismatched ?? 0) },
  total: { ...phase((o.equal ?? 1) + (o.mismatched ?? 0), o.s3, o.gcs), bytesPercentDone: o.s3 === o.gcs ? 100 : 99.9, objectsPercentDone: o.s3 === o.gcs ? 100 : 99.9 },
  ...o.extra,
});

describe('reading ott status --json', () => {
  it('is done only with every subfolder checked equal and every object in GCS, or short by exactly what status reports excluded', () => {
    expect(notDoneReason(status({ s3: 10, gcs: 10 }))).toBeUndefined();
    expect(notDoneReason(status({ s3: 10, gcs: 10, mismatched: 2 }))).toBe('2 mismatched');
    expect(notDoneReason(status({ s3: 10, gcs: 9 }))).toBe('99.9% of bytes, 99.9% of objects');
    // Excluded objects inside the S3 totals (a status reporting them at the top level): GCS short by exactly them.
    const inside = { archived: 1 };
    expect(notDoneReason(status({ s3: 10, gcs: 9, extra: inside }))).toBeUndefined();
    expect(notDoneReason(status({ s3: 10, gcs: 8, extra: inside }))).toBe('99.9% of bytes, 99.9% of objects (1 excluded)');
    const excluded = { excluded: { archived: { objects: 1, bytes: 10 }, unmigratable: { objects: 0, bytes: 0 } } };
    // Excluded objects beside the S3 totals (counted in neither side, in the percentages' denominator only).
    const beside = (gcs: number): StatusJson => {
      const st = status({ s3: 9, gcs, extra: excluded });
      return { ...st, total: { ...phase(1, 9, gcs), bytesPercentDone: 90, objectsPercentDone: 90 } };
    };
    expect(notDoneReason(beside(9))).toBeUndefined();
    expect(notDoneReason(beside(8))).toBe('90% of bytes, 90% of objects (1 excluded)');
    // Status's own `done` decides when it has one.
    expect(notDoneReason(status({ s3: 10, gcs: 10, extra: { done: false } }))).toBe('status.done is false');
    expect(notDoneReason(status({ s3: 10, gcs: 9, mismatched: 1, extra: { done: true } }))).toBeUndefined();
    expect(notDoneReason(undefined)).toBe('no status');
  });

  it('finds the archived objects wherever status reports them, and says when it does not', () => {
    expect(archivedInStatus(status({ s3: 1, gcs: 1 }))).toBeUndefined();
    expect(archivedInStatus(status({ s3: 1, gcs: 1, extra: { archived: 3 } }))).toBe(3);
    expect(archivedInStatus(status({ s3: 1, gcs: 1, extra: { excluded: { archived: { objects: 4, bytes: 1 } } } }))).toBe(4);
    expect(archivedInStatus(status({ s3: 1, gcs: 1, extra: { total: { ...phase(1, 1), archivedObjects: 5 } } }))).toBe(5);
  });
});
