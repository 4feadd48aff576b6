//! Self-maintenance: the records a cleanup run decides from, its changes that are not the
//! catalog's (files, computers, compaction), the record of every run; and what the e-mail
//! notifications report (new updates of a sync, status per computer group).

use std::collections::HashMap;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::Store;
use crate::codec::{RowExt, now, opt_ts, ts};
use crate::error::Result;

/// An update as the cleanup sees it: its latest revision, and whether it is declined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanupUpdateRow {
    /// Update id.
    pub update_id: Uuid,
    /// Title of the latest revision.
    pub title: String,
    /// The latest revision's PublicationState is `Expired`.
    pub expired: bool,
    /// Published on this server.
    pub locally_published: bool,
    /// Declined.
    pub declined: bool,
}

/// `superseding` names `superseded` in the SupersededUpdates of at least one revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupersedenceRow {
    /// The newer update.
    pub superseding: Uuid,
    /// The update it replaces.
    pub superseded: Uuid,
    /// When the first revision of `superseding` naming it was stored.
    pub known_since: OffsetDateTime,
    /// Whether the latest revision of `superseding` names it.
    pub in_latest: bool,
}

/// A registered computer and when it was last heard of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputerContact {
    /// Computer id.
    pub id: String,
    /// DNS name.
    pub dns_name: Option<String>,
    /// Its last sync, or its registration when it never synced.
    pub last_contact: OffsetDateTime,
    /// Groups it is a direct member of.
    pub groups: Vec<Uuid>,
}

/// A file the content store holds (state `present`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentFile {
    /// SHA-1, lowercase hex.
    pub sha1: String,
    /// File name (its extension is part of the content path).
    pub file_name: String,
    /// Size in bytes.
    pub size: i64,
}

/// A recorded cleanup run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CleanupRun {
    /// Increasing.
    pub id: i64,
    /// When it started.
    pub started_at: Option<OffsetDateTime>,
    /// When it finished.
    pub finished_at: Option<OffsetDateTime>,
    /// Changed nothing, reported what it would change.
    pub dry_run: bool,
    /// A user's name, or `scheduler`.
    pub requested_by: String,
    /// Superseded updates declined.
    pub superseded_declined: i64,
    /// Expired updates declined.
    pub expired_declined: i64,
    /// Content files deleted.
    pub files_deleted: i64,
    /// Their bytes.
    pub bytes_freed: i64,
    /// Computers removed.
    pub computers_removed: i64,
    /// The database was compacted.
    pub compacted: bool,
    /// What failed.
    pub error: Option<String>,
}

/// An update first stored in a time window (a new update a sync brought).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUpdateRow {
    /// Update id.
    pub update_id: Uuid,
    /// Title.
    pub title: String,
    /// KB number.
    pub kb_article: Option<String>,
    /// Classification title.
    pub classification: Option<String>,
}

/// Computers of one group (direct members; all computers for "All Computers").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupStatusRow {
    /// Group id.
    pub group_id: Uuid,
    /// Computers.
    pub computers: i64,
    /// Computers that report an update that is not declined NotInstalled, Downloaded,
    /// InstalledPendingReboot or Failed.
    pub needing: i64,
    /// Computers that report an update that is not declined Failed.
    pub failed: i64,
}

/// The states in which WSUS counts an update as needed by a computer.
const NEEDED_STATES: &str = "('not_installed', 'downloaded', 'installed_pending_reboot', 'failed')";
/// The same, as rolled up by downstream servers (SummarizationState 3, 4, 6, 7).
const NEEDED_SUMMARIZATION: &str = "(3, 4, 6, 7)";

const RUN_COLS: &str = "id, started_at, finished_at, dry_run, requested_by, superseded_declined, \
     expired_declined, files_deleted, bytes_freed, computers_removed, compacted, error";

fn decode_run<R: RowExt>(r: &R) -> Result<CleanupRun> {
    Ok(CleanupRun {
        id: r.big("id")?,
        started_at: Some(r.time("started_at")?),
        finished_at: r.opt_time("finished_at")?,
        dry_run: r.flag("dry_run")?,
        requested_by: r.text("requested_by")?,
        superseded_declined: r.big("superseded_declined")?,
        expired_declined: r.big("expired_declined")?,
        files_deleted: r.big("files_deleted")?,
        bytes_freed: r.big("bytes_freed")?,
        computers_removed: r.big("computers_removed")?,
        compacted: r.flag("compacted")?,
        error: r.opt_text("error")?,
    })
}

