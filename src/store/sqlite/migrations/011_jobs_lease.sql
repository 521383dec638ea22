-- Several nodes on one database (PostgreSQL; the same tables on SQLite keep the schemas
-- alike, where one serve holds the file and the lease is always its own).
--
-- The jobs lease's fencing epoch: the node that takes the lease adds one and stamps its
-- writes with it; a write whose epoch is no longer this one is refused (a deposed leader).
CREATE TABLE jobs_lease (
    name     TEXT NOT NULL PRIMARY KEY CHECK (name = 'jobs'),
    epoch    INTEGER NOT NULL,
    holder   TEXT NOT NULL,
    since_ms INTEGER NOT NULL
);
INSERT INTO jobs_lease (name, epoch, holder, since_ms) VALUES ('jobs', 0, '', 0);

-- Batches from prober nodes and pushes received by a node that does not hold the lease:
-- kept here until the leader's recorder has applied them (oldest first).
CREATE TABLE ingest_queue (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL CHECK (kind IN ('observations', 'push')),
    payload     TEXT NOT NULL,
    received_ms INTEGER NOT NULL
);

-- The epoch of the leader that claimed a notification for sending: a deposed leader cannot
-- claim (its write is refused), so it never sends what the new leader sends.
ALTER TABLE notify_outbox ADD COLUMN claimed_epoch INTEGER;
