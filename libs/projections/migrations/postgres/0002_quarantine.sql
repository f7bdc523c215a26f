-- Events a generation could not fold into a document (a bug, or a log written before a check on
-- the write side): kept aside with why, so only that document says it is incomplete and every
-- other reader carries on. A rebuild (a new generation) starts with none. `doc_kind` is
-- 'episode' or 'ledger', or 'event' when the event could not be stored at all (its audit row).
CREATE TABLE quarantined_events (
    generation bigint NOT NULL,
    position   bigint NOT NULL,
    doc_kind   text   NOT NULL,
    doc_key    text   NOT NULL,
    client     text,
    stream     text   NOT NULL,
    event_type text   NOT NULL,
    error      text   NOT NULL,
    PRIMARY KEY (generation, position, doc_kind, doc_key)
);
