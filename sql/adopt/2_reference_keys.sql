-- `ott migrate --adopt`, step 2 of 2: the key hashes and 001_state_table.sql's indexes. Rerun safely
-- after a crash (the UPDATE only fills what is missing; migrate.ts skips this step once uq_dir_key_sha
-- exists). Then 001 is recorded as applied and 002 onwards run as on any table of ours.
UPDATE `{{table}}` SET dir_key_sha = UNHEX(SHA2(dir_key, 256)) WHERE dir_key_sha IS NULL;

ALTER TABLE `{{table}}`
  MODIFY dir_key_sha BINARY(32) NOT NULL,
  ADD UNIQUE KEY uq_dir_key_sha (dir_key_sha),
  ADD KEY ix_cdn_publish (cdn_transfer_published, cdn_publish_lease_until),
  ADD KEY ix_sync_check_publish (sync_check_published, sync_check_frequency),
  ADD KEY ix_rsync_publish (rsync_published, rsync_frequency),
  ADD KEY ix_sync_check_claim (sync_check_in_progress, sync_check_lease_until),
  ADD KEY ix_rsync_claim (rsync_in_progress, rsync_lease_until);
