-- Operator accounts and their web sessions. Passwords are argon2id PHC strings; sessions are
-- kept by the SHA-256 of their cookie value, so a database leak opens no session.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'operator')),
    password_hash TEXT NOT NULL,
    created_ms    INTEGER NOT NULL,
    disabled_ms   INTEGER
);

CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    -- The CSRF token every form of this session must carry.
    csrf         TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    expires_ms   INTEGER NOT NULL,
    source       TEXT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_ms);
