-- The publishers' additions: where a failed dir-list publish records its reason (publishObjectsList has
-- cdn_publish_error), and indexes on the lease owners, because every claim reads back its rows by owner
-- (SELECT ... WHERE *_publish_owner = ?) and must not scan a table of millions of rows to do it.
ALTER TABLE `{{table}}`
  ADD COLUMN sync_check_publish_error TEXT NULL,
  ADD COLUMN rsync_publish_error TEXT NULL,
  ADD KEY ix_cdn_publish_owner (cdn_publish_owner),
  ADD KEY ix_sync_check_publish_owner (sync_check_publish_owner),
  ADD KEY ix_rsync_publish_owner (rsync_publish_owner);
