-- publishDirList --purpose syncCheck --recheck: when each subfolder was last published for a sync check
-- (whole seconds of UTC_TIMESTAMP(), like sync_check_last_start/_end beside it). A recheck run takes a
-- row only if this is older than the run's start, so a row it published is never taken again by the same
-- run although its sync_check_last_end stays old until a worker checks it; and a published flag counts
-- as consumed (a worker claimed the message) once sync_check_last_start >= this. NULL: not published
-- since this migration.
ALTER TABLE `{{table}}` ADD COLUMN sync_check_published_at DATETIME NULL;
