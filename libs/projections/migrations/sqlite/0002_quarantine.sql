-- Events a generation could not fold into a document (a bug, or a log written before a check on
-- the write side): kept aside with why, so only that document says it is incomplete and every
-- other reader carries on. A rebuild (a new generation) starts with none. `doc_kind` is
-- 'episode' or 'ledger', or 'event' when the event could not be stored at all (its audit row).
CREATE TABLE quarantined_events (
    generation INTEGER NOT NULL,
    position   INTEGER NOT NULL,
    doc_kind   TEXT   NOT NULL,
    doc_key    TEXT   NOT NULL,
    client     TEXT,
    stream     TEXT   NOT NULL,
    event_type TEXT   NOT NULL,
    error      TEXT   NOT NULL,
    PRIMARY KEY (generation, position, doc_kind, doc_key)
) STRICT;