impl Store {
    /// Every software and driver update, by its latest revision.
    pub async fn cleanup_updates(&self) -> Result<Vec<CleanupUpdateRow>> {
        const SQL: &str = "SELECT r.update_id, r.title, r.publication_state, r.is_locally_published, \
             CASE WHEN d.update_id IS NULL THEN FALSE ELSE TRUE END AS is_declined \
             FROM revisions r LEFT JOIN declined_updates d ON d.update_id = r.update_id \
             WHERE r.update_type IN ('Software', 'Driver') AND r.revision_number = \
             (SELECT MAX(r2.revision_number) FROM revisions r2 WHERE r2.update_id = r.update_id)";
        on_read!(self, db => {
            let rows = sqlx::query(SQL).fetch_all(db).await?;
            rows.iter()
                .map(|r| {
                    Ok(CleanupUpdateRow {
                        update_id: r.uuid("update_id")?,
                        title: r.text("title")?,
                        expired: r.text("publication_state")?.eq_ignore_ascii_case("Expired"),
                        locally_published: r.flag("is_locally_published")?,
                        declined: r.flag("is_declined")?,
                    })
                })
                .collect()
        })
    }

    /// Every supersedence the catalog knows.
    pub async fn supersedences(&self) -> Result<Vec<SupersedenceRow>> {
        const SQL: &str = "SELECT r.update_id AS superseding, rel.target_update_id AS superseded, \
             MIN(r.imported_at) AS known_since, MAX(r.revision_number) AS naming_rev, \
             (SELECT MAX(r2.revision_number) FROM revisions r2 WHERE r2.update_id = r.update_id) AS latest_rev \
             FROM revision_relationships rel JOIN revisions r ON r.id = rel.revision_id \
             WHERE rel.kind = 'superseded' GROUP BY r.update_id, rel.target_update_id";
        on_read!(self, db => {
            let rows = sqlx::query(SQL).fetch_all(db).await?;
            rows.iter()
                .map(|r| {
                    Ok(SupersedenceRow {
                        superseding: r.uuid("superseding")?,
                        superseded: r.uuid("superseded")?,
                        known_since: r.time("known_since")?,
                        in_latest: r.int("naming_rev")? == r.int("latest_rev")?,
                    })
                })
                .collect()
        })
    }

    /// Updates some computer here needs (or failed), and updates some downstream server's
    /// computer does.
    pub async fn needed_updates(&self) -> Result<(Vec<Uuid>, Vec<Uuid>)> {
        let here = sqlx::AssertSqlSafe(format!(
            "SELECT DISTINCT update_id FROM update_status WHERE state IN {NEEDED_STATES}"
        ));
        let downstream = sqlx::AssertSqlSafe(format!(
            "SELECT DISTINCT update_id FROM downstream_computer_status WHERE summarization_state IN {NEEDED_SUMMARIZATION}"
        ));
        on_read!(self, db => {
            let a = sqlx::query(here).fetch_all(db).await?;
            let b = sqlx::query(downstream).fetch_all(db).await?;
            Ok((
                a.iter().map(|r| r.uuid("update_id")).collect::<Result<_>>()?,
                b.iter().map(|r| r.uuid("update_id")).collect::<Result<_>>()?,
            ))
        })
    }

    /// `(computer, update)` for every Installed or NotApplicable report of an update that is
    /// both superseded and approved for Install somewhere: what the cleanup needs to know
    /// whether an approved superseded update may still be needed.
    pub async fn settled_reports_of_superseded(&self) -> Result<Vec<(String, Uuid)>> {
        const SQL: &str = "SELECT s.computer_id, s.update_id FROM update_status s \
             WHERE s.state IN ('installed', 'not_applicable') \
             AND s.update_id IN (SELECT rel.target_update_id FROM revision_relationships rel WHERE rel.kind = 'superseded') \
             AND s.update_id IN (SELECT a.update_id FROM approvals a WHERE a.action = 'install')";
        on_read!(self, db => {
            let rows = sqlx::query(SQL).fetch_all(db).await?;
            rows.iter().map(|r| Ok((r.text("computer_id")?, r.uuid("update_id")?))).collect()
        })
    }

