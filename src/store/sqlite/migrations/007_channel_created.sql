-- When each channel was first stored: the v2 API's components' `created_at`. Channels
-- stored before this migration take their first recorded transition (when their history
-- begins), or the migration's time if they have none.
ALTER TABLE channels ADD COLUMN created_at_ms INTEGER NOT NULL DEFAULT 0;
UPDATE channels SET created_at_ms = COALESCE(
    (SELECT MIN(at_ms) FROM channel_transitions t WHERE t.channel_id = channels.id),
    CAST(strftime('%s', 'now') AS INTEGER) * 1000
);
