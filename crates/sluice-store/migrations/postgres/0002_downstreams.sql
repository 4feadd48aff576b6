-- Downstream servers (MS-WSUSSS): what Sluice, acting as an upstream, knows of the servers
-- that sync from it and what they roll up. PostgreSQL flavour; keep in step with
-- migrations/sqlite/0002_downstreams.sql. Same conventions as 0001 (UUIDs as lowercase
-- TEXT, timestamps as fixed-width UTC TEXT).

CREATE TABLE downstream_servers (
    -- The downstream's WSUS ServerId (accountGuid of GetAuthorizationCookie, ServerId of the
    -- reporting rollup).
    id                TEXT COLLATE "C" PRIMARY KEY,
    -- FQDN it presented (accountName) or reported (FullDomainName).
    account_name      TEXT COLLATE "C" NOT NULL,
    -- Network address it last called from (NULL for servers known only through a rollup).
    address           TEXT COLLATE "C",
    first_seen        TEXT COLLATE "C" NOT NULL,
    last_seen         TEXT COLLATE "C" NOT NULL,
    -- NULL until the server declared it (rollup IsReplica, or a GetDeployments call).
    is_replica        BOOLEAN,
    parent_server_id  TEXT COLLATE "C",
    version           TEXT COLLATE "C",
    last_sync_time    TEXT COLLATE "C",
    last_rollup_time  TEXT COLLATE "C",
    -- The reported DownstreamServerRollupServerSummary, as JSON (NULL when never reported).
    summary           TEXT COLLATE "C"
);

CREATE TABLE downstream_computers (
    server_id                 TEXT COLLATE "C" NOT NULL REFERENCES downstream_servers (id) ON DELETE CASCADE,
    computer_id               TEXT COLLATE "C" NOT NULL,
    full_domain_name          TEXT COLLATE "C",
    ip_address                TEXT COLLATE "C",
    os_description            TEXT COLLATE "C",
    os_version                TEXT COLLATE "C",
    client_version            TEXT COLLATE "C",
    last_sync_time            TEXT COLLATE "C",
    last_sync_result          INTEGER NOT NULL DEFAULT 0,
    last_reported_status_time TEXT COLLATE "C",
    -- RollupNumber of the last status rollup stored (NULL: none yet).
    rollup_number             INTEGER,
    last_rollup_time          TEXT COLLATE "C" NOT NULL,
    -- Everything else the rollup carried, as JSON.
    details                   TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    PRIMARY KEY (server_id, computer_id)
);

CREATE TABLE downstream_computer_status (
    server_id           TEXT COLLATE "C" NOT NULL,
    computer_id         TEXT COLLATE "C" NOT NULL,
    update_id           TEXT COLLATE "C" NOT NULL,
    -- WSUS SummarizationState as reported (1 unknown, 2 not applicable, 3 not installed,
    -- 4 downloaded, 5 installed, 6 failed, 7 installed pending reboot).
    summarization_state INTEGER NOT NULL,
    last_change_time    TEXT COLLATE "C",
    PRIMARY KEY (server_id, computer_id, update_id),
    FOREIGN KEY (server_id, computer_id) REFERENCES downstream_computers (server_id, computer_id) ON DELETE CASCADE
);

-- Deployment GUIDs last sent to a replica by GetDeployments, so the next answer can list the
-- ones that disappeared as DeadDeployments.
CREATE TABLE downstream_deployments (
    server_id     TEXT COLLATE "C" NOT NULL REFERENCES downstream_servers (id) ON DELETE CASCADE,
    deployment_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (server_id, deployment_id)
);

-- Files a downstream asked for with DownloadFiles while they were not in the content store:
-- the queue the download side works from (the file's own state stays 'absent' until then).
CREATE TABLE files_wanted (
    sha1         TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES files (sha1) ON DELETE CASCADE,
    requested_by TEXT COLLATE "C" NOT NULL,
    requested_at TEXT COLLATE "C" NOT NULL
);
