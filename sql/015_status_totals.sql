-- Issue 19: `ott status` in the same time at 10 M subfolders as at 10 k. Until now its totals were one GROUP BY
-- over ix_status_phase: every row's index entry read at every call (0.5 s at 1 M rows, seconds at 10 M). Now
-- the totals are kept as the rows change, in the same transaction as the change, and status reads a few rows.
--
-- best_*            one subfolder's sides as status counts them, defined once here (src/state/status.ts
--                   BEST_KNOWN names these columns and says why): measured by a check or an rsync; before that,
--                   the listing (S3) and what cdnTransfer copied or found there, never more than was listed
--                   (GCS); before any publish, the S3 Inventory's counts. VIRTUAL: computed when read, nothing
--                   stored, so adding them rewrites no row. The triggers, the recount and the report's CSV read them.
ALTER TABLE `{{table}}`
  ADD COLUMN best_s3_bytes BIGINT UNSIGNED AS (
    IF(s3_objects + gcs_objects > 0, s3_size, IF(phase = 0 AND inventory_objects IS NOT NULL, inventory_bytes, published_bytes))) VIRTUAL,
  ADD COLUMN best_gcs_bytes BIGINT UNSIGNED AS (
    IF(s3_objects + gcs_objects > 0, gcs_size, LEAST(copied_bytes, published_bytes))) VIRTUAL,
  ADD COLUMN best_s3_objects BIGINT UNSIGNED AS (
    IF(s3_objects + gcs_objects > 0, s3_objects, IF(phase = 0 AND inventory_objects IS NOT NULL, inventory_objects, published_objects))) VIRTUAL,
  ADD COLUMN best_gcs_objects BIGINT UNSIGNED AS (
    IF(s3_objects + gcs_objects > 0, gcs_objects, LEAST(copied_objects + skipped_objects, published_objects))) VIRTUAL,
  -- status no longer sums every row: the covering index that made that sum cheap only slows the writes now
  DROP KEY ix_status_phase;

