-- publishObjectsList --delta: a pass over subfolders whose objects list was already published, which
-- re-lists each one against GCS and publishes only the objects new or changed since (sql/README.md).
-- Its claim is a publish lease of its own (the lease model of src/state/leases.ts: owner, expiry, flag,
-- error), so a delta in progress never touches the columns the first publish, the checks or `phase` read.
-- delta_published_at (whole seconds of UTC_TIMESTAMP()) makes it once per run: a delta run takes a row
-- only if this is older than the run's start. What the last delta of the subfolder found is kept beside:
-- objects (and bytes) published as new or changed, and the GCS objects whose S3 source is gone (deleted
-- from S3 after their copy), how many of those it removed from GCS (only with --delete-unmatched or
-- config delete_unmatched), and up to 10 of their names (a JSON array). `ott status` sums them through
-- ix_delta_gone.
ALTER TABLE `{{table}}`
  ADD COLUMN delta_publish_owner VARCHAR(128) NULL,
  ADD COLUMN delta_publish_lease_until DATETIME NULL,
  ADD COLUMN delta_published BOOLEAN NOT NULL DEFAULT FALSE,
  ADD COLUMN delta_publish_error TEXT NULL,
  ADD COLUMN delta_published_at DATETIME NULL,
  ADD COLUMN delta_new_objects BIGINT UNSIGNED NULL,
  ADD COLUMN delta_changed_objects BIGINT UNSIGNED NULL,
  ADD COLUMN delta_bytes BIGINT UNSIGNED NULL,
  ADD COLUMN delta_gone_objects BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN delta_gone_removed BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN delta_gone_sample TEXT NULL,
  ADD KEY ix_delta_publish_owner (delta_publish_owner),
  ADD KEY ix_delta_gone (delta_gone_objects, delta_gone_removed);
