-- Prober tokens (sla-rules section 3 rule 10): a third role, `prober`, bound to the one
-- location whose probes it may fetch and whose observations it may post. SQLite cannot alter
-- a CHECK constraint, so the table is recreated with its rows, ids and hashes kept; the old
-- roles never carry a location, a prober token always does.
CREATE TABLE api_tokens_009 (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'prober')),
    token_hash   TEXT NOT NULL UNIQUE,
    created_ms   INTEGER NOT NULL,
    last_used_ms INTEGER,
    revoked_ms   INTEGER,
    location     TEXT,
    CHECK ((role = 'prober') = (location IS NOT NULL))
);
INSERT INTO api_tokens_009 (id, name, role, token_hash, created_ms, last_used_ms, revoked_ms)
    SELECT id, name, role, token_hash, created_ms, last_used_ms, revoked_ms FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_009 RENAME TO api_tokens;
