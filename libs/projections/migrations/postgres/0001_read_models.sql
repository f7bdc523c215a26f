-- Read models live beside the log and are committed with their checkpoint in one transaction.
-- A projection has generations: the live one serves reads while a rebuild fills another; the swap
-- moves one pointer.
CREATE TABLE projections (
    name            text   PRIMARY KEY,
    live_generation bigint NOT NULL
);

CREATE TABLE projection_generations (
    generation bigint      PRIMARY KEY,
    projection text        NOT NULL,
    checkpoint bigint      NOT NULL,
    state      text        NOT NULL CHECK (state IN ('live', 'building', 'retired')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE read_models (
    generation bigint NOT NULL,
    kind       text   NOT NULL,
    key        text   NOT NULL,
    owner      text,
    doc        jsonb  NOT NULL,
    position   bigint NOT NULL,
    PRIMARY KEY (generation, kind, key)
);
CREATE INDEX read_models_by_owner ON read_models (generation, kind, owner) WHERE owner IS NOT NULL;

CREATE TABLE audit_entries (
    generation     bigint      NOT NULL,
    position       bigint      NOT NULL,
    client         text,
    stream         text        NOT NULL,
    revision       bigint      NOT NULL,
    event_type     text        NOT NULL,
    actor_id       text        NOT NULL,
    actor_role     text        NOT NULL,
    occurred_at    timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL,
    reason         text,
    correlation_id text        NOT NULL,
    causation_id   text,
    PRIMARY KEY (generation, position)
);
CREATE INDEX audit_by_client ON audit_entries (generation, client, position);
CREATE INDEX audit_by_correlation ON audit_entries (generation, correlation_id);
