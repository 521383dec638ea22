-- The admin login throttle (account::throttle), kept in the database so it holds whichever
-- node a login lands on. A streak is an address's failures in a row for one account name
-- (lower-cased); failures are an address's failures over all names, for its coarse cap.
-- Rows older than the throttle can use are deleted with every failure recorded.
CREATE TABLE login_streaks (
    address  TEXT NOT NULL,
    name     TEXT NOT NULL,
    failures INTEGER NOT NULL CHECK (failures > 0),
    last_ms  INTEGER NOT NULL,
    PRIMARY KEY (address, name)
);
CREATE INDEX login_streaks_by_last ON login_streaks (last_ms);

CREATE TABLE login_failures (
    id      INTEGER PRIMARY KEY,
    address TEXT NOT NULL,
    at_ms   INTEGER NOT NULL
);
CREATE INDEX login_failures_by_address ON login_failures (address, at_ms);
CREATE INDEX login_failures_by_time ON login_failures (at_ms);
