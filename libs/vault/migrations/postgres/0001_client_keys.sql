-- One data key per client, wrapped (AES-256-GCM) by the master key. Deleting a row shreds the
-- client's PHI: every ciphertext sealed under it becomes unreadable, in backups too.
CREATE TABLE client_keys (
    client_id   TEXT        PRIMARY KEY,
    wrapped_key BYTEA       NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

-- A shredded client never gets a new key: later events about them could not be erased again.
CREATE TABLE shredded_clients (
    client_id   TEXT        PRIMARY KEY,
    shredded_at TIMESTAMPTZ NOT NULL,
    reason      TEXT        NOT NULL
);
