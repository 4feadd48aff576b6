//! Downstream servers (MS-WSUSSS, Sluice as the upstream): who syncs from this server, what
//! they roll up about themselves and their computers, the deployments last sent to replicas,
//! and the files downstreams asked for with DownloadFiles.
//!
//! Plain records only; the SOAP layer turns wire values into these. Free-form parts of a
//! rollup (the server summary, computer details) are kept as JSON text produced by the caller.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::Store;
use crate::codec::{RowExt, hex_digest, opt_ts, to_stored_precision, ts, uuid_str};
use crate::error::{Result, StoreError};

/// A downstream server as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownstreamServer {
    /// Its WSUS ServerId.
    pub id: Uuid,
    /// The FQDN it presented or reported.
    pub account_name: String,
    /// Network address of its last call (None when known only through a rollup).
    pub address: Option<String>,
    /// First contact.
    pub first_seen: OffsetDateTime,
    /// Latest contact.
    pub last_seen: OffsetDateTime,
    /// Replica (true) or autonomous (false); None until the server declared it.
    pub is_replica: Option<bool>,
    /// The upstream it reports to, as it said in a rollup.
    pub parent_server_id: Option<Uuid>,
    /// WSUS version it reported.
    pub version: Option<String>,
    /// Its last synchronisation, as reported.
    pub last_sync_time: Option<OffsetDateTime>,
    /// Its last rollup to this server.
    pub last_rollup_time: Option<OffsetDateTime>,
    /// The reported server summary (JSON), if any.
    pub summary: Option<String>,
}

/// A contact from a downstream (GetAuthorizationCookie): creates or refreshes its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownstreamContact {
    /// Its WSUS ServerId.
    pub id: Uuid,
    /// The FQDN it presented.
    pub account_name: String,
    /// Where it called from.
    pub address: Option<String>,
    /// When.
    pub at: OffsetDateTime,
}

/// What a RollupDownstreamServers entry says about one server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DownstreamRollup {
    /// Its WSUS ServerId.
    pub id: Uuid,
    /// Its FQDN (kept as is when empty).
    pub full_domain_name: Option<String>,
    /// The upstream it reports to.
    pub parent_server_id: Option<Uuid>,
    /// WSUS version.
    pub version: Option<String>,
    /// Replica or autonomous.
    pub is_replica: bool,
    /// Its last synchronisation.
    pub last_sync_time: Option<OffsetDateTime>,
    /// The summary as JSON.
    pub summary: Option<String>,
}

/// A computer behind a downstream server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownstreamComputer {
    /// The downstream server it reports to.
    pub server_id: Uuid,
    /// Its computer id (as the client registered it there).
    pub computer_id: String,
    /// Its FQDN.
    pub full_domain_name: Option<String>,
    /// Its IP address.
    pub ip_address: Option<String>,
    /// OS description.
    pub os_description: Option<String>,
    /// OS version, `major.minor.build`.
    pub os_version: Option<String>,
    /// Windows Update Agent version.
    pub client_version: Option<String>,
    /// Its last scan.
    pub last_sync_time: Option<OffsetDateTime>,
    /// Result of that scan, as WSUS numbers it.
    pub last_sync_result: i32,
    /// Its last status report.
    pub last_reported_status_time: Option<OffsetDateTime>,
    /// RollupNumber of the last status rollup stored; set by
    /// [`Store::set_downstream_computer_status`], ignored by [`Store::upsert_downstream_computer`].
    pub rollup_number: Option<i32>,
    /// When this server last received data about it.
    pub last_rollup_time: OffsetDateTime,
    /// Everything else, as JSON (`"{}"` when empty).
    pub details: String,
}

/// One update's state on a downstream computer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownstreamUpdateStatus {
    /// The update.
    pub update_id: Uuid,
    /// WSUS SummarizationState as reported.
    pub summarization_state: i32,
    /// When it last changed.
    pub last_change_time: Option<OffsetDateTime>,
}

/// A file a downstream asked for (DownloadFiles).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedFile {
    /// SHA-1, lowercase hex.
    pub sha1: String,
    /// Who asked first (a downstream server id, as text).
    pub requested_by: String,
    /// When it was first asked for.
    pub requested_at: OffsetDateTime,
}

const SERVER_COLS: &str = "id, account_name, address, first_seen, last_seen, \
                           (is_replica IS NULL) AS replica_unknown, COALESCE(is_replica, FALSE) AS replica, parent_server_id, \
                           version, last_sync_time, last_rollup_time, summary";
