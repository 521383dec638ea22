-- PostgreSQL twin of src/store/sqlite/migrations/008_locations.sql.
-- Probes run from several locations (sla-rules section 3 rule 10). A multi-location probe
-- keeps one timeline and one state machine checkpoint per location; its probe_transitions
-- are the quorum of those, as the recorder derived them with the quorum in force.
CREATE TABLE location_transitions (
    probe_id BIGINT NOT NULL REFERENCES probes(id),
    location TEXT COLLATE "C" NOT NULL,
    at_ms    BIGINT NOT NULL,
    state    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (probe_id, location, at_ms)
);

CREATE TABLE location_checkpoints (
    probe_id BIGINT NOT NULL REFERENCES probes(id),
    location TEXT COLLATE "C" NOT NULL,
    at_ms    BIGINT NOT NULL,
    machine  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (probe_id, location)
);

-- Where the probe's latest coverage ends: for a one-location probe its machine's, for a
-- multi-location probe the instant fewer than its quorum of locations are covered. NULL on
-- rows written before this migration (the report then reads the machine).
ALTER TABLE probe_checkpoints ADD COLUMN coverage_end_ms BIGINT;