    /// Every computer with its last contact and its direct groups.
    pub async fn computer_contacts(&self) -> Result<Vec<ComputerContact>> {
        const COMPUTERS: &str = "SELECT id, dns_name, COALESCE(last_sync_time, registered_at) AS last_contact FROM computers ORDER BY id";
        const MEMBERS: &str = "SELECT computer_id, group_id FROM computer_group_members";
        on_read!(self, db => {
            let rows = sqlx::query(COMPUTERS).fetch_all(db).await?;
            let members = sqlx::query(MEMBERS).fetch_all(db).await?;
            let mut groups: HashMap<String, Vec<Uuid>> = HashMap::new();
            for m in &members {
                groups.entry(m.text("computer_id")?).or_default().push(m.uuid("group_id")?);
            }
            rows.iter()
                .map(|r| {
                    let id = r.text("id")?;
                    Ok(ComputerContact {
                        groups: groups.remove(&id).unwrap_or_default(),
                        id,
                        dns_name: r.opt_text("dns_name")?,
                        last_contact: r.time("last_contact")?,
                    })
                })
                .collect()
        })
    }

    /// Every file in state `present`.
    pub async fn present_files(&self) -> Result<Vec<PresentFile>> {
        const SQL: &str = "SELECT sha1, file_name, size FROM files WHERE state = 'present' ORDER BY sha1";
        on_read!(self, db => {
            let rows = sqlx::query(SQL).fetch_all(db).await?;
            rows.iter()
                .map(|r| Ok(PresentFile { sha1: r.text("sha1")?, file_name: r.text("file_name")?, size: r.big("size")? }))
                .collect()
        })
    }

    /// `(update, sha1)` for the files of every revision, and `(bundle, bundled update)`.
    pub async fn update_files_and_bundles(&self) -> Result<(Vec<(Uuid, String)>, Vec<(Uuid, Uuid)>)> {
        const FILES: &str = "SELECT DISTINCT r.update_id, rf.sha1 FROM revision_files rf JOIN revisions r ON r.id = rf.revision_id";
        const BUNDLES: &str = "SELECT DISTINCT r.update_id, rel.target_update_id FROM revision_relationships rel \
             JOIN revisions r ON r.id = rel.revision_id WHERE rel.kind = 'bundled'";
        on_read!(self, db => {
            let files = sqlx::query(FILES).fetch_all(db).await?;
            let bundles = sqlx::query(BUNDLES).fetch_all(db).await?;
            Ok((
                files.iter().map(|r| Ok((r.uuid("update_id")?, r.text("sha1")?))).collect::<Result<_>>()?,
                bundles.iter().map(|r| Ok((r.uuid("update_id")?, r.uuid("target_update_id")?))).collect::<Result<_>>()?,
            ))
        })
    }

    /// Gives the database's free pages back and refreshes the planner's statistics. Outside
    /// any transaction (neither VACUUM allows one); on SQLite it takes the writer meanwhile.
    pub async fn compact(&self) -> Result<()> {
        match &self.inner {
            crate::Inner::Sqlite { writer, .. } => {
                sqlx::raw_sql("VACUUM").execute(writer).await?;
                sqlx::raw_sql("ANALYZE").execute(writer).await?;
                sqlx::raw_sql("PRAGMA optimize").execute(writer).await?;
            }
            crate::Inner::Postgres { pool } => {
                sqlx::raw_sql("VACUUM ANALYZE").execute(pool).await?;
            }
        }
        Ok(())
    }

    /// Records the start of a cleanup run at `at` (the time the run decides with, which the
    /// schedule compares with) and returns its id.
    pub async fn start_cleanup_run(&self, dry_run: bool, requested_by: &str, at: OffsetDateTime) -> Result<i64> {
        const SQL: &str = "INSERT INTO cleanup_runs (started_at, dry_run, requested_by) VALUES ($1, $2, $3) RETURNING id";
        let at = ts(at)?;
        on_write!(self, db => {
            Ok(sqlx::query_scalar(SQL).bind(&at).bind(dry_run).bind(requested_by).fetch_one(db).await?)
        })
    }

