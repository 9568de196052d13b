// The inventory's formats without the stack: CSV lines as S3 Inventory quotes them, and the manifest's
// fields (AWS's names), with the refusals an operator sees.
import { describe, expect, it } from 'vitest';
import { csvFields } from '../../src/common/source/inventory/files.js';
import { parseManifest, parseS3Url } from '../../src/common/source/inventory/manifest.js';

const manifest = (over: Record<string, unknown> = {}): string =>
  JSON.stringify({
    sourceBucket: 'src',
    destinationBucket: 'arn:aws:s3:::inv-dest',
    version: '2016-11-30',
    creationTimestamp: '1732838400000',
    fileFormat: 'CSV',
    fileSchema: 'Bucket, Key, Size, LastModifiedDate, ETag, StorageClass',
    files: [{ key: 'inv/src/cfg/data/a.csv.gz', size: 10, MD5checksum: 'F11166069F1990ABEB9C97ACE9CDFABC' }],
    ...over,
  });

describe('S3 Inventory formats', () => {
  it('splits quoted CSV fields: doubled quotes, commas inside quotes, empty fields', () => {
    expect(csvFields('"b","data%2Fa%2Fx+y","","12","2026-11-29T00:00:00.000Z","abc","STANDARD"')).toEqual(['b', 'data%2Fa%2Fx+y', '', '12', '2026-11-29T00:00:00.000Z', 'abc', 'STANDARD']);
    expect(csvFields('"a ""q"", b","",""')).toEqual(['a "q", b', '', '']);
    expect(csvFields('plain,"x"')).toEqual(['plain', 'x']);
    expect(() => csvFields('"open')).toThrow('unterminated quoted field');
  });

  it('reads a manifest as AWS writes it: the destination ARN resolved, columns named, checksums lower-cased', () => {
    const m = parseManifest(manifest(), 's3://inv-dest/inv/src/cfg/2024-11-29T00-00Z/manifest.json');
    expect(m).toMatchObject({ sourceBucket: 'src', bucket: 'inv-dest', format: 'CSV', columns: ['Bucket', 'Key', 'Size', 'LastModifiedDate', 'ETag', 'StorageClass'] });
    expect(m.createdAt.toISOString()).toBe('2024-11-29T00:00:00.000Z');
    expect(m.files).toEqual([{ key: 'inv/src/cfg/data/a.csv.gz', size: 10, md5Hex: 'f11166069f1990abeb9c97ace9cdfabc' }]);
    const pq = parseManifest(manifest({ fileFormat: 'Parquet', fileSchema: 'message s3.inventory { required binary bucket (STRING); required binary key (STRING); optional int64 size; optional int64 last_modified_date (TIMESTAMP(MILLIS,true)); optional binary e_tag (STRING);}' }), 'x');
    expect(pq).toMatchObject({ format: 'Parquet', columns: ['bucket', 'key', 'size', 'last_modified_date', 'e_tag'] });
  });

  it('refuses ORC, unknown formats, missing fields and bad checksums, naming what is wrong', () => {
    expect(() => parseManifest(manifest({ fileFormat: 'ORC' }), 'M')).toThrow('inventory manifest M lists ORC files, which ott does not read: configure the inventory with CSV or Parquet output');
    expect(() => parseManifest(manifest({ fileFormat: 'JSON' }), 'M')).toThrow('fileFormat "JSON" is not CSV, Parquet or ORC');
    expect(() => parseManifest(manifest({ files: [{ key: 'k', size: 1, MD5checksum: 'nope' }] }), 'M')).toThrow(/field files\.0\.MD5checksum/);
    expect(() => parseManifest(manifest({ sourceBucket: undefined }), 'M')).toThrow(/field sourceBucket/);
    expect(() => parseManifest('{', 'M')).toThrow('inventory manifest M is not JSON');
    expect(() => parseS3Url('gs://b/k')).toThrow('expected s3://BUCKET/PREFIX/manifest.json or s3://BUCKET/PREFIX/');
    expect(parseS3Url('s3://b/p/q/')).toEqual({ bucket: 'b', key: 'p/q/' });
  });
});
