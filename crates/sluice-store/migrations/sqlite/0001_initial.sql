-- Sluice schema, SQLite flavour. Keep it in step with migrations/postgres:
-- the same tables, columns, constraints and semantics, only the dialect differs.
-- Conventions: UUIDs are lowercase hyphenated TEXT; timestamps are TEXT in the
-- fixed-width form YYYY-MM-DDTHH:MM:SS.ffffffZ (UTC), so text order is time order.

-- ---------------------------------------------------------------- catalog

CREATE TABLE revisions (
    -- AUTOINCREMENT: the id is the revision id handed to clients, which cache it;
    -- it must never be reused even if rows are purged some day.
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    update_id             TEXT    NOT NULL,
    revision_number       INTEGER NOT NULL,
    update_type           TEXT    NOT NULL
        CHECK (update_type IN ('Software', 'Driver', 'Detectoid', 'Category')),
    title                 TEXT    NOT NULL,
    description           TEXT,
    kb_article            TEXT,
    msrc_severity         TEXT,
    msrc_number           TEXT,
    classification        TEXT,
    category_type         TEXT,
    publication_state     TEXT    NOT NULL,
    creation_date         TEXT,
    is_locally_published  BOOLEAN NOT NULL DEFAULT FALSE,
    is_leaf               BOOLEAN NOT NULL,
    is_bundle             BOOLEAN NOT NULL,
    explicitly_deployable BOOLEAN NOT NULL,
    xml_compressed        BLOB    NOT NULL,
    imported_at           TEXT    NOT NULL,
    UNIQUE (update_id, revision_number)
);
CREATE INDEX revisions_classification ON revisions (classification);
CREATE INDEX revisions_kb_article ON revisions (kb_article);
CREATE INDEX revisions_creation_date ON revisions (creation_date);

CREATE TABLE fragments (
    revision_id INTEGER NOT NULL REFERENCES revisions (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL CHECK (kind IN ('core', 'extended', 'localized', 'eula')),
    language    TEXT    NOT NULL DEFAULT '',
    body        BLOB    NOT NULL,
    PRIMARY KEY (revision_id, kind, language)
);

CREATE TABLE revision_relationships (
    revision_id            INTEGER NOT NULL REFERENCES revisions (id) ON DELETE CASCADE,
    -- Position in the source document, so relationships come back in their original order.
    seq                    INTEGER NOT NULL,
    kind                   TEXT    NOT NULL CHECK (kind IN ('prerequisite', 'bundled', 'superseded')),
    group_no               INTEGER NOT NULL,
    target_update_id       TEXT    NOT NULL,
    target_revision_number INTEGER,
    is_category            BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (revision_id, seq)
);
CREATE INDEX revision_relationships_target ON revision_relationships (target_update_id, kind);

CREATE TABLE revision_categories (
    revision_id        INTEGER NOT NULL REFERENCES revisions (id) ON DELETE CASCADE,
    category_update_id TEXT    NOT NULL,
    PRIMARY KEY (revision_id, category_update_id)
);
CREATE INDEX revision_categories_category ON revision_categories (category_update_id);

-- No foreign key on parent_update_id: a child category can arrive before its parent.
CREATE TABLE categories (
    update_id        TEXT    PRIMARY KEY,
    revision_number  INTEGER NOT NULL,
    category_type    TEXT    NOT NULL,
    title            TEXT    NOT NULL,
    parent_update_id TEXT
);
CREATE INDEX categories_parent ON categories (parent_update_id);

CREATE TABLE files (
    sha1          TEXT   PRIMARY KEY,
    sha256        TEXT,
    file_name     TEXT   NOT NULL,
    size          BIGINT NOT NULL,
    modified      TEXT,
    patching_type TEXT,
    mu_url        TEXT,
    state         TEXT   NOT NULL DEFAULT 'absent'
        CHECK (state IN ('absent', 'downloading', 'present', 'failed')),
    updated_at    TEXT   NOT NULL
);
CREATE INDEX files_state ON files (state);

CREATE TABLE revision_files (
    revision_id INTEGER NOT NULL REFERENCES revisions (id) ON DELETE CASCADE,
    sha1        TEXT    NOT NULL REFERENCES files (sha1),
    PRIMARY KEY (revision_id, sha1)
);
CREATE INDEX revision_files_sha1 ON revision_files (sha1);

-- ---------------------------------------------------------------- computers and groups

CREATE TABLE computer_groups (
    id         TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    -- NO ACTION: a group with children cannot be deleted, even by a racing writer.
    parent_id  TEXT    REFERENCES computer_groups (id),
    built_in   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT    NOT NULL
);
CREATE INDEX computer_groups_parent ON computer_groups (parent_id);

INSERT INTO computer_groups (id, name, parent_id, built_in, created_at) VALUES
    ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'All Computers', NULL, TRUE, '1970-01-01T00:00:00.000000Z'),
    ('b73ca6ed-5727-47f3-84de-015e03f6a88a', 'Unassigned Computers',
     'a0a08746-4dbe-4a37-9adf-9e7652c0b421', TRUE, '1970-01-01T00:00:00.000000Z');

