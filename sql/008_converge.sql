-- Issue 14: the check -> repair loop converges, and cdnTransfer's counters are facts.
--
-- rsync_attempts  rsyncs since the subfolder was last checked equal (a check that finds it equal resets
--                 it); the check that finds it still mismatched after max_rsync_attempts records why in
--                 sync_check_error (phase 6, failed) instead of asking for another rsync.
-- rsync_next_at   an rsync is not due before this instant (UTC_TIMESTAMP()): the backoff between attempts,
--                 set by every rsync that ends (rsync_backoff_seconds, doubled per attempt).
-- last_ended_mode which worker mode ended a run on the row last. *_last_end hold whole seconds: a check
--                 and an rsync ending in the same second cannot be ordered by them, and a fast loop then
--                 either skipped the confirming check or took a failed rsync for the last word (stuck).
--                 NULL (rows from before 008): the ties resolve as before.
ALTER TABLE `{{table}}`
  ADD COLUMN rsync_attempts SMALLINT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN rsync_next_at DATETIME NULL,
  ADD COLUMN last_ended_mode ENUM('syncCheck', 'rsync') NULL;

-- The phase as in 004, but a `syncCheck --deep` finding (missing, different or extra objects) makes a
-- checked subfolder mismatched even when sizes and counts agree (a same-size overwrite is no "equal"),
-- and an rsync and a check that ended in the same second are ordered by last_ended_mode.
ALTER TABLE `{{table}}`
  MODIFY COLUMN phase TINYINT UNSIGNED AS (
    CASE
      WHEN sync_check_error IS NOT NULL OR cdn_publish_error IS NOT NULL OR sync_check_publish_error IS NOT NULL OR rsync_publish_error IS NOT NULL
        OR (rsync_error IS NOT NULL AND (sync_check_last_end IS NULL OR sync_check_last_end < rsync_last_end
          OR (sync_check_last_end = rsync_last_end AND NOT (last_ended_mode <=> 'syncCheck')))) THEN 6
      WHEN rsync_frequency > 0 AND (sync_check_last_end IS NULL OR sync_check_last_end < rsync_last_end
          OR (sync_check_last_end = rsync_last_end AND last_ended_mode <=> 'rsync')) THEN 5
      WHEN sync_check_frequency > 0 AND (s3_size <> gcs_size OR s3_objects <> gcs_objects
        OR COALESCE(deep_missing, 0) + COALESCE(deep_different, 0) + COALESCE(deep_extra, 0) > 0) THEN 4
      WHEN sync_check_frequency > 0 THEN 3
      WHEN cdn_transfer_published AND copied_objects + skipped_objects >= published_objects THEN 2
      WHEN cdn_transfer_published THEN 1
      ELSE 0
    END
  ) STORED;

-- cdnTransfer counts a message's objects once: the message's Pub/Sub id is recorded in the same
-- transaction that adds its counts, so a redelivered message (same id) adds nothing. Rows older than
-- Pub/Sub's longest retention (7 days, plus a margin) can no longer be redelivered and are pruned.
CREATE TABLE IF NOT EXISTS counted_messages (
  state_table VARCHAR(64) NOT NULL,
  message_id VARCHAR(128) NOT NULL,
  counted_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (state_table, message_id),
  KEY ix_counted_at (counted_at)
) ENGINE=InnoDB;
