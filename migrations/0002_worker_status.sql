-- depends: 0001_read_model
-- What each replica's worker last reported (worker/status.py), read by the
-- health endpoint of the API process of the same replica: event delivery,
-- publishing, projection lag, outbox markers left behind, reconciliation.
-- Ages are measured by the worker itself (seconds) or against the database's
-- clock (reported_at, oldest_outbox_marker_at): never across two hosts' clocks.

CREATE TABLE worker_status (
    replica                 text PRIMARY KEY,
    reported_at             timestamptz NOT NULL,
    heartbeat_age_seconds   double precision,
    publish_error           text,
    streams                 jsonb NOT NULL DEFAULT '{}'::jsonb,
    projection_lag_seconds  double precision,
    stale_outbox_markers    integer,
    oldest_outbox_marker_at timestamptz,
    marker_error            text,
    drift_repaired          bigint NOT NULL DEFAULT 0,
    last_sweep_at           timestamptz
);