const COMPUTER_COLS: &str = "server_id, computer_id, full_domain_name, ip_address, os_description, os_version, \
                             client_version, last_sync_time, last_sync_result, last_reported_status_time, \
                             rollup_number, last_rollup_time, details";

fn decode_server<R: RowExt>(r: &R) -> Result<DownstreamServer> {
    Ok(DownstreamServer {
        id: r.uuid("id")?,
        account_name: r.text("account_name")?,
        address: r.opt_text("address")?,
        first_seen: r.time("first_seen")?,
        last_seen: r.time("last_seen")?,
        is_replica: if r.flag("replica_unknown")? {
            None
        } else {
            Some(r.flag("replica")?)
        },
        parent_server_id: r.opt_uuid("parent_server_id")?,
        version: r.opt_text("version")?,
        last_sync_time: r.opt_time("last_sync_time")?,
        last_rollup_time: r.opt_time("last_rollup_time")?,
        summary: r.opt_text("summary")?,
    })
}

fn decode_computer<R: RowExt>(r: &R) -> Result<DownstreamComputer> {
    Ok(DownstreamComputer {
        server_id: r.uuid("server_id")?,
        computer_id: r.text("computer_id")?,
        full_domain_name: r.opt_text("full_domain_name")?,
        ip_address: r.opt_text("ip_address")?,
        os_description: r.opt_text("os_description")?,
        os_version: r.opt_text("os_version")?,
        client_version: r.opt_text("client_version")?,
        last_sync_time: r.opt_time("last_sync_time")?,
        last_sync_result: r.int("last_sync_result")?,
        last_reported_status_time: r.opt_time("last_reported_status_time")?,
        rollup_number: r.opt_int("rollup_number")?,
        last_rollup_time: r.time("last_rollup_time")?,
        details: r.text("details")?,
    })
}

/// Longest free text kept from a downstream (names, versions, JSON documents).
const MAX_TEXT: usize = 64 * 1024;

fn bounded(what: &str, s: &str) -> Result<()> {
    if s.len() > MAX_TEXT {
        return Err(StoreError::InvalidInput(format!(
            "{what} is longer than {MAX_TEXT} bytes"
        )));
    }
    Ok(())
}

/// Checks what [`Store::record_downstream_rollup`] would refuse with `InvalidInput`, so that
/// a caller storing several can refuse the batch before writing any of it.
pub fn check_rollup(r: &DownstreamRollup) -> Result<()> {
    bounded("server name", r.full_domain_name.as_deref().unwrap_or(""))?;
    bounded("version", r.version.as_deref().unwrap_or(""))?;
    bounded("summary", r.summary.as_deref().unwrap_or(""))
}

/// Checks what [`Store::upsert_downstream_computer`] would refuse with `InvalidInput`.
pub fn check_computer(c: &DownstreamComputer) -> Result<()> {
    if c.computer_id.is_empty() {
        return Err(StoreError::InvalidInput("computer id is empty".into()));
    }
    for (what, v) in [
        ("computer id", Some(&c.computer_id)),
        ("computer name", c.full_domain_name.as_ref()),
        ("os description", c.os_description.as_ref()),
        ("details", Some(&c.details)),
    ] {
        bounded(what, v.map(String::as_str).unwrap_or(""))?;
    }
    Ok(())
}

/// Checks the computer id [`Store::set_downstream_computer_status`] would refuse.
pub fn check_computer_id(computer_id: &str) -> Result<()> {
    if computer_id.is_empty() {
        return Err(StoreError::InvalidInput("computer id is empty".into()));
    }
    bounded("computer id", computer_id)
}

impl Store {
    /// Records a contact (GetAuthorizationCookie): creates the server or refreshes its name,
    /// address and last-seen time. The first-seen time is kept.
    pub async fn record_downstream_contact(&self, c: &DownstreamContact) -> Result<()> {
        const SQL: &str = "INSERT INTO downstream_servers (id, account_name, address, first_seen, last_seen) \
                           VALUES ($1, $2, $3, $4, $4) ON CONFLICT (id) DO UPDATE SET \
                           account_name = excluded.account_name, address = excluded.address, \
                           last_seen = excluded.last_seen";
        bounded("account name", &c.account_name)?;
        let id = uuid_str(&c.id);
        let at = ts(to_stored_precision(c.at))?;
        on_write!(self, db => {
            sqlx::query(SQL).bind(&id).bind(c.account_name.as_str()).bind(c.address.as_deref()).bind(&at)
                .execute(db).await?;
        });
        Ok(())
    }

