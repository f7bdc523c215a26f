-- The client an event is about (metadata.tags.client), indexed so a client's whole record can be
-- replayed up to any position without scanning the log. Derived from hashed metadata; `verify`
-- checks that the two agree.
ALTER TABLE events ADD COLUMN client_tag TEXT;
DROP TRIGGER events_no_update;
UPDATE events SET client_tag = json_extract(metadata, '$.tags.client');
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are immutable: append a correction instead'); END;
CREATE INDEX events_by_client ON events (client_tag, position) WHERE client_tag IS NOT NULL;
CREATE INDEX events_by_recorded_at ON events (recorded_at, position);
