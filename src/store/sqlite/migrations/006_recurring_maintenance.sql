-- Recurring maintenance: rules created through the API (rules from probes.toml live in the
-- configuration), and the windows every rule has published, one per rule and start.
CREATE TABLE recurring_maintenances (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    title         TEXT NOT NULL,
    message       TEXT NOT NULL,
    -- JSON array of channel ids or group:<slug>.
    channels      TEXT NOT NULL,
    cron          TEXT,
    -- Canonical weekly rule, e.g. 'sun 02:00'.
    weekly        TEXT,
    duration_ms   INTEGER NOT NULL CHECK (duration_ms > 0),
    auto_start    INTEGER NOT NULL,
    auto_end      INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    -- A deleted rule publishes no new window; its record and its windows stay.
    deleted_at_ms INTEGER,
    CHECK ((cron IS NULL) <> (weekly IS NULL))
);

-- The unique key of a published occurrence: restarts and reloads never publish it twice.
-- rule_key is 'config:<id>' or 'api:<id>'.
CREATE TABLE maintenance_occurrences (
    rule_key     TEXT NOT NULL,
    starts_at_ms INTEGER NOT NULL,
    incident_id  INTEGER NOT NULL REFERENCES incidents(id),
    PRIMARY KEY (rule_key, starts_at_ms)
) WITHOUT ROWID;