    /// Moves a known server's last-seen time on (and records its replica flag when given);
    /// returns false if the server is unknown.
    pub async fn touch_downstream(
        &self,
        id: Uuid,
        at: OffsetDateTime,
        is_replica: Option<bool>,
    ) -> Result<bool> {
        const SQL: &str = "UPDATE downstream_servers SET last_seen = $1, \
                           is_replica = COALESCE($2, is_replica) WHERE id = $3";
        let at = ts(to_stored_precision(at))?;
        let id = uuid_str(&id);
        let n = on_write!(self, db => {
            sqlx::query(SQL).bind(&at).bind(is_replica).bind(&id).execute(db).await?.rows_affected()
        });
        Ok(n > 0)
    }

    /// Stores what a rollup says about a server (the caller or one of its own downstreams),
    /// creating it if needed. `at` is the rollup's arrival (last-seen and last-rollup time).
    pub async fn record_downstream_rollup(
        &self,
        r: &DownstreamRollup,
        at: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str = "INSERT INTO downstream_servers (id, account_name, first_seen, last_seen, is_replica, \
                           parent_server_id, version, last_sync_time, last_rollup_time, summary) \
                           VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $3, $8) ON CONFLICT (id) DO UPDATE SET \
                           account_name = CASE WHEN excluded.account_name = '' THEN downstream_servers.account_name \
                           ELSE excluded.account_name END, \
                           last_seen = excluded.last_seen, is_replica = excluded.is_replica, \
                           parent_server_id = excluded.parent_server_id, version = excluded.version, \
                           last_sync_time = excluded.last_sync_time, last_rollup_time = excluded.last_rollup_time, \
                           summary = COALESCE(excluded.summary, downstream_servers.summary)";
        check_rollup(r)?;
        let name = r.full_domain_name.clone().unwrap_or_default();
        let id = uuid_str(&r.id);
        let at = ts(to_stored_precision(at))?;
        let parent = r.parent_server_id.as_ref().map(uuid_str);
        let last_sync = opt_ts(r.last_sync_time.map(to_stored_precision))?;
        on_write!(self, db => {
            sqlx::query(SQL)
                .bind(&id).bind(&name).bind(&at).bind(r.is_replica).bind(parent.as_deref())
                .bind(r.version.as_deref()).bind(last_sync.as_deref()).bind(r.summary.as_deref())
                .execute(db).await?;
        });
        Ok(())
    }

