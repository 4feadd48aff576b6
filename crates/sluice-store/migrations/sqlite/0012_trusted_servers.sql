-- Other Sluice servers this one administers (issue #14): the API token each issued, sealed
-- with a key kept outside the database, and the identity pinned when it was added. SQLite
-- flavour; keep in step with migrations/postgres/0012_trusted_servers.sql.
CREATE TABLE trusted_servers (
    name               TEXT NOT NULL COLLATE NOCASE PRIMARY KEY,
    url                TEXT NOT NULL,
    token_sealed       TEXT NOT NULL,
    server_id          TEXT NOT NULL,
    certificate_sha256 TEXT,
    ca_cert            TEXT,
    added_by           TEXT NOT NULL,
    added_at           TEXT NOT NULL
);
