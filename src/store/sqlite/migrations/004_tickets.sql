-- Support tickets and their append-only event log; evaluations are recomputed from these.
CREATE TABLE tickets (
    id             INTEGER PRIMARY KEY,
    source         TEXT NOT NULL,
    external_id    TEXT NOT NULL,
    severity       TEXT NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    -- JSON array of channel ids (or group:<slug>) at receipt.
    channels       TEXT NOT NULL,
    subject        TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX tickets_by_receipt ON tickets (received_at_ms);

CREATE TABLE ticket_events (
    id        INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    at_ms     INTEGER NOT NULL,
    -- JSON of the event kind, e.g. "public_reply" or {"severity_change": "critical"}.
    kind      TEXT NOT NULL,
    actor     TEXT NOT NULL
);
CREATE INDEX ticket_events_by_ticket ON ticket_events (ticket_id, at_ms);

CREATE TRIGGER ticket_events_are_append_only_update
BEFORE UPDATE ON ticket_events
BEGIN
    SELECT RAISE(ABORT, 'ticket events are append-only');
END;

CREATE TRIGGER ticket_events_are_append_only_delete
BEFORE DELETE ON ticket_events
BEGIN
    SELECT RAISE(ABORT, 'ticket events are append-only');
END;

-- Tickets already warned about as due soon: the warning goes out once, even across restarts.
CREATE TABLE ticket_warnings (
    ticket_id INTEGER PRIMARY KEY REFERENCES tickets(id),
    at_ms     INTEGER NOT NULL
);
