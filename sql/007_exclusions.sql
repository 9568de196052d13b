-- Objects in scope that cannot be migrated as they are (src/common/source/unmigratable.ts), per subfolder:
--   archived_*      GLACIER / DEEP_ARCHIVE objects (by the listing's class, or a HEAD), Intelligent-Tiering
--                   objects in an archive tier: S3 serves none of them until restored
--   unmigratable_*  objects GCS cannot hold: a CR or LF in the name, a name . or .., over 1024 bytes after
--                   the prefix mapping, over 5 TiB
-- Each: count, bytes, and a JSON sample [{"key","why"}] (at most 10). Written by whoever last listed the
-- subfolder (publishObjectsList, syncCheck, rsync: src/state/exclusions.ts). `ott status` sums them on
-- their own lines through the two indexes (only rows with such objects are read), never as done.
ALTER TABLE `{{table}}`
  ADD COLUMN archived_objects BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN archived_bytes BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN archived_sample TEXT NULL,
  ADD COLUMN unmigratable_objects BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN unmigratable_bytes BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN unmigratable_sample TEXT NULL,
  ADD KEY ix_archived (archived_objects, archived_bytes),
  ADD KEY ix_unmigratable (unmigratable_objects, unmigratable_bytes);
