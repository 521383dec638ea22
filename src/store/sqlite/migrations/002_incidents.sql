-- Incidents and maintenance windows, with append-only updates. The publication time of the
-- first public update is the acknowledgement that waives a Critical ticket's clock
-- (sla-rules section 1): the triggers below make it impossible to change through any path.
CREATE TABLE incidents (
    id                 INTEGER PRIMARY KEY,
    kind               TEXT NOT NULL CHECK (kind IN ('incident', 'maintenance')),
    title              TEXT NOT NULL,
    impact             TEXT NOT NULL CHECK (impact IN ('none', 'minor', 'major', 'critical', 'maintenance')),
    service_wide       INTEGER NOT NULL DEFAULT 0,
    started_at_ms      INTEGER,
    created_at_ms      INTEGER NOT NULL,
    published_at_ms    INTEGER,
    hidden             INTEGER NOT NULL DEFAULT 0,
    origin             TEXT NOT NULL DEFAULT 'beacon',
    -- The id on the status page it was imported from; imports never repeat.
    external_id        TEXT UNIQUE,
    scheduled_for_ms   INTEGER,
    scheduled_until_ms INTEGER,
    auto_start         INTEGER NOT NULL DEFAULT 1,
    auto_end           INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE incident_updates (
    id              INTEGER PRIMARY KEY,
    incident_id     INTEGER NOT NULL REFERENCES incidents(id),
    status          TEXT NOT NULL,
    message         TEXT NOT NULL,
    -- JSON object {"channel-or-group:slug": "major_outage", ...}; NULL keeps the previous set.
    affected        TEXT,
    created_at_ms   INTEGER NOT NULL,
    published_at_ms INTEGER,
    author          TEXT NOT NULL
);
CREATE INDEX incident_updates_by_incident ON incident_updates (incident_id, id);

CREATE TRIGGER incident_published_at_is_immutable
BEFORE UPDATE OF published_at_ms ON incidents
WHEN OLD.published_at_ms IS NOT NULL AND NEW.published_at_ms IS NOT OLD.published_at_ms
BEGIN
    SELECT RAISE(ABORT, 'published_at of an incident is immutable once set');
END;

CREATE TRIGGER published_incident_is_never_deleted
BEFORE DELETE ON incidents
WHEN OLD.published_at_ms IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a published incident is never deleted; hide it instead');
END;

CREATE TRIGGER published_update_is_immutable
BEFORE UPDATE ON incident_updates
WHEN OLD.published_at_ms IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a published incident update is immutable');
END;

CREATE TRIGGER published_update_is_never_deleted
BEFORE DELETE ON incident_updates
WHEN OLD.published_at_ms IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a published incident update is never deleted');
END;

-- API tokens: only the SHA-256 of each token is kept.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'operator')),
    token_hash   TEXT NOT NULL UNIQUE,
    created_ms   INTEGER NOT NULL,
    last_used_ms INTEGER,
    revoked_ms   INTEGER
);

-- Every write: who, what, when, from where. Append-only.
CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY,
    at_ms  INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    source TEXT NOT NULL
);

CREATE TRIGGER audit_log_is_append_only_update
BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_is_append_only_delete
BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
