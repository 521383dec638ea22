-- PostgreSQL twin of src/store/sqlite/migrations/009_prober_tokens.sql.
-- Prober tokens (sla-rules section 3 rule 10): a third role, `prober`, bound to the one
-- location whose probes it may fetch and whose observations it may post; the old roles never
-- carry a location, a prober token always does. SQLite recreates the table because it cannot
-- alter a CHECK; PostgreSQL alters it in place, which keeps rows, ids, hashes and the id
-- sequence as they were. The end is the same table: `location` last, both checks.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens
    ADD CONSTRAINT api_tokens_role_check CHECK (role IN ('admin', 'operator', 'prober'));
ALTER TABLE api_tokens ADD COLUMN location TEXT COLLATE "C";
ALTER TABLE api_tokens
    ADD CONSTRAINT api_tokens_location_check CHECK ((role = 'prober') = (location IS NOT NULL));
