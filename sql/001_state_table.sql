-- The state table: one row per subfolder. Every column of the reference design keeps its name and type;
-- the rest are ours (see sql/README.md). {{table}} is config mysql_table, checked to be a plain identifier.
CREATE TABLE IF NOT EXISTS `{{table}}` (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  -- S3 keys are case-sensitive UTF-8 up to 1024 bytes: binary collation, and a hash for uniqueness,
  -- because an InnoDB index key is at most 3072 bytes (1024 utf8mb4 characters would be 4096).
  dir_key VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  dir_key_sha BINARY(32) NOT NULL,
  initial_transfer BOOLEAN NOT NULL DEFAULT TRUE,
  s3_size BIGINT UNSIGNED NOT NULL DEFAULT 0,
  gcs_size BIGINT UNSIGNED NOT NULL DEFAULT 0,
  cdn_transfer_published BOOLEAN NOT NULL DEFAULT FALSE,
  sync_check_published BOOLEAN NOT NULL DEFAULT FALSE,
  rsync_published BOOLEAN NOT NULL DEFAULT FALSE,
  sync_check_in_progress BOOLEAN NOT NULL DEFAULT FALSE,
  rsync_in_progress BOOLEAN NOT NULL DEFAULT FALSE,
  sync_check_frequency TINYINT UNSIGNED NOT NULL DEFAULT 0,
  rsync_frequency TINYINT UNSIGNED NOT NULL DEFAULT 0,
  sync_check_last_start DATETIME NULL,
  sync_check_last_end DATETIME NULL,
  rsync_last_start DATETIME NULL,
  rsync_last_end DATETIME NULL,
  sync_check_error TEXT NULL,
  rsync_error TEXT NULL,
  -- ours: object counts next to the sizes
  s3_objects BIGINT UNSIGNED NOT NULL DEFAULT 0,
  gcs_objects BIGINT UNSIGNED NOT NULL DEFAULT 0,
  -- publishObjectsList's lease and outcome
  cdn_publish_owner VARCHAR(128) NULL,
  cdn_publish_lease_until DATETIME NULL,
  cdn_published_at DATETIME NULL,
  cdn_publish_error TEXT NULL,
  published_objects BIGINT UNSIGNED NOT NULL DEFAULT 0,
  published_bytes BIGINT UNSIGNED NOT NULL DEFAULT 0,
  -- publishDirList's leases (one per purpose)
  sync_check_publish_owner VARCHAR(128) NULL,
  sync_check_publish_lease_until DATETIME NULL,
  rsync_publish_owner VARCHAR(128) NULL,
  rsync_publish_lease_until DATETIME NULL,
  -- the workers' leases on *_in_progress
  sync_check_owner VARCHAR(128) NULL,
  sync_check_lease_until DATETIME NULL,
  rsync_owner VARCHAR(128) NULL,
  rsync_lease_until DATETIME NULL,
  -- cdnTransfer's counters, flushed in batches
  copied_objects BIGINT UNSIGNED NOT NULL DEFAULT 0,
  copied_bytes BIGINT UNSIGNED NOT NULL DEFAULT 0,
  skipped_objects BIGINT UNSIGNED NOT NULL DEFAULT 0,
  failed_objects BIGINT UNSIGNED NOT NULL DEFAULT 0,
  size_only_objects BIGINT UNSIGNED NOT NULL DEFAULT 0,
  -- syncCheck --deep
  deep_missing BIGINT UNSIGNED NULL,
  deep_different BIGINT UNSIGNED NULL,
  deep_extra BIGINT UNSIGNED NULL,
  deep_sample TEXT NULL,
  first_seen DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  -- not indexed: every dump stamps every row, and an index would double that cost; the vanished
  -- report scans the table once per dump instead.
  last_seen DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  UNIQUE KEY uq_dir_key_sha (dir_key_sha),
  KEY ix_cdn_publish (cdn_transfer_published, cdn_publish_lease_until),
  KEY ix_sync_check_publish (sync_check_published, sync_check_frequency),
  KEY ix_rsync_publish (rsync_published, rsync_frequency),
  KEY ix_sync_check_claim (sync_check_in_progress, sync_check_lease_until),
  KEY ix_rsync_claim (rsync_in_progress, rsync_lease_until)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
