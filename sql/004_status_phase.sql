-- `ott status` reads the table through one covering index instead of scanning rows: each row's phase is a
-- stored generated column (kept right by every UPDATE, whoever writes it), so "subfolders by phase" with
-- their byte and object totals is one GROUP BY over ix_status_phase. Phases, first match wins:
--   6 failed       the last sync check, a publish (object list or dir list), or an rsync not checked since, recorded an error
--   5 rsynced      rsync ran after the last sync check (waiting for a re-check)
--   4 mismatched   checked, and sizes or object counts differ
--   3 equal        checked, sizes and object counts match
--   2 transferred  every published object was copied or skipped by cdnTransfer (not yet checked)
--   1 published    object list published to Pub/Sub
--   0 new          loaded by dump only
ALTER TABLE `{{table}}`
  ADD COLUMN phase TINYINT UNSIGNED AS (
    CASE
      WHEN sync_check_error IS NOT NULL OR cdn_publish_error IS NOT NULL OR sync_check_publish_error IS NOT NULL OR rsync_publish_error IS NOT NULL
        -- a failed rsync stays the story until a later sync check measured the subfolder again
        OR (rsync_error IS NOT NULL AND (sync_check_last_end IS NULL OR sync_check_last_end <= rsync_last_end)) THEN 6
      WHEN rsync_frequency > 0 AND (sync_check_last_end IS NULL OR sync_check_last_end < rsync_last_end) THEN 5
      WHEN sync_check_frequency > 0 AND (s3_size <> gcs_size OR s3_objects <> gcs_objects) THEN 4
      WHEN sync_check_frequency > 0 THEN 3
      WHEN cdn_transfer_published AND copied_objects + skipped_objects >= published_objects THEN 2
      WHEN cdn_transfer_published THEN 1
      ELSE 0
    END
  ) STORED,
  ADD KEY ix_status_phase (phase, s3_size, gcs_size, s3_objects, gcs_objects, published_bytes, published_objects, copied_bytes, copied_objects, skipped_objects),
  -- the most recent errors: the failed phase, newest first, without sorting
  ADD KEY ix_phase_updated (phase, updated_at);