    /// Records how a run ended (its counts, error and end time) and returns it.
    pub async fn finish_cleanup_run(&self, run: &CleanupRun) -> Result<CleanupRun> {
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE cleanup_runs SET finished_at = $1, superseded_declined = $2, expired_declined = $3, \
             files_deleted = $4, bytes_freed = $5, computers_removed = $6, compacted = $7, error = $8 \
             WHERE id = $9 RETURNING {RUN_COLS}"
        ));
        let at = opt_ts(Some(now()))?;
        on_write!(self, db => {
            let row = sqlx::query(sql)
                .bind(&at)
                .bind(run.superseded_declined)
                .bind(run.expired_declined)
                .bind(run.files_deleted)
                .bind(run.bytes_freed)
                .bind(run.computers_removed)
                .bind(run.compacted)
                .bind(run.error.as_deref())
                .bind(run.id)
                .fetch_one(db)
                .await?;
            decode_run(&row)
        })
    }

    /// The newest cleanup runs first.
    pub async fn list_cleanup_runs(&self, limit: i64) -> Result<Vec<CleanupRun>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {RUN_COLS} FROM cleanup_runs ORDER BY id DESC LIMIT $1"));
        on_read!(self, db => {
            let rows = sqlx::query(sql).bind(limit).fetch_all(db).await?;
            rows.iter().map(decode_run).collect()
        })
    }

    /// When the scheduler last started a cleanup.
    pub async fn last_scheduled_cleanup(&self) -> Result<Option<OffsetDateTime>> {
        const SQL: &str = "SELECT MAX(started_at) AS at FROM cleanup_runs WHERE requested_by = 'scheduler'";
        on_read!(self, db => {
            let row = sqlx::query(SQL).fetch_one(db).await?;
            row.opt_time("at")
        })
    }

    /// Software and driver updates whose first revision was stored between `from` and `to`
    /// (inclusive), with their latest revision's title, KB number and classification title.
    pub async fn updates_first_stored_between(&self, from: OffsetDateTime, to: OffsetDateTime) -> Result<Vec<NewUpdateRow>> {
        const SQL: &str = "SELECT r.update_id, r.title, r.kb_article, c.title AS classification_title \
             FROM revisions r LEFT JOIN categories c ON c.update_id = r.classification \
             WHERE r.update_type IN ('Software', 'Driver') \
             AND r.revision_number = (SELECT MAX(r2.revision_number) FROM revisions r2 WHERE r2.update_id = r.update_id) \
             AND (SELECT MIN(r3.imported_at) FROM revisions r3 WHERE r3.update_id = r.update_id) BETWEEN $1 AND $2 \
             ORDER BY r.update_id";
        let (from, to) = (ts(from)?, ts(to)?);
        on_read!(self, db => {
            let rows = sqlx::query(SQL).bind(&from).bind(&to).fetch_all(db).await?;
            rows.iter()
                .map(|r| {
                    Ok(NewUpdateRow {
                        update_id: r.uuid("update_id")?,
                        title: r.text("title")?,
                        kb_article: r.opt_text("kb_article")?,
                        classification: r.opt_text("classification_title")?,
                    })
                })
                .collect()
        })
    }

    /// Computers, computers needing updates and computers with failed installs, per group
    /// with members ("All Computers" counts every computer).
    pub async fn group_status_counts(&self) -> Result<Vec<GroupStatusRow>> {
        let needs = |computer: &str, states: &str| {
            format!(
                "COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM update_status s WHERE s.computer_id = {computer} \
                 AND s.state IN {states} AND s.update_id NOT IN (SELECT update_id FROM declined_updates)) \
                 THEN 1 ELSE 0 END), 0)"
            )
        };
        let groups = sqlx::AssertSqlSafe(format!(
            "SELECT m.group_id, COUNT(*) AS computers, {} AS needing, {} AS failed \
             FROM computer_group_members m GROUP BY m.group_id",
            needs("m.computer_id", NEEDED_STATES),
            needs("m.computer_id", "('failed')")
        ));
        let all = sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS computers, {} AS needing, {} AS failed FROM computers c",
            needs("c.id", NEEDED_STATES),
            needs("c.id", "('failed')")
        ));
        on_read!(self, db => {
            let rows = sqlx::query(groups).fetch_all(db).await?;
            let total = sqlx::query(all).fetch_one(db).await?;
            let mut out = vec![GroupStatusRow {
                group_id: sluice_api::ALL_COMPUTERS_GROUP,
                computers: total.big("computers")?,
                needing: total.big("needing")?,
                failed: total.big("failed")?,
            }];
            for r in &rows {
                out.push(GroupStatusRow {
                    group_id: r.uuid("group_id")?,
                    computers: r.big("computers")?,
                    needing: r.big("needing")?,
                    failed: r.big("failed")?,
                });
            }
            Ok(out)
        })
    }
}
