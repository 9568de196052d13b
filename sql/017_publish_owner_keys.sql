-- Issue 19: claims at 10 M subfolders. 002 indexed the publish leases' owners because a claim then read its
-- rows back by owner (`WHERE *_publish_owner = ?`). Claims now take rows by id (src/state/publish.ts): every
-- statement that names a publish owner names the ids too (`id IN (...)`, `id = ?`) and reads the primary
-- key, so these indexes were only written: each claim moved a row's entry out of the NULL owners and each
-- release moved it back, a leaf page of its own for every claimed row in a large table (its claims share no
-- pages), dirty until written back. bench/scale.bench.ts claims: that write-back grows from ~30 ms per 20,000
-- claims at 100 k rows to ~700 ms at 10 M. test/state/publishOwnerKeys.test.ts checks that no statement
-- naming a publish owner needs them. Dropping a secondary index is in place: no row is rewritten.
ALTER TABLE `{{table}}`
  DROP KEY ix_cdn_publish_owner,
  DROP KEY ix_sync_check_publish_owner,
  DROP KEY ix_rsync_publish_owner,
  DROP KEY ix_delta_publish_owner;
