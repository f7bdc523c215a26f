-- The event log. Rows are only ever inserted: a trigger refuses UPDATE, DELETE and TRUNCATE, and the
-- hash chain exposes any row changed behind the store's back.
CREATE TABLE events (
    position       bigint      PRIMARY KEY,      -- global, dense, commit order; assigned by the writer
    event_id       uuid        NOT NULL UNIQUE,
    stream         text        NOT NULL,
    category       text        NOT NULL,
    revision       bigint      NOT NULL,         -- 0-based, gapless per stream
    event_type     text        NOT NULL,
    schema_version integer     NOT NULL,
    data           json        NOT NULL,         -- json, not jsonb: the stored text is what the hash covers
    metadata       json        NOT NULL,
    recorded_at    timestamptz NOT NULL,
    prev_hash      bytea       NOT NULL,
    hash           bytea       NOT NULL,
    UNIQUE (stream, revision)
);

CREATE INDEX events_by_category ON events (category, position);
CREATE INDEX events_by_type ON events (event_type, position);

-- The last committed position and store time. Every writer locks this row until it commits, so
-- positions are assigned in commit order and a reader never sees position N+1 before N.
CREATE TABLE log_head (
    id          boolean     PRIMARY KEY DEFAULT true CHECK (id),
    position    bigint      NOT NULL,
    recorded_at timestamptz
);
INSERT INTO log_head (id, position, recorded_at) VALUES (true, 0, NULL);

CREATE FUNCTION events_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are immutable: append a correction instead';
END
$$;
CREATE TRIGGER events_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_immutable();