CREATE TABLE computers (
    id                        TEXT PRIMARY KEY,
    dns_name                  TEXT,
    ip_address                TEXT,
    os_description            TEXT,
    os_major                  INTEGER,
    os_minor                  INTEGER,
    os_build                  INTEGER,
    os_revision               INTEGER,
    os_service_pack           TEXT,
    locale                    TEXT,
    manufacturer              TEXT,
    model                     TEXT,
    bios_name                 TEXT,
    bios_version              TEXT,
    bios_release_date         TEXT,
    client_version            TEXT,
    last_sync_time            TEXT,
    last_reported_status_time TEXT,
    registered_at             TEXT NOT NULL,
    extra                     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX computers_dns_name ON computers (dns_name);

CREATE TABLE computer_group_members (
    computer_id TEXT NOT NULL REFERENCES computers (id) ON DELETE CASCADE,
    group_id    TEXT NOT NULL REFERENCES computer_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (computer_id, group_id)
);
CREATE INDEX computer_group_members_group ON computer_group_members (group_id);

-- ---------------------------------------------------------------- approvals

CREATE TABLE approvals (
    update_id   TEXT NOT NULL,
    group_id    TEXT NOT NULL REFERENCES computer_groups (id) ON DELETE CASCADE,
    action      TEXT NOT NULL CHECK (action IN ('install', 'uninstall', 'not_approved')),
    deadline    TEXT,
    approved_by TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    PRIMARY KEY (update_id, group_id)
);
CREATE INDEX approvals_group ON approvals (group_id);

CREATE TABLE declined_updates (
    update_id   TEXT PRIMARY KEY,
    declined_by TEXT NOT NULL,
    declined_at TEXT NOT NULL
);

CREATE TABLE eula_acceptances (
    eula_id     TEXT PRIMARY KEY,
    accepted_by TEXT NOT NULL,
    accepted_at TEXT NOT NULL
);

-- ---------------------------------------------------------------- status

CREATE TABLE update_status (
    computer_id     TEXT    NOT NULL REFERENCES computers (id) ON DELETE CASCADE,
    update_id       TEXT    NOT NULL,
    revision_number INTEGER NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('unknown', 'not_applicable', 'not_installed',
                        'downloaded', 'installed', 'installed_pending_reboot', 'failed')),
    last_event_time TEXT    NOT NULL,
    last_event_id   TEXT,
    PRIMARY KEY (computer_id, update_id)
);
CREATE INDEX update_status_update ON update_status (update_id, state);

-- ---------------------------------------------------------------- sync and jobs

CREATE TABLE sync_history (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at    TEXT   NOT NULL,
    finished_at   TEXT,
    result        TEXT   NOT NULL CHECK (result IN ('running', 'succeeded', 'failed', 'cancelled')),
    new_revisions BIGINT NOT NULL DEFAULT 0,
    revised       BIGINT NOT NULL DEFAULT 0,
    expired       BIGINT NOT NULL DEFAULT 0,
    error         TEXT,
    upstream      TEXT   NOT NULL
);

CREATE TABLE jobs (
    id             TEXT   PRIMARY KEY,
    kind           TEXT   NOT NULL,
    state          TEXT   NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    progress_done  BIGINT NOT NULL DEFAULT 0,
    progress_total BIGINT NOT NULL DEFAULT 0,
    payload        TEXT   NOT NULL DEFAULT '{}',
    error          TEXT,
    created_at     TEXT   NOT NULL,
    updated_at     TEXT   NOT NULL
);
CREATE INDEX jobs_state ON jobs (state);
CREATE INDEX jobs_created ON jobs (created_at);

-- ---------------------------------------------------------------- admin identity and audit

CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_name    TEXT    NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    token_sha256 TEXT    NOT NULL UNIQUE,
    description  TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    last_used_at TEXT,
    revoked      BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX api_tokens_user ON api_tokens (user_name);

CREATE TABLE audit_log (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             TEXT NOT NULL,
    actor          TEXT NOT NULL,
    action         TEXT NOT NULL,
    target         TEXT NOT NULL,
    detail         TEXT NOT NULL,
    source_address TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);

-- ---------------------------------------------------------------- settings

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
