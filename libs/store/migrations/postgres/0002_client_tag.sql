-- The client an event is about (metadata.tags.client), indexed so a client's whole record can be
-- replayed up to any position without scanning the log. Derived from hashed metadata; `verify`
-- checks that the two agree.
ALTER TABLE events ADD COLUMN client_tag text;
ALTER TABLE events DISABLE TRIGGER events_immutable;
UPDATE events SET client_tag = metadata -> 'tags' ->> 'client';
ALTER TABLE events ENABLE TRIGGER events_immutable;
CREATE INDEX events_by_client ON events (client_tag, position) WHERE client_tag IS NOT NULL;
CREATE INDEX events_by_recorded_at ON events (recorded_at, position);
