-- The Merkle tree over the global order (RFC 6962), kept beside the log by a background builder,
-- never by the writer. Every perfect-subtree hash is stored, keyed by (level, index): the root and
-- any proof for any size up to `merkle_tree.size` need O(log n) rows, never a rescan of the leaves.
CREATE TABLE merkle_nodes (
    level bigint NOT NULL,
    idx   bigint NOT NULL,
    hash  bytea  NOT NULL,
    PRIMARY KEY (level, idx)
);

-- How far the tree is built (its checkpoint in the log) and the root at that size.
CREATE TABLE merkle_tree (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    size       bigint  NOT NULL,
    root       bytea   NOT NULL,
    updated_at bigint  NOT NULL                  -- microseconds since the Unix epoch, UTC
);
INSERT INTO merkle_tree (id, size, root, updated_at)
VALUES (true, 0, '\xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'::bytea, 0);

-- Signed checkpoints: (size, root, time) under an Ed25519 key. Kept so they can be listed and so a
-- rewritten tree disagrees with what was signed before.
CREATE TABLE merkle_checkpoints (
    id         bigserial PRIMARY KEY,
    tree_size  bigint NOT NULL,
    root       bytea  NOT NULL,
    signed_at  bigint NOT NULL,                  -- microseconds since the Unix epoch, UTC
    public_key bytea  NOT NULL,
    signature  bytea  NOT NULL
);
CREATE INDEX merkle_checkpoints_by_size ON merkle_checkpoints (tree_size, id);

-- Nodes and checkpoints are facts once written, like events.
CREATE FUNCTION merkle_is_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'Merkle tree nodes and signed checkpoints are immutable';
END
$$;
CREATE TRIGGER merkle_nodes_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON merkle_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION merkle_is_immutable();
CREATE TRIGGER merkle_checkpoints_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON merkle_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION merkle_is_immutable();
