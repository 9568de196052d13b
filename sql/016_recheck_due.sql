-- Issue 19: `publishDirList --purpose syncCheck --recheck` claimed at a cost that grew with the table. Its
-- condition, "due by the usual criteria OR due again" (src/state/publishable.ts RECHECK_DUE: the last check
-- ended at or before an instant), defeated every index: each claim read the rows in id order until it found
-- enough, the ETA's count read them all, and the run ended with a second walk from the start. Now a recheck
-- walks its two branches one after the other (publishable.ts claimableWalk), each through its own index:
--
-- ix_sync_check_due   (sync_check_published) and, implicitly, id: the unpublished rows in id order, the
--                     usual branch's walk (`sync_check_published = FALSE AND id > ? ORDER BY id`) without a
--                     sort and without passing the published rows (ix_sync_check_publish sorts by frequency).
-- ix_recheck_due      (sync_check_last_end) and, implicitly, id: the checks that ended by the instant in
--                     (end, id) order, the recheck branch's walk from where its last read ended. NULL (never
--                     checked) is outside every range: those rows are due by the usual criteria.
--
-- Built in place (InnoDB online index builds): minutes at 10 M rows, writers not blocked.
ALTER TABLE `{{table}}`
  ADD KEY ix_sync_check_due (sync_check_published),
  ADD KEY ix_recheck_due (sync_check_last_end);
