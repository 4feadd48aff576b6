-- Other Sluice servers this one administers (issue #14): the API token each issued, sealed
-- with a key kept outside the database, and the identity pinned when it was added.
-- PostgreSQL flavour; keep in step with migrations/sqlite/0012_trusted_servers.sql.
CREATE TABLE trusted_servers (
    name               TEXT NOT NULL PRIMARY KEY,
    url                TEXT NOT NULL,
    token_sealed       TEXT NOT NULL,
    server_id          TEXT NOT NULL,
    certificate_sha256 TEXT,
    ca_cert            TEXT,
    added_by           TEXT NOT NULL,
    added_at           TEXT NOT NULL
);
CREATE UNIQUE INDEX trusted_servers_name ON trusted_servers (lower(name));
