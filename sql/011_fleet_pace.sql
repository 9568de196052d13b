-- The fleet's pace (ott cdnTransfer): workers register and heartbeat here, and share one object-write
-- rate per state table that starts at gcs_ramp_start_writes_per_second and doubles at most every
-- gcs_ramp_doubling_seconds, as GCS asks of a new bucket; a 429/503 from GCS halves it and holds the ramp.
--   workers     one row per worker process (worker_id is the lease owner id: host-pid-random), its mode,
--               host, start, last heartbeat and what it did so far; live while heartbeat_at is recent.
--               The fleet's rate is split among the live workers that have work (wants): an idle one
--               holds no share that a busy one could use.
--   fleet_pace  one row per state table: the rate now, when it may next double, and a fleet-wide pause
--               after throttling (every process backs off until paused_until).
CREATE TABLE IF NOT EXISTS workers (
  state_table VARCHAR(64) NOT NULL,
  worker_id VARCHAR(128) NOT NULL,
  mode VARCHAR(32) NOT NULL,
  host VARCHAR(255) NOT NULL,
  started_at DATETIME(6) NOT NULL,
  heartbeat_at DATETIME(6) NOT NULL,
  objects BIGINT UNSIGNED NOT NULL DEFAULT 0,
  bytes BIGINT UNSIGNED NOT NULL DEFAULT 0,
  throttled BIGINT UNSIGNED NOT NULL DEFAULT 0,
  rate_share DOUBLE NOT NULL DEFAULT 0,
  -- it had objects waiting for the pace since its last heartbeat: only such workers split the fleet's rate
  wants BOOLEAN NOT NULL DEFAULT FALSE,
  PRIMARY KEY (state_table, worker_id),
  KEY ix_workers_live (state_table, mode, heartbeat_at)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS fleet_pace (
  state_table VARCHAR(64) NOT NULL,
  rate_now DOUBLE NOT NULL,
  next_step_at DATETIME(6) NOT NULL,
  paused_until DATETIME(6) NULL,
  throttles BIGINT UNSIGNED NOT NULL DEFAULT 0,
  last_throttle_at DATETIME(6) NULL,
  PRIMARY KEY (state_table)
) ENGINE=InnoDB;

-- Why a publisher holds back instead of publishing more (status shows it):
--   'spend cap'  the estimated spend of what was published reached spend_cap_usd;
--   'backlog'    published but not yet copied objects would take the fleet longer than half of the
--                subscription's retention at its current rate: published further, they would age out.
CREATE TABLE IF NOT EXISTS publish_holds (
  state_table VARCHAR(64) NOT NULL,
  kind VARCHAR(16) NOT NULL,
  reason VARCHAR(32) NOT NULL,
  detail VARCHAR(1024) NOT NULL,
  since DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (state_table, kind)
) ENGINE=InnoDB;
