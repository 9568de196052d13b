-- Issue 17 part 3 (`ott report`): how each copied object was verified, per minute, beside what was copied.
--
-- throughput_history gains one count per verification method (src/worker/copy/verify.ts VerifiedBy), written
-- by cdnTransfer in the same heartbeat upsert as copied_objects and rolled up per hour with it:
--   verified_md5_objects        single-part ETag = MD5 of the bytes read
--   verified_multipart_objects  multipart ETag = MD5 of the exact parts' MD5s
--   verified_crc_objects        S3's full-object checksum (SSE-KMS: the ETag is no MD5)
--   verified_size_only_objects  none of S3's hashes: size, and CRC32C from our read to GCS's disk
-- Their sum equals copied_objects for samples written since this migration; rows written before it hold 0
-- in all four (the report says "not recorded" for the difference, it never guesses).
--
-- throughput_history is one table for every state table, while migrations run once per state table: the
-- columns are added only when missing (information_schema), which works on MySQL 8 and MariaDB alike
-- (MySQL has no ADD COLUMN IF NOT EXISTS). `ott migrate` holds a named lock, so two runs never race here.
SET @ott_014 = IF((SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'throughput_history' AND COLUMN_NAME = 'verified_md5_objects') = 0,
  'ALTER TABLE throughput_history ADD COLUMN verified_md5_objects BIGINT UNSIGNED NOT NULL DEFAULT 0, ADD COLUMN verified_multipart_objects BIGINT UNSIGNED NOT NULL DEFAULT 0, ADD COLUMN verified_crc_objects BIGINT UNSIGNED NOT NULL DEFAULT 0, ADD COLUMN verified_size_only_objects BIGINT UNSIGNED NOT NULL DEFAULT 0',
  'DO 0');
PREPARE ott_014 FROM @ott_014;
EXECUTE ott_014;
DEALLOCATE PREPARE ott_014;
