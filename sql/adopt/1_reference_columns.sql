-- `ott migrate --adopt`, step 1 of 2: a table made by the reference design's CREATE TABLE (dir_key
-- VARCHAR(500) PRIMARY KEY and its 16 other columns, all nullable) becomes 001_state_table.sql's table in
-- place. Every value of the reference's 17 columns is kept (flags, sizes, times, frequencies, errors);
-- only a NULL the reference allowed becomes that column's default, because ours are NOT NULL. One ALTER,
-- so a crash leaves either the reference's table or this step's result (migrate.ts tells them apart by
-- the `id` column). The reference's *_in_progress flags stay as they are: with no lease beside them they
-- are bare flags, which the claims treat as free (src/state/leases.ts leaseFree).
UPDATE `{{table}}` SET
  initial_transfer = COALESCE(initial_transfer, TRUE),
  s3_size = COALESCE(s3_size, 0),
  gcs_size = COALESCE(gcs_size, 0),
  cdn_transfer_published = COALESCE(cdn_transfer_published, FALSE),
  sync_check_published = COALESCE(sync_check_published, FALSE),
  rsync_published = COALESCE(rsync_published, FALSE),
  sync_check_in_progress = COALESCE(sync_check_in_progress, FALSE),
  rsync_in_progress = COALESCE(rsync_in_progress, FALSE),
  sync_check_frequency = COALESCE(sync_check_frequency, 0),
  rsync_frequency = COALESCE(rsync_frequency, 0)
WHERE initial_transfer IS NULL OR s3_size IS NULL OR gcs_size IS NULL OR cdn_transfer_published IS NULL
  OR sync_check_published IS NULL OR rsync_published IS NULL OR sync_check_in_progress IS NULL
  OR rsync_in_progress IS NULL OR sync_check_frequency IS NULL OR rsync_frequency IS NULL;

ALTER TABLE `{{table}}`
  DROP PRIMARY KEY,
  ADD COLUMN id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT FIRST,
  ADD PRIMARY KEY (id),
  MODIFY dir_key VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  -- filled by step 2, then NOT NULL and unique
  ADD COLUMN dir_key_sha BINARY(32) NULL AFTER dir_key,
  MODIFY initial_transfer BOOLEAN NOT NULL DEFAULT TRUE,
  MODIFY s3_size BIGINT UNSIGNED NOT NULL DEFAULT 0,
  MODIFY gcs_size BIGINT UNSIGNED NOT NULL DEFAULT 0,
  MODIFY cdn_transfer_published BOOLEAN NOT NULL DEFAULT FALSE,
  MODIFY sync_check_published BOOLEAN NOT NULL DEFAULT FALSE,
  MODIFY rsync_published BOOLEAN NOT NULL DEFAULT FALSE,
  MODIFY sync_check_in_progress BOOLEAN NOT NULL DEFAULT FALSE,
  MODIFY rsync_in_progress BOOLEAN NOT NULL DEFAULT FALSE,
  MODIFY sync_check_frequency TINYINT UNSIGNED NOT NULL DEFAULT 0,
  MODIFY rsync_frequency TINYINT UNSIGNED NOT NULL DEFAULT 0,
  MODIFY sync_check_last_start DATETIME NULL,
  MODIFY sync_check_last_end DATETIME NULL,
  MODIFY rsync_last_start DATETIME NULL,
  MODIFY rsync_last_end DATETIME NULL,
  MODIFY sync_check_error TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  MODIFY rsync_error TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  ADD COLUMN s3_objects BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN gcs_objects BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN cdn_publish_owner VARCHAR(128) NULL,
  ADD COLUMN cdn_publish_lease_until DATETIME NULL,
  ADD COLUMN cdn_published_at DATETIME NULL,
  ADD COLUMN cdn_publish_error TEXT NULL,
  ADD COLUMN published_objects BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN published_bytes BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN sync_check_publish_owner VARCHAR(128) NULL,
  ADD COLUMN sync_check_publish_lease_until DATETIME NULL,
  ADD COLUMN rsync_publish_owner VARCHAR(128) NULL,
  ADD COLUMN rsync_publish_lease_until DATETIME NULL,
  ADD COLUMN sync_check_owner VARCHAR(128) NULL,
  ADD COLUMN sync_check_lease_until DATETIME NULL,
  ADD COLUMN rsync_owner VARCHAR(128) NULL,
  ADD COLUMN rsync_lease_until DATETIME NULL,
  ADD COLUMN copied_objects BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN copied_bytes BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN skipped_objects BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN failed_objects BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN size_only_objects BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN deep_missing BIGINT UNSIGNED NULL,
  ADD COLUMN deep_different BIGINT UNSIGNED NULL,
  ADD COLUMN deep_extra BIGINT UNSIGNED NULL,
  ADD COLUMN deep_sample TEXT NULL,
  ADD COLUMN first_seen DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  ADD COLUMN last_seen DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  ADD COLUMN updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
