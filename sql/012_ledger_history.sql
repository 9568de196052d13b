-- Issue 17: what failed, per object, and what the workers did, per minute.
--
-- failed_objects   the ledger: one row per object (key) that a worker failed or set aside, per state table.
--                  reason_class is the kind of failure (src/common/errors.ts reasonClass), message the last
--                  reason in full, attempts the tries summed over every failure, failures how many times it
--                  failed (reported to the error topic). The object's listing (size, etag, last_modified,
--                  storage_class) is kept so `ott retry --failed` can publish it again. resolved_at: a later
--                  copy verified the object (copied or found the same in GCS), or NULL while it is open; a new
--                  failure opens it again. retried_at / retries: `ott retry --failed` published it.
--                  Bounded: past failed_ledger_max_rows rows per state table, the oldest resolved rows are
--                  pruned; open rows are never dropped (they are the work left, and the error topic has them).
--                  dir_sha (SHA-256 of dir_key): a flush asks which of its subfolders hold open entries, one
--                  lookup per subfolder, and looks up only those subfolders' verified keys.
CREATE TABLE IF NOT EXISTS failed_objects (
  state_table VARCHAR(64) NOT NULL,
  key_sha BINARY(32) NOT NULL,
  object_key VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  dir_key VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  dir_sha BINARY(32) NOT NULL,
  mode VARCHAR(32) NOT NULL,
  reason_class VARCHAR(32) NOT NULL,
  message TEXT NOT NULL,
  attempts INT UNSIGNED NOT NULL,
  failures INT UNSIGNED NOT NULL DEFAULT 1,
  size BIGINT UNSIGNED NOT NULL,
  etag VARCHAR(255) NOT NULL,
  last_modified VARCHAR(64) NOT NULL,
  storage_class VARCHAR(32) NULL,
  first_failed_at DATETIME(6) NOT NULL,
  last_failed_at DATETIME(6) NOT NULL,
  retried_at DATETIME(6) NULL,
  retries INT UNSIGNED NOT NULL DEFAULT 0,
  resolved_at DATETIME(6) NULL,
  PRIMARY KEY (state_table, key_sha),
  -- open entries by class (status --failed, retry --failed) and the oldest resolved (pruning); the
-- subfolders holding open entries (a worker's flush looks up only the verified keys of those)
  KEY ix_failed_open (state_table, resolved_at, reason_class, last_failed_at),
  KEY ix_failed_dir (state_table, dir_sha, resolved_at)
) ENGINE=InnoDB;

-- throughput_history  what each worker did, per minute (span_seconds 60) and, after a day, per hour
--                  (span_seconds 3600, rolled up from its minutes): objects and bytes copied, skipped, failed
--                  (archived: those of the failed whose object is archived in S3), per mode and worker.
--                  bucket_at is the database's clock (UTC) at the start of the span. Bounded: one row per
--                  live worker per minute for a day, then one per worker per hour.
CREATE TABLE IF NOT EXISTS throughput_history (
  state_table VARCHAR(64) NOT NULL,
  span_seconds SMALLINT UNSIGNED NOT NULL,
  bucket_at DATETIME NOT NULL,
  mode VARCHAR(32) NOT NULL,
  worker_id VARCHAR(128) NOT NULL,
  host VARCHAR(255) NOT NULL,
  copied_objects BIGINT UNSIGNED NOT NULL DEFAULT 0,
  copied_bytes BIGINT UNSIGNED NOT NULL DEFAULT 0,
  skipped_objects BIGINT UNSIGNED NOT NULL DEFAULT 0,
  skipped_bytes BIGINT UNSIGNED NOT NULL DEFAULT 0,
  failed_objects BIGINT UNSIGNED NOT NULL DEFAULT 0,
  archived_objects BIGINT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (state_table, span_seconds, bucket_at, mode, worker_id),
  KEY ix_history_at (state_table, bucket_at)
) ENGINE=InnoDB;
