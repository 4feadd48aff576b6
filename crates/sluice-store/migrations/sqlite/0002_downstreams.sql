-- Downstream servers (MS-WSUSSS): what Sluice, acting as an upstream, knows of the servers
-- that sync from it and what they roll up. SQLite flavour; keep in step with
-- migrations/postgres/0002_downstreams.sql. Same conventions as 0001 (UUIDs as lowercase
-- TEXT, timestamps as fixed-width UTC TEXT).

CREATE TABLE downstream_servers (
    -- The downstream's WSUS ServerId (accountGuid of GetAuthorizationCookie, ServerId of the
    -- reporting rollup).
    id                TEXT    PRIMARY KEY,
    -- FQDN it presented (accountName) or reported (FullDomainName).
    account_name      TEXT    NOT NULL,
    -- Network address it last called from (NULL for servers known only through a rollup).
    address           TEXT,
    first_seen        TEXT    NOT NULL,
    last_seen         TEXT    NOT NULL,
    -- NULL until the server declared it (rollup IsReplica, or a GetDeployments call).
    is_replica        BOOLEAN,
    parent_server_id  TEXT,
    version           TEXT,
    last_sync_time    TEXT,
    last_rollup_time  TEXT,
    -- The reported DownstreamServerRollupServerSummary, as JSON (NULL when never reported).
    summary           TEXT
);

CREATE TABLE downstream_computers (
    server_id                 TEXT    NOT NULL REFERENCES downstream_servers (id) ON DELETE CASCADE,
    computer_id               TEXT    NOT NULL,
    full_domain_name          TEXT,
    ip_address                TEXT,
    os_description            TEXT,
    os_version                TEXT,
    client_version            TEXT,
    last_sync_time            TEXT,
    last_sync_result          INTEGER NOT NULL DEFAULT 0,
    last_reported_status_time TEXT,
    -- RollupNumber of the last status rollup stored (NULL: none yet).
    rollup_number             INTEGER,
    last_rollup_time          TEXT    NOT NULL,
    -- Everything else the rollup carried, as JSON.
    details                   TEXT    NOT NULL DEFAULT '{}',
    PRIMARY KEY (server_id, computer_id)
);

CREATE TABLE downstream_computer_status (
    server_id           TEXT    NOT NULL,
    computer_id         TEXT    NOT NULL,
    update_id           TEXT    NOT NULL,
    -- WSUS SummarizationState as reported (1 unknown, 2 not applicable, 3 not installed,
    -- 4 downloaded, 5 installed, 6 failed, 7 installed pending reboot).
    summarization_state INTEGER NOT NULL,
    last_change_time    TEXT,
    PRIMARY KEY (server_id, computer_id, update_id),
    FOREIGN KEY (server_id, computer_id) REFERENCES downstream_computers (server_id, computer_id) ON DELETE CASCADE
);

-- Deployment GUIDs last sent to a replica by GetDeployments, so the next answer can list the
-- ones that disappeared as DeadDeployments.
CREATE TABLE downstream_deployments (
    server_id     TEXT NOT NULL REFERENCES downstream_servers (id) ON DELETE CASCADE,
    deployment_id TEXT NOT NULL,
    PRIMARY KEY (server_id, deployment_id)
);

-- Files a downstream asked for with DownloadFiles while they were not in the content store:
-- the queue the download side works from (the file's own state stays 'absent' until then).
CREATE TABLE files_wanted (
    sha1         TEXT NOT NULL PRIMARY KEY REFERENCES files (sha1) ON DELETE CASCADE,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL
);
