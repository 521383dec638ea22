-- Probes run from several locations (sla-rules section 3 rule 10). A multi-location probe
-- keeps one timeline and one state machine checkpoint per location; its probe_transitions
-- are the quorum of those, as the recorder derived them with the quorum in force.
CREATE TABLE location_transitions (
    probe_id INTEGER NOT NULL REFERENCES probes(id),
    location TEXT NOT NULL,
    at_ms    INTEGER NOT NULL,
    state    TEXT NOT NULL,
    PRIMARY KEY (probe_id, location, at_ms)
) WITHOUT ROWID;

CREATE TABLE location_checkpoints (
    probe_id INTEGER NOT NULL REFERENCES probes(id),
    location TEXT NOT NULL,
    at_ms    INTEGER NOT NULL,
    machine  TEXT NOT NULL,
    PRIMARY KEY (probe_id, location)
) WITHOUT ROWID;

-- Where the probe's latest coverage ends: for a one-location probe its machine's, for a
-- multi-location probe the instant fewer than its quorum of locations are covered. NULL on
-- rows written before this migration (the report then reads the machine).
ALTER TABLE probe_checkpoints ADD COLUMN coverage_end_ms INTEGER;
