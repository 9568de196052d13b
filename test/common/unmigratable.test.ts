// The classification of objects that cannot be migrated as they are (src/common/source/unmigratable.ts):
// GCS's name and size rules after the prefix mapping, the default scope (what CloudFront serves), and the
// CDN's archived answer. The same rules on the real stack: test/worker/unmigratable.test.ts.
import { describe, expect, it } from 'vitest';
import { archivedAnswer, Exclusions, GCS_MAX_OBJECT_BYTES, sourceScope, unmigratableWhy } from '../../src/common/source/unmigratable.js';

const maps = { s3_root_prefix: 'data/', gcs_root_prefix: '' };
const o = (key: string, size = 1, storage_class?: string) => ({ key, size, etag: '"d41d8cd98f00b204e9800998ecf8427e"', last_modified: '2024-06-01T00:00:00.000Z', ...(storage_class ? { storage_class } : {}) });

describe('unmigratableWhy', () => {
  it('names what GCS refuses after the prefix mapping, and passes everything else', () => {
    expect(unmigratableWhy(o('data/a\rb'), maps)).toMatch(/^GCS refuses the name: carriage return or line feed/);
    expect(unmigratableWhy(o('data/a\nb'), maps)).toMatch(/^GCS refuses the name: carriage return or line feed/);
    expect(unmigratableWhy(o('data/.'), maps)).toBe('GCS refuses the name: the name is "." or ".."');
    expect(unmigratableWhy(o('data/..'), maps)).toBe('GCS refuses the name: the name is "." or ".."');
    expect(unmigratableWhy(o('data/..', 1), { s3_root_prefix: 'data/', gcs_root_prefix: 'x/' })).toBeUndefined(); // x/.. is a name GCS takes
    expect(unmigratableWhy(o('data/.well-known/acme-challenge/t'), maps)).toMatch(/acme-challenge/);
    const k1019 = `data/${'k'.repeat(1019)}`; // 1024 bytes in S3, 1019 in GCS with an empty gcs_root_prefix
    expect(unmigratableWhy(o(k1019), maps)).toBeUndefined();
    expect(unmigratableWhy(o(k1019), { s3_root_prefix: 'data/', gcs_root_prefix: 'a-longer-root/' })).toBe('GCS refuses the name: longer than 1,024 bytes');
    expect(unmigratableWhy(o('data/big', GCS_MAX_OBJECT_BYTES), maps)).toBeUndefined();
    expect(unmigratableWhy(o('data/big', GCS_MAX_OBJECT_BYTES + 1), maps)).toBe(`${GCS_MAX_OBJECT_BYTES + 1} bytes, over GCS's 5 TiB object limit`);
    expect(unmigratableWhy(o('data/ünïcode #?.txt'), maps)).toBeUndefined();
  });
});

describe('sourceScope', () => {
  it('by default keeps what CloudFront serves and records GLACIER / DEEP_ARCHIVE as archived, not filtered', () => {
    const scope = sourceScope(maps);
    for (const c of [undefined, 'STANDARD_IA', 'GLACIER_IR', 'INTELLIGENT_TIERING', 'ONEZONE_IA']) expect(scope(o('data/x', 1, c))).toEqual({ keep: true });
    expect(scope(o('data/x', 1, 'GLACIER'))).toEqual({ keep: false, excluded: { kind: 'archived', why: 'GLACIER' } });
    expect(scope(o('data/x', 1, 'DEEP_ARCHIVE'))).toEqual({ keep: false, excluded: { kind: 'archived', why: 'DEEP_ARCHIVE' } });
    expect(scope(o('data/x\n', 1))).toMatchObject({ keep: false, excluded: { kind: 'unmigratable' } });
  });

  it('an explicit storage_class is the operator scope: a class left out is filtered, a named archive class is fetched', () => {
    expect(sourceScope({ ...maps, storage_class: ['STANDARD'] })(o('data/x', 1, 'GLACIER'))).toEqual({ keep: false, why: 'storage_class' });
    expect(sourceScope({ ...maps, storage_class: ['STANDARD', 'GLACIER'] })(o('data/x', 1, 'GLACIER'))).toEqual({ keep: true });
    expect(sourceScope({ ...maps, last_modified_after: '2025-01-01T00:00:00Z' })(o('data/x', 1, 'GLACIER'))).toEqual({ keep: false, why: 'last_modified_after' });
    expect(sourceScope({ ...maps, last_modified_after: '2023-01-01T00:00:00Z' })(o('data/x', 1, 'GLACIER'))).toMatchObject({ excluded: { kind: 'archived' } });
  });
});

describe('archivedAnswer and Exclusions', () => {
  it('recognises S3 403 InvalidObjectState with its class and tier, and nothing else', () => {
    const body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidObjectState</Code><Message>The operation is not valid for the object\'s storage class</Message><StorageClass>INTELLIGENT_TIERING</StorageClass><AccessTier>ARCHIVE_ACCESS</AccessTier></Error>';
    expect(archivedAnswer(403, body)).toMatch(/^archived in S3 \(403 InvalidObjectState, INTELLIGENT_TIERING ARCHIVE_ACCESS\): not retried/);
    expect(archivedAnswer(403, '<Error><Code>AccessDenied</Code></Error>')).toBeUndefined();
    expect(archivedAnswer(404, body)).toBeUndefined();
  });

  it('tallies count, bytes and at most 10 sampled keys per kind', () => {
    const e = new Exclusions();
    expect(e.any).toBe(false);
    for (let i = 0; i < 12; i++) e.add(o(`data/${i}`, 10), { kind: 'archived', why: 'GLACIER' });
    e.add(o('data/n\n', 3), { kind: 'unmigratable', why: 'lf' });
    expect(e.any).toBe(true);
    expect({ ...e.archived, sample: e.archived.sample.length }).toEqual({ objects: 12, bytes: 120, sample: 10 });
    expect(e.unmigratable).toEqual({ objects: 1, bytes: 3, sample: [{ key: 'data/n\n', why: 'lf' }] });
  });
});
