-- dump records each run instead of stamping every row: a full dump of millions of subfolders must not
-- rewrite millions of rows that did not change. From here on:
--   dump_runs       one row per dump of a state table; finished_at is set only when the whole listing was
--                   read, so a crashed run never counts as having seen (or not seen) anything.
--   last_seen       NULL while the latest complete dump listed the subfolder; otherwise the start of the
--                   last complete dump that listed it (stamped once, by the dump that found it missing).
--   {{table}}_seen  answers "when was this subfolder last seen" for every row.
CREATE TABLE IF NOT EXISTS dump_runs (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  state_table VARCHAR(64) NOT NULL,
  started_at DATETIME(6) NOT NULL,
  finished_at DATETIME(6) NULL,
  source VARCHAR(2048) NOT NULL,
  scanned BIGINT UNSIGNED NULL,
  new_rows BIGINT UNSIGNED NULL,
  vanished BIGINT UNSIGNED NULL,
  bad_lines BIGINT UNSIGNED NULL,
  PRIMARY KEY (id),
  KEY ix_dump_runs_table (state_table, finished_at)
) ENGINE=InnoDB;

-- The dumps before this migration stamped every row they listed with their start: the newest stamp is
-- the latest dump, recorded as a run; the rows it stamped are the listed ones (NULL), the rest keep the
-- time they were last listed.
SET @ott_latest_dump = (SELECT MAX(last_seen) FROM `{{table}}`);

INSERT INTO dump_runs (state_table, started_at, finished_at, source)
SELECT '{{table}}', @ott_latest_dump, @ott_latest_dump, 'dumps before migration 005' FROM DUAL WHERE @ott_latest_dump IS NOT NULL;

ALTER TABLE `{{table}}` MODIFY last_seen DATETIME(6) NULL DEFAULT NULL;

UPDATE `{{table}}` SET last_seen = NULL WHERE last_seen >= @ott_latest_dump;

-- The missing rows are few: dump reads them through this index at the start of every run.
ALTER TABLE `{{table}}` ADD KEY ix_last_seen (last_seen);

CREATE OR REPLACE VIEW `{{table}}_seen` AS
SELECT s.id, s.dir_key, s.first_seen, s.last_seen IS NULL AS listed,
       COALESCE(s.last_seen, GREATEST(s.first_seen, COALESCE(r.latest, s.first_seen))) AS last_seen
FROM `{{table}}` s
CROSS JOIN (SELECT MAX(started_at) AS latest FROM dump_runs WHERE state_table = '{{table}}' AND finished_at IS NOT NULL) r;