-- {{table}}_totals  per (conn, phase): what the transactions of one MySQL connection added to and took from
--                   each phase (subfolders, the best_* sums, and the publisher's gate's sums: objects and
--                   bytes published for copying, objects copied, skipped or failed). conn is the writer's CONNECTION_ID(): two
--                   live connections never write the same row, so the triggers make workers wait on nobody.
--                   conn 0 is the base: a recount (src/state/totals.ts recountTotals: every row summed while
--                   the triggers' writes wait), plus the rows of closed connections folded into it by status.
--                   Phase 255 at conn 0 marks a table whose totals were recounted; until then (a table older
--                   than this migration) the first status recounts. The sum over conn of a phase is exact at
--                   every consistent read: a row's change and its totals' change commit together or not at all.
CREATE TABLE IF NOT EXISTS `{{table}}_totals` (
  conn BIGINT UNSIGNED NOT NULL,
  phase TINYINT UNSIGNED NOT NULL,
  subfolders BIGINT NOT NULL DEFAULT 0,
  s3_bytes BIGINT NOT NULL DEFAULT 0,
  gcs_bytes BIGINT NOT NULL DEFAULT 0,
  s3_objects BIGINT NOT NULL DEFAULT 0,
  gcs_objects BIGINT NOT NULL DEFAULT 0,
  published_objects BIGINT NOT NULL DEFAULT 0,
  published_bytes BIGINT NOT NULL DEFAULT 0,
  done_objects BIGINT NOT NULL DEFAULT 0,
  recounted_at DATETIME(3) NULL,
  PRIMARY KEY (conn, phase)
) ENGINE=InnoDB;

-- One statement each (no BEGIN ... END): the row's old contribution leaves its phase, the new one joins its
-- phase. An UPDATE that changes none of them (a lease renewal, a claim) writes nothing.
CREATE TRIGGER `{{table}}_totals_i` AFTER INSERT ON `{{table}}` FOR EACH ROW
  INSERT INTO `{{table}}_totals` (conn, phase, subfolders, s3_bytes, gcs_bytes, s3_objects, gcs_objects, published_objects, published_bytes, done_objects)
  VALUES (CONNECTION_ID(), NEW.phase, 1, NEW.best_s3_bytes, NEW.best_gcs_bytes, NEW.best_s3_objects, NEW.best_gcs_objects,
    NEW.published_objects, NEW.published_bytes, NEW.copied_objects + NEW.skipped_objects + NEW.failed_objects)
  ON DUPLICATE KEY UPDATE subfolders = subfolders + 1, s3_bytes = s3_bytes + VALUES(s3_bytes), gcs_bytes = gcs_bytes + VALUES(gcs_bytes),
    s3_objects = s3_objects + VALUES(s3_objects), gcs_objects = gcs_objects + VALUES(gcs_objects), published_objects = published_objects + VALUES(published_objects),
    published_bytes = published_bytes + VALUES(published_bytes), done_objects = done_objects + VALUES(done_objects);

CREATE TRIGGER `{{table}}_totals_u` AFTER UPDATE ON `{{table}}` FOR EACH ROW
  INSERT INTO `{{table}}_totals` (conn, phase, subfolders, s3_bytes, gcs_bytes, s3_objects, gcs_objects, published_objects, published_bytes, done_objects)
  SELECT CONNECTION_ID(), d.phase, d.n, d.s3b, d.gcsb, d.s3o, d.gcso, d.po, d.pb, d.dn FROM (
    SELECT OLD.phase AS phase, -1 AS n, -CAST(OLD.best_s3_bytes AS SIGNED) AS s3b, -CAST(OLD.best_gcs_bytes AS SIGNED) AS gcsb,
      -CAST(OLD.best_s3_objects AS SIGNED) AS s3o, -CAST(OLD.best_gcs_objects AS SIGNED) AS gcso, -CAST(OLD.published_objects AS SIGNED) AS po,
      -CAST(OLD.published_bytes AS SIGNED) AS pb, -CAST(OLD.copied_objects + OLD.skipped_objects + OLD.failed_objects AS SIGNED) AS dn
    UNION ALL
    SELECT NEW.phase, 1, NEW.best_s3_bytes, NEW.best_gcs_bytes, NEW.best_s3_objects, NEW.best_gcs_objects, NEW.published_objects, NEW.published_bytes,
      NEW.copied_objects + NEW.skipped_objects + NEW.failed_objects
  ) d
  WHERE NOT (OLD.phase <=> NEW.phase AND OLD.best_s3_bytes <=> NEW.best_s3_bytes AND OLD.best_gcs_bytes <=> NEW.best_gcs_bytes
    AND OLD.best_s3_objects <=> NEW.best_s3_objects AND OLD.best_gcs_objects <=> NEW.best_gcs_objects AND OLD.published_objects <=> NEW.published_objects
    AND OLD.published_bytes <=> NEW.published_bytes AND OLD.copied_objects <=> NEW.copied_objects AND OLD.skipped_objects <=> NEW.skipped_objects
    AND OLD.failed_objects <=> NEW.failed_objects)
  ON DUPLICATE KEY UPDATE `{{table}}_totals`.subfolders = `{{table}}_totals`.subfolders + VALUES(subfolders),
    `{{table}}_totals`.s3_bytes = `{{table}}_totals`.s3_bytes + VALUES(s3_bytes), `{{table}}_totals`.gcs_bytes = `{{table}}_totals`.gcs_bytes + VALUES(gcs_bytes),
    `{{table}}_totals`.s3_objects = `{{table}}_totals`.s3_objects + VALUES(s3_objects), `{{table}}_totals`.gcs_objects = `{{table}}_totals`.gcs_objects + VALUES(gcs_objects),
    `{{table}}_totals`.published_objects = `{{table}}_totals`.published_objects + VALUES(published_objects), `{{table}}_totals`.published_bytes = `{{table}}_totals`.published_bytes + VALUES(published_bytes),
    `{{table}}_totals`.done_objects = `{{table}}_totals`.done_objects + VALUES(done_objects);

CREATE TRIGGER `{{table}}_totals_d` AFTER DELETE ON `{{table}}` FOR EACH ROW
  INSERT INTO `{{table}}_totals` (conn, phase, subfolders, s3_bytes, gcs_bytes, s3_objects, gcs_objects, published_objects, published_bytes, done_objects)
  VALUES (CONNECTION_ID(), OLD.phase, -1, -CAST(OLD.best_s3_bytes AS SIGNED), -CAST(OLD.best_gcs_bytes AS SIGNED), -CAST(OLD.best_s3_objects AS SIGNED),
    -CAST(OLD.best_gcs_objects AS SIGNED), -CAST(OLD.published_objects AS SIGNED), -CAST(OLD.published_bytes AS SIGNED),
    -CAST(OLD.copied_objects + OLD.skipped_objects + OLD.failed_objects AS SIGNED))
  ON DUPLICATE KEY UPDATE subfolders = subfolders - 1, s3_bytes = s3_bytes + VALUES(s3_bytes), gcs_bytes = gcs_bytes + VALUES(gcs_bytes),
    s3_objects = s3_objects + VALUES(s3_objects), gcs_objects = gcs_objects + VALUES(gcs_objects), published_objects = published_objects + VALUES(published_objects),
    published_bytes = published_bytes + VALUES(published_bytes), done_objects = done_objects + VALUES(done_objects);
