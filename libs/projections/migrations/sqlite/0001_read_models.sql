-- Read models live beside the log and are committed with their checkpoint in one transaction.
-- A projection has generations: the live one serves reads while a rebuild fills another; the swap
-- moves one pointer.
CREATE TABLE projections (
    name            TEXT    PRIMARY KEY,
    live_generation INTEGER NOT NULL
) STRICT;

CREATE TABLE projection_generations (
    generation INTEGER PRIMARY KEY,
    projection TEXT    NOT NULL,
    checkpoint INTEGER NOT NULL,         -- last log position applied
    state      TEXT    NOT NULL CHECK (state IN ('live', 'building', 'retired')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE read_models (
    generation INTEGER NOT NULL,
    kind       TEXT    NOT NULL,         -- episode | ledger
    key        TEXT    NOT NULL,
    owner      TEXT,                     -- the clinician an episode is assigned to (caseload lookups)
    doc        TEXT    NOT NULL CHECK (json_valid(doc)),
    position   INTEGER NOT NULL,         -- last log position folded into this document
    PRIMARY KEY (generation, kind, key)
) STRICT;
CREATE INDEX read_models_by_owner ON read_models (generation, kind, owner) WHERE owner IS NOT NULL;

-- One row per event: who, what, when, why; no event data (no PHI in the index).
CREATE TABLE audit_entries (
    generation     INTEGER NOT NULL,
    position       INTEGER NOT NULL,
    client         TEXT,
    stream         TEXT    NOT NULL,
    revision       INTEGER NOT NULL,
    event_type     TEXT    NOT NULL,
    actor_id       TEXT    NOT NULL,
    actor_role     TEXT    NOT NULL,
    occurred_at    INTEGER NOT NULL,     -- microseconds since the Unix epoch
    recorded_at    INTEGER NOT NULL,
    reason         TEXT,
    correlation_id TEXT    NOT NULL,
    causation_id   TEXT,
    PRIMARY KEY (generation, position)
) STRICT;
CREATE INDEX audit_by_client ON audit_entries (generation, client, position);
CREATE INDEX audit_by_correlation ON audit_entries (generation, correlation_id);
