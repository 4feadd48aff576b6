-- Self-maintenance: every cleanup run (WSUS's Server Cleanup Wizard, scheduled or on demand)
-- with what each step changed. SQLite flavour; keep in step with
-- migrations/postgres/0007_cleanup_runs.sql. Same conventions as 0001.
--
-- How long an update has been superseded needs no column of its own: it is the imported_at of
-- the first stored revision of the superseding update that names it (re-importing a revision
-- changes nothing, so that time stays).

CREATE TABLE cleanup_runs (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at          TEXT    NOT NULL,
    -- NULL while it runs, or when the server stopped during it.
    finished_at         TEXT,
    dry_run             BOOLEAN NOT NULL,
    -- The user who asked for it, or 'scheduler'.
    requested_by        TEXT    NOT NULL,
    superseded_declined BIGINT  NOT NULL DEFAULT 0,
    expired_declined    BIGINT  NOT NULL DEFAULT 0,
    files_deleted       BIGINT  NOT NULL DEFAULT 0,
    bytes_freed         BIGINT  NOT NULL DEFAULT 0,
    computers_removed   BIGINT  NOT NULL DEFAULT 0,
    compacted           BOOLEAN NOT NULL DEFAULT FALSE,
    error               TEXT
);
CREATE INDEX cleanup_runs_started ON cleanup_runs (started_at);
