-- Channels and probes mirror probes.toml; rows are never deleted, only marked inactive,
-- so history keeps its names.
CREATE TABLE channels (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    group_name    TEXT NOT NULL,
    in_commitment INTEGER NOT NULL,
    position      INTEGER NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE probes (
    id         INTEGER PRIMARY KEY,
    channel_id TEXT NOT NULL REFERENCES channels(id),
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    target     TEXT NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1,
    UNIQUE (channel_id, name)
);

-- One row per probe run. Clustered on (probe, time): a year of 1-minute data for 100
-- channels is ~53M rows, read by range per probe. Interval and thresholds in force are kept
-- per row so a later config change never rewrites history (sla-rules section 3 rule 1).
CREATE TABLE observations (
    probe_id          INTEGER NOT NULL REFERENCES probes(id),
    at_ms             INTEGER NOT NULL,
    location          TEXT NOT NULL,
    -- 'unknown': the prober's own network was down; kept for the record, covers no time.
    outcome           TEXT NOT NULL CHECK (outcome IN ('up', 'degraded', 'down', 'unknown')),
    status_code       INTEGER,
    response_ms       INTEGER,
    reason            TEXT,
    interval_ms       INTEGER NOT NULL CHECK (interval_ms > 0),
    -- Actual start minus scheduled start.
    lateness_ms       INTEGER NOT NULL DEFAULT 0,
    failure_threshold INTEGER NOT NULL CHECK (failure_threshold > 0),
    success_threshold INTEGER NOT NULL CHECK (success_threshold > 0),
    PRIMARY KEY (probe_id, at_ms, location)
) WITHOUT ROWID;

CREATE TABLE probe_transitions (
    probe_id INTEGER NOT NULL REFERENCES probes(id),
    at_ms    INTEGER NOT NULL,
    state    TEXT NOT NULL,
    PRIMARY KEY (probe_id, at_ms)
) WITHOUT ROWID;

CREATE TABLE channel_transitions (
    channel_id TEXT NOT NULL REFERENCES channels(id),
    at_ms      INTEGER NOT NULL,
    state      TEXT NOT NULL,
    PRIMARY KEY (channel_id, at_ms)
) WITHOUT ROWID;

-- The prober's state machine after each probe's latest observation, written in the same
-- transaction, so a restart continues exactly where the last run stopped.
CREATE TABLE probe_checkpoints (
    probe_id   INTEGER PRIMARY KEY REFERENCES probes(id),
    at_ms      INTEGER NOT NULL,
    machine    TEXT NOT NULL
);

-- Push (heartbeat) probes: the SHA-256 of each probe's token; the token itself is shown once.
CREATE TABLE push_tokens (
    probe_id   INTEGER PRIMARY KEY REFERENCES probes(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_ms INTEGER NOT NULL
);
