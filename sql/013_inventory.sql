-- S3 Inventory as a source (`ott dump --inventory`, `ott publishObjectsList --from-inventory`).
--   {{table}}_inventory  the objects of the latest inventory dump, one row per object, keyed by its
--                        subfolder's dir_key_sha (the state table's) and its own key's SHA-256: a publisher
--                        reads one subfolder's objects as a range of the primary key, so an inventory that
--                        is not grouped by subfolder is indexed once, at dump time, and never re-read.
--                        Objects directly under s3_root_prefix are keyed by the root prefix's own hash.
--                        dump_run_id is the dump that last saw the object: a complete inventory dump
--                        deletes the rows older runs left (objects gone from the newer inventory).
--                        first_run_id / changed_run_id: the dump that first indexed the object, and the
--                        last one that found it new or with another size or ETag: two inventories compared
--                        (new, changed, and deleted = the rows pruned) without reading either again.
--   inventory_*          on the state table: per subfolder, the objects and bytes the latest inventory
--                        lists (before filters), and that dump's run; NULL until an inventory dump counted
--                        it. Known up front, before any listing or check: status and estimate use them.
CREATE TABLE IF NOT EXISTS `{{table}}_inventory` (
  dir_key_sha BINARY(32) NOT NULL,
  key_sha BINARY(32) NOT NULL,
  obj_key VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  size BIGINT UNSIGNED NOT NULL,
  etag VARCHAR(128) CHARACTER SET ascii NOT NULL,
  storage_class VARCHAR(32) CHARACTER SET ascii NULL,
  last_modified DATETIME(3) NOT NULL,
  dump_run_id BIGINT UNSIGNED NOT NULL,
  first_run_id BIGINT UNSIGNED NOT NULL,
  changed_run_id BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (dir_key_sha, key_sha),
  KEY ix_inventory_run (dump_run_id),
  KEY ix_inventory_changed (changed_run_id, first_run_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- ix_status_phase stays covering for `ott status`: the inventory counts join it.
ALTER TABLE `{{table}}`
  ADD COLUMN inventory_objects BIGINT UNSIGNED NULL,
  ADD COLUMN inventory_bytes BIGINT UNSIGNED NULL,
  ADD COLUMN inventory_run_id BIGINT UNSIGNED NULL,
  DROP KEY ix_status_phase,
  ADD KEY ix_status_phase (phase, s3_size, gcs_size, s3_objects, gcs_objects, published_bytes, published_objects, copied_bytes, copied_objects, skipped_objects, inventory_bytes, inventory_objects);
