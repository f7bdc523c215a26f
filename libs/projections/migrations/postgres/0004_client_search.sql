-- The keyed blind index of client search (libs/projections/src/search.rs): one row per
-- (generation, token, client). A token is a truncated HMAC of a normalised name word, date of
-- birth or member id under a key derived from the vault's master key, which never touches the
-- database: the table holds no PHI in clear and cannot be searched without the key. A client's
-- rows are replaced when they register and removed when they are erased.
CREATE TABLE client_search (
    generation BIGINT NOT NULL,
    token      TEXT   NOT NULL,
    client     TEXT   NOT NULL,
    PRIMARY KEY (generation, token, client)
);
CREATE INDEX client_search_by_client ON client_search (generation, client);