    /// Every downstream server, by name then id.
    pub async fn list_downstreams(&self) -> Result<Vec<DownstreamServer>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {SERVER_COLS} FROM downstream_servers ORDER BY LOWER(account_name), id"
        ));
        on_read!(self, db => {
            let rows = sqlx::query(sql).fetch_all(db).await?;
            rows.iter().map(decode_server).collect()
        })
    }

    /// A downstream server by id.
    pub async fn get_downstream(&self, id: Uuid) -> Result<Option<DownstreamServer>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {SERVER_COLS} FROM downstream_servers WHERE id = $1"
        ));
        let id = uuid_str(&id);
        on_read!(self, db => {
            let row = sqlx::query(sql).bind(&id).fetch_optional(db).await?;
            row.as_ref().map(decode_server).transpose()
        })
    }

    /// Creates or replaces a computer behind a downstream (RollupComputers). Its stored
    /// rollup number and update statuses are kept. `NotFound` if the server is unknown.
    pub async fn upsert_downstream_computer(&self, c: &DownstreamComputer) -> Result<()> {
        const SQL: &str = "INSERT INTO downstream_computers (server_id, computer_id, full_domain_name, ip_address, \
                           os_description, os_version, client_version, last_sync_time, last_sync_result, \
                           last_reported_status_time, last_rollup_time, details) \
                           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                           ON CONFLICT (server_id, computer_id) DO UPDATE SET \
                           full_domain_name = excluded.full_domain_name, ip_address = excluded.ip_address, \
                           os_description = excluded.os_description, os_version = excluded.os_version, \
                           client_version = excluded.client_version, last_sync_time = excluded.last_sync_time, \
                           last_sync_result = excluded.last_sync_result, \
                           last_reported_status_time = excluded.last_reported_status_time, \
                           last_rollup_time = excluded.last_rollup_time, details = excluded.details";
        check_computer(c)?;
        let server = uuid_str(&c.server_id);
        let last_sync = opt_ts(c.last_sync_time.map(to_stored_precision))?;
        let last_status = opt_ts(c.last_reported_status_time.map(to_stored_precision))?;
        let at = ts(to_stored_precision(c.last_rollup_time))?;
        on_write!(self, db => {
            sqlx::query(SQL)
                .bind(&server).bind(c.computer_id.as_str()).bind(c.full_domain_name.as_deref())
                .bind(c.ip_address.as_deref()).bind(c.os_description.as_deref()).bind(c.os_version.as_deref())
                .bind(c.client_version.as_deref()).bind(last_sync.as_deref()).bind(c.last_sync_result)
                .bind(last_status.as_deref()).bind(&at).bind(c.details.as_str())
                .execute(db).await
                .map_err(|e| match StoreError::from(e) {
                    StoreError::Conflict(_) => StoreError::NotFound(format!("downstream server {server}")),
                    other => other,
                })?;
        });
        Ok(())
    }

    /// Computers behind one downstream server, or behind all, by server then computer id.
    pub async fn list_downstream_computers(
        &self,
        server: Option<Uuid>,
    ) -> Result<Vec<DownstreamComputer>> {
        let server = server.as_ref().map(uuid_str);
        let filter = if server.is_some() {
            "WHERE server_id = $1 "
        } else {
            ""
        };
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COMPUTER_COLS} FROM downstream_computers {filter}ORDER BY server_id, computer_id"
        ));
        on_read!(self, db => {
            let mut q = sqlx::query(sql);
            if let Some(s) = &server {
                q = q.bind(s.as_str());
            }
            let rows = q.fetch_all(db).await?;
            rows.iter().map(decode_computer).collect()
        })
    }

    /// Stores a status rollup of one computer (RollupComputerStatus): its rollup number, and
    /// the given update states (replacing every stored one when `full`). A computer not yet
    /// known gets a minimal row. `NotFound` if the server is unknown.
    pub async fn set_downstream_computer_status(
        &self,
        server: Uuid,
        computer_id: &str,
        rollup_number: i32,
        full: bool,
        statuses: &[DownstreamUpdateStatus],
        at: OffsetDateTime,
    ) -> Result<()> {
        const UPSERT: &str = "INSERT INTO downstream_computers (server_id, computer_id, rollup_number, \
                              last_rollup_time) VALUES ($1, $2, $3, $4) ON CONFLICT (server_id, computer_id) \
                              DO UPDATE SET rollup_number = excluded.rollup_number, \
                              last_rollup_time = excluded.last_rollup_time";
        const CLEAR: &str =
            "DELETE FROM downstream_computer_status WHERE server_id = $1 AND computer_id = $2";
        const STATUS: &str = "INSERT INTO downstream_computer_status (server_id, computer_id, update_id, \
                              summarization_state, last_change_time) VALUES ($1, $2, $3, $4, $5) \
                              ON CONFLICT (server_id, computer_id, update_id) DO UPDATE SET \
                              summarization_state = excluded.summarization_state, \
                              last_change_time = excluded.last_change_time";
        check_computer_id(computer_id)?;
        let server_s = uuid_str(&server);
        let at = ts(to_stored_precision(at))?;
        let rows: Vec<(String, i32, Option<String>)> = statuses
            .iter()
            .map(|s| {
                Ok((
                    uuid_str(&s.update_id),
                    s.summarization_state,
                    opt_ts(s.last_change_time.map(to_stored_precision))?,
                ))
            })
            .collect::<Result<_>>()?;
        let fk = |e: sqlx::Error| match StoreError::from(e) {
            StoreError::Conflict(_) => {
                StoreError::NotFound(format!("downstream server {server_s}"))
            }
            other => other,
        };
        in_tx!(self, tx => {
            sqlx::query(UPSERT).bind(&server_s).bind(computer_id).bind(rollup_number).bind(&at)
                .execute(&mut *tx).await.map_err(fk)?;
            if full {
                sqlx::query(CLEAR).bind(&server_s).bind(computer_id).execute(&mut *tx).await?;
            }
            for (u, state, changed) in &rows {
                sqlx::query(STATUS).bind(&server_s).bind(computer_id).bind(u).bind(*state).bind(changed.as_deref())
                    .execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    /// The stored update states of one downstream computer, by update id.
    pub async fn downstream_computer_status(
        &self,
        server: Uuid,
        computer_id: &str,
    ) -> Result<Vec<DownstreamUpdateStatus>> {
        const SQL: &str = "SELECT update_id, summarization_state, last_change_time FROM downstream_computer_status \
                           WHERE server_id = $1 AND computer_id = $2 ORDER BY update_id";
        let server = uuid_str(&server);
        on_read!(self, db => {
            let rows = sqlx::query(SQL).bind(&server).bind(computer_id).fetch_all(db).await?;
            rows.iter()
                .map(|r| {
                    Ok(DownstreamUpdateStatus {
                        update_id: r.uuid("update_id")?,
                        summarization_state: r.int("summarization_state")?,
                        last_change_time: r.opt_time("last_change_time")?,
                    })
                })
                .collect()
        })
    }

    /// The deployment GUIDs last sent to a replica, sorted.
    pub async fn sent_deployments(&self, server: Uuid) -> Result<Vec<Uuid>> {
        const SQL: &str = "SELECT deployment_id FROM downstream_deployments WHERE server_id = $1 ORDER BY deployment_id";
        let server = uuid_str(&server);
        on_read!(self, db => {
            let rows = sqlx::query(SQL).bind(&server).fetch_all(db).await?;
            rows.iter().map(|r| r.uuid("deployment_id")).collect()
        })
    }

    /// Replaces the deployment GUIDs sent to a replica. `NotFound` if the server is unknown.
    pub async fn set_sent_deployments(&self, server: Uuid, ids: &[Uuid]) -> Result<()> {
        let server_s = uuid_str(&server);
        let ids: Vec<String> = ids.iter().map(uuid_str).collect();
        in_tx!(self, tx => {
            sqlx::query("DELETE FROM downstream_deployments WHERE server_id = $1").bind(&server_s)
                .execute(&mut *tx).await?;
            for id in &ids {
                sqlx::query("INSERT INTO downstream_deployments (server_id, deployment_id) VALUES ($1, $2) \
                             ON CONFLICT (server_id, deployment_id) DO NOTHING")
                    .bind(&server_s).bind(id).execute(&mut *tx).await
                    .map_err(|e| match StoreError::from(e) {
                        StoreError::Conflict(_) => StoreError::NotFound(format!("downstream server {server_s}")),
                        other => other,
                    })?;
            }
        });
        Ok(())
    }

    /// Marks files as wanted by a downstream (DownloadFiles). A file already wanted keeps its
    /// first request; returns how many were newly queued. `NotFound` if a file is unknown
    /// (nothing is queued then).
    pub async fn want_files(
        &self,
        sha1s: &[String],
        requested_by: &str,
        at: OffsetDateTime,
    ) -> Result<usize> {
        const SQL: &str = "INSERT INTO files_wanted (sha1, requested_by, requested_at) VALUES ($1, $2, $3) \
                           ON CONFLICT (sha1) DO NOTHING";
        let digests: Vec<String> = sha1s
            .iter()
            .map(|s| hex_digest("sha1", s, 40))
            .collect::<Result<_>>()?;
        bounded("requester", requested_by)?;
        let at = ts(to_stored_precision(at))?;
        let n = in_tx!(self, tx => {
            let mut n = 0usize;
            for d in &digests {
                let done = sqlx::query(SQL).bind(d).bind(requested_by).bind(&at).execute(&mut *tx).await
                    .map_err(|e| match StoreError::from(e) {
                        StoreError::Conflict(_) => StoreError::NotFound(format!("file {d}")),
                        other => other,
                    })?;
                n += done.rows_affected() as usize;
            }
            n
        });
        Ok(n)
    }

    /// Every wanted file, oldest request first.
    pub async fn wanted_files(&self) -> Result<Vec<WantedFile>> {
        const SQL: &str =
            "SELECT sha1, requested_by, requested_at FROM files_wanted ORDER BY requested_at, sha1";
        on_read!(self, db => {
            let rows = sqlx::query(SQL).fetch_all(db).await?;
            rows.iter()
                .map(|r| Ok(WantedFile { sha1: r.text("sha1")?, requested_by: r.text("requested_by")?, requested_at: r.time("requested_at")? }))
                .collect()
        })
    }

    /// Takes a file off the wanted list (downloaded or given up); returns whether it was on it.
    pub async fn unwant_file(&self, sha1: &str) -> Result<bool> {
        let sha1 = hex_digest("sha1", sha1, 40)?;
        let n = on_write!(self, db => {
            sqlx::query("DELETE FROM files_wanted WHERE sha1 = $1").bind(&sha1).execute(db).await?.rows_affected()
        });
        Ok(n > 0)
    }
}
