-- The notification outbox: one row per webhook per event, committed before anything is sent,
-- so a crash or restart never loses a notification (delivery is at least once; receivers
-- deduplicate on the id, sent as X-Beacon-Delivery). Rows are kept after delivery or
-- failure so operators can see what was sent. AUTOINCREMENT: an id is never reused.
CREATE TABLE notify_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The webhook's configured name; its URL and secret are looked up at send time, so
    -- secrets never reach the database.
    webhook         TEXT NOT NULL,
    event           TEXT NOT NULL,
    -- The exact body sent (and signed) on every attempt.
    body            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_ms      INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL,
    last_attempt_ms INTEGER,
    delivered_ms    INTEGER
);

-- Each webhook's queue, oldest first: what the delivery task reads.
CREATE INDEX notify_outbox_pending ON notify_outbox (webhook, id) WHERE status = 'pending';
