-- The event log. Rows are only ever inserted: triggers refuse UPDATE and DELETE, and the hash chain
-- exposes any row changed behind the store's back.
CREATE TABLE events (
    position       INTEGER PRIMARY KEY,          -- global, dense, commit order; assigned by the writer
    event_id       BLOB    NOT NULL UNIQUE,
    stream         TEXT    NOT NULL,
    category       TEXT    NOT NULL,
    revision       INTEGER NOT NULL,             -- 0-based, gapless per stream
    event_type     TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    data           TEXT    NOT NULL CHECK (json_valid(data)),
    metadata       TEXT    NOT NULL CHECK (json_valid(metadata)),
    recorded_at    INTEGER NOT NULL,             -- microseconds since the Unix epoch, UTC
    prev_hash      BLOB    NOT NULL,
    hash           BLOB    NOT NULL,
    UNIQUE (stream, revision)
) STRICT;

CREATE INDEX events_by_category ON events (category, position);
CREATE INDEX events_by_type ON events (event_type, position);

-- The last committed position and store time; the writer holds it for the length of each commit.
CREATE TABLE log_head (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    position    INTEGER NOT NULL,
    recorded_at INTEGER
) STRICT;
INSERT INTO log_head (id, position, recorded_at) VALUES (1, 0, NULL);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are immutable: append a correction instead'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are immutable: append a correction instead'); END;
