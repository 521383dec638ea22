-- PostgreSQL twin of src/store/sqlite/migrations/007_channel_created.sql.
-- When each channel was first stored: the v2 API's components' `created_at`. Channels
-- stored before this migration take their first recorded transition (when their history
-- begins), or the migration's time if they have none: whole seconds in milliseconds, as
-- SQLite's CAST(strftime('%s', 'now') AS INTEGER) * 1000 (floor, because casting the numeric
-- epoch to BIGINT would round).
ALTER TABLE channels ADD COLUMN created_at_ms BIGINT NOT NULL DEFAULT 0;
UPDATE channels SET created_at_ms = COALESCE(
    (SELECT MIN(at_ms) FROM channel_transitions t WHERE t.channel_id = channels.id),
    CAST(floor(EXTRACT(EPOCH FROM now())) AS BIGINT) * 1000
);
