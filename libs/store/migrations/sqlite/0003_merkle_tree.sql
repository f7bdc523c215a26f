-- The Merkle tree over the global order (RFC 6962), kept beside the log by a background builder,
-- never by the writer. Every perfect-subtree hash is stored, keyed by (level, index): the root and
-- any proof for any size up to `merkle_tree.size` need O(log n) rows, never a rescan of the leaves.
CREATE TABLE merkle_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB    NOT NULL,
    PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;

-- How far the tree is built (its checkpoint in the log) and the root at that size.
CREATE TABLE merkle_tree (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    size       INTEGER NOT NULL,
    root       BLOB    NOT NULL,
    updated_at INTEGER NOT NULL                  -- microseconds since the Unix epoch, UTC
) STRICT;
INSERT INTO merkle_tree (id, size, root, updated_at)
VALUES (1, 0, X'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 0);

-- Signed checkpoints: (size, root, time) under an Ed25519 key. Kept so they can be listed and so a
-- rewritten tree disagrees with what was signed before.
CREATE TABLE merkle_checkpoints (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tree_size  INTEGER NOT NULL,
    root       BLOB    NOT NULL,
    signed_at  INTEGER NOT NULL,                 -- microseconds since the Unix epoch, UTC
    public_key BLOB    NOT NULL,
    signature  BLOB    NOT NULL
) STRICT;
CREATE INDEX merkle_checkpoints_by_size ON merkle_checkpoints (tree_size, id);

-- Nodes and checkpoints are facts once written, like events.
CREATE TRIGGER merkle_nodes_no_update BEFORE UPDATE ON merkle_nodes
BEGIN SELECT RAISE(ABORT, 'Merkle tree nodes are immutable'); END;
CREATE TRIGGER merkle_nodes_no_delete BEFORE DELETE ON merkle_nodes
BEGIN SELECT RAISE(ABORT, 'Merkle tree nodes are immutable'); END;
CREATE TRIGGER merkle_checkpoints_no_update BEFORE UPDATE ON merkle_checkpoints
BEGIN SELECT RAISE(ABORT, 'signed checkpoints are immutable'); END;
CREATE TRIGGER merkle_checkpoints_no_delete BEFORE DELETE ON merkle_checkpoints
BEGIN SELECT RAISE(ABORT, 'signed checkpoints are immutable'); END;
