//! Batch ingest of revisions.
//!
//! Per-row statements cost a round trip each (a worker-thread hand-off on SQLite, a network
//! round trip on PostgreSQL), which dominated ingest time. So a batch is written with
//! multi-row `INSERT … VALUES (…), (…)` statements, all inside one transaction: first the
//! revisions (their ids come back through `RETURNING`), then every child table in a handful
//! of statements. Everything is validated and converted before the transaction starts.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::codec::{RowExt, hex_digest, now, opt_ts, ts, uuid_str};
use crate::error::{Result, StoreError};
use crate::types::*;
use crate::{Backend, Store};

/// Upper bound on bind parameters per statement: well under SQLite's 32766 and PostgreSQL's
/// 65535, and small enough that preparing a statement stays cheap.
const MAX_PARAMS: usize = 4_000;
/// Upper bound on rows per statement.
const MAX_ROWS: usize = 500;

/// A borrowed bind value; replayed onto either backend's query by `bind_vals!`.
#[derive(Debug, Clone, Copy)]
enum Val<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    I64(i64),
    I32(i32),
    OptI32(Option<i32>),
    Bool(bool),
    Bytes(&'a [u8]),
}

macro_rules! bind_vals {
    ($query:expr, $vals:expr) => {{
        let mut q = $query;
        for v in $vals.iter() {
            q = match *v {
                Val::Text(x) => q.bind(x),
                Val::OptText(x) => q.bind(x),
                Val::I64(x) => q.bind(x),
                Val::I32(x) => q.bind(x),
                Val::OptI32(x) => q.bind(x),
                Val::Bool(x) => q.bind(x),
                Val::Bytes(x) => q.bind(x),
            };
        }
        q
    }};
}

/// One statement ready to run.
struct Stmt<'a> {
    sql: String,
    vals: Vec<Val<'a>>,
}

/// Placeholder spelling for generated statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholders {
    /// `$1, $2, …` (PostgreSQL).
    Numbered,
    /// `?, ?, …` (SQLite). sqlx looks up the name of every numbered SQLite parameter with
    /// `sqlite3_bind_parameter_name`, a linear scan, so binding n `$k` parameters costs
    /// O(n²): with a few thousand parameters that was 70% of ingest time. Anonymous `?`
    /// parameters bind positionally at no such cost.
    Anonymous,
}

/// Splits `rows` into multi-row statements `head VALUES (…), (…) tail`.
fn multi_row<'a, T>(
    style: Placeholders,
    head: &str,
    tail: &str,
    cols: usize,
    rows: &[T],
    mut push: impl FnMut(&T, &mut Vec<Val<'a>>),
) -> Vec<Stmt<'a>> {
    let per_stmt = (MAX_PARAMS / cols).clamp(1, MAX_ROWS);
    rows.chunks(per_stmt)
        .map(|chunk| {
            let mut sql = String::with_capacity(head.len() + tail.len() + chunk.len() * cols * 6);
            sql.push_str(head);
            sql.push_str(" VALUES ");
            let mut n = 0;
            for (i, _) in chunk.iter().enumerate() {
                sql.push_str(if i == 0 { "(" } else { ", (" });
                for c in 0..cols {
                    n += 1;
                    if c > 0 {
                        sql.push_str(", ");
                    }
                    match style {
                        Placeholders::Numbered => {
                            sql.push('$');
                            sql.push_str(&n.to_string());
                        }
                        Placeholders::Anonymous => sql.push('?'),
                    }
                }
                sql.push(')');
            }
            sql.push(' ');
            sql.push_str(tail);
            let mut vals = Vec::with_capacity(chunk.len() * cols);
            for row in chunk {
                push(row, &mut vals);
            }
            debug_assert_eq!(vals.len(), chunk.len() * cols);
            Stmt { sql, vals }
        })
        .collect()
}

/// A revision's values in stored form.
struct Prepared<'a> {
    rev: &'a NewRevision,
    update_id: String,
    classification: Option<String>,
    creation_date: Option<String>,
    files: Vec<PreparedFile<'a>>,
    relationship_targets: Vec<String>,
    categories: Vec<String>,
    category_parent: Option<String>,
    eula_key: Option<String>,
    eula_files: Option<String>,
}

struct PreparedFile<'a> {
    file: &'a NewFile,
    sha1: String,
    sha256: Option<String>,
    modified: Option<String>,
}

fn prepare(rev: &NewRevision) -> Result<Prepared<'_>> {
    let files = rev
        .files
        .iter()
        .map(|f| {
            if f.size < 0 {
                return Err(StoreError::InvalidInput(format!(
                    "file {} has a negative size",
                    f.file_name
                )));
            }
            Ok(PreparedFile {
                file: f,
                sha1: hex_digest("sha1", &f.sha1, 40)?,
                sha256: f
                    .sha256
                    .as_deref()
                    .map(|s| hex_digest("sha256", s, 64))
                    .transpose()?,
                modified: opt_ts(f.modified)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if i32::try_from(rev.relationships.len()).is_err() {
        return Err(StoreError::InvalidInput(
            "too many relationships".to_owned(),
        ));
    }
    Ok(Prepared {
        rev,
        update_id: uuid_str(&rev.update_id),
        classification: rev.classification.as_ref().map(uuid_str),
        creation_date: opt_ts(rev.creation_date)?,
        files,
        relationship_targets: rev
            .relationships
            .iter()
            .map(|r| uuid_str(&r.target_update_id))
            .collect(),
        categories: rev.categories.iter().map(uuid_str).collect(),
        category_parent: rev
            .category
            .as_ref()
            .and_then(|c| c.parent_update_id.as_ref())
            .map(uuid_str),
        eula_key: rev.license.as_ref().and_then(|l| l.eula_key.as_ref()).map(uuid_str),
        eula_files: rev
            .license
            .as_ref()
            .and_then(|l| crate::catalog::eula_files_text(&l.eula_files)),
    })
}

const REVISIONS_HEAD: &str = "INSERT INTO revisions (update_id, revision_number, update_type, \
     title, description, kb_article, msrc_severity, msrc_number, classification, category_type, \
     publication_state, creation_date, is_locally_published, is_leaf, is_bundle, \
     explicitly_deployable, xml_compressed, imported_at, eula_id, eula_key, eula_files, \
     needs_user_input, license_facts)";
const REVISIONS_TAIL: &str = "ON CONFLICT (update_id, revision_number) DO NOTHING \
     RETURNING id, update_id, revision_number";

/// Statements fetching every revision of the given updates (the caller picks the revision
/// numbers it wants; updates have few revisions, and the lookup uses the unique index).
fn lookup_statements<'a>(style: Placeholders, update_ids: &[&'a str]) -> Vec<Stmt<'a>> {
    update_ids
        .chunks(MAX_ROWS)
        .map(|chunk| {
            let list: Vec<String> = (1..=chunk.len())
                .map(|n| match style {
                    Placeholders::Numbered => format!("${n}"),
                    Placeholders::Anonymous => "?".to_owned(),
                })
                .collect();
            Stmt {
                sql: format!(
                    "SELECT id, update_id, revision_number FROM revisions WHERE update_id IN ({})",
                    list.join(", ")
                ),
                vals: chunk.iter().map(|u| Val::Text(u)).collect(),
            }
        })
        .collect()
}

fn revision_statements<'a>(
    style: Placeholders,
    prepared: &'a [Prepared<'a>],
    candidates: &[usize],
    imported_at: &'a str,
) -> Vec<Stmt<'a>> {
    multi_row(
        style,
        REVISIONS_HEAD,
        REVISIONS_TAIL,
        23,
        candidates,
        |&i, v| {
            let p = &prepared[i];
            let r = p.rev;
            v.extend([
                Val::Text(&p.update_id),
                Val::I32(r.revision_number),
                Val::Text(r.update_type.as_str()),
                Val::Text(&r.title),
                Val::OptText(r.description.as_deref()),
                Val::OptText(r.kb_article.as_deref()),
                Val::OptText(r.msrc_severity.as_deref()),
                Val::OptText(r.msrc_number.as_deref()),
                Val::OptText(p.classification.as_deref()),
                Val::OptText(r.category_type.as_deref()),
                Val::Text(&r.publication_state),
                Val::OptText(p.creation_date.as_deref()),
                Val::Bool(r.is_locally_published),
                Val::Bool(r.is_leaf),
                Val::Bool(r.is_bundle),
                Val::Bool(r.explicitly_deployable),
                Val::Bytes(&r.xml_compressed),
                Val::Text(imported_at),
                Val::OptText(r.license.as_ref().and_then(|l| l.eula_id.as_deref())),
                Val::OptText(p.eula_key.as_deref()),
                Val::OptText(p.eula_files.as_deref()),
                Val::Bool(r.license.as_ref().is_some_and(|l| l.needs_user_input)),
                Val::Bool(r.license.is_some()),
            ]);
        },
    )
}

/// Statements for the child rows of the newly inserted revisions (`new`: index into
/// `prepared` and the new id), in foreign-key order.
fn child_statements<'a>(
    style: Placeholders,
    prepared: &'a [Prepared<'a>],
    new: &[(usize, i64)],
    imported_at: &'a str,
) -> Vec<Stmt<'a>> {
    let mut stmts = Vec::new();

    // Files: one row per distinct digest across the batch. The first sighting wins and later
    // ones only fill gaps, as the upsert does against stored rows. Sorted by digest so
    // concurrent PostgreSQL batches lock rows in the same order.
    let mut files: BTreeMap<&str, FileRow<'a>> = BTreeMap::new();
    let mut revision_files: Vec<(i64, &str)> = Vec::new();
    for &(i, id) in new {
        let mut seen = HashSet::new();
        for pf in &prepared[i].files {
            files
                .entry(pf.sha1.as_str())
                .and_modify(|row| row.fill_from(pf))
                .or_insert_with(|| FileRow::from(pf));
            if seen.insert(pf.sha1.as_str()) {
                revision_files.push((id, pf.sha1.as_str()));
            }
        }
    }
    let files: Vec<FileRow<'a>> = files.into_values().collect();
    // A file shared by several revisions is stored once; a later sighting may only fill in
    // details the first one lacked.
    stmts.extend(multi_row(
        style,
        "INSERT INTO files (sha1, sha256, file_name, size, modified, patching_type, mu_url, \
         state, updated_at)",
        "ON CONFLICT (sha1) DO UPDATE SET sha256 = COALESCE(files.sha256, excluded.sha256), \
         mu_url = COALESCE(files.mu_url, excluded.mu_url), \
         modified = COALESCE(files.modified, excluded.modified), \
         patching_type = COALESCE(files.patching_type, excluded.patching_type)",
        9,
        &files,
        |f, v| {
            v.extend([
                Val::Text(f.sha1),
                Val::OptText(f.sha256),
                Val::Text(f.file_name),
                Val::I64(f.size),
                Val::OptText(f.modified),
                Val::OptText(f.patching_type),
                Val::OptText(f.mu_url),
                Val::Text(FileState::Absent.as_str()),
                Val::Text(imported_at),
            ])
        },
    ));
    stmts.extend(multi_row(
        style,
        "INSERT INTO revision_files (revision_id, sha1)",
        "",
        2,
        &revision_files,
        |&(id, sha1), v| v.extend([Val::I64(id), Val::Text(sha1)]),
    ));

    // Duplicate (kind, language) pairs are left to the primary key: they fail the batch.
    let fragments: Vec<(i64, &Fragment)> = new
        .iter()
        .flat_map(|&(i, id)| prepared[i].rev.fragments.iter().map(move |f| (id, f)))
        .collect();
    stmts.extend(multi_row(
        style,
        "INSERT INTO fragments (revision_id, kind, language, body)",
        "",
        4,
        &fragments,
        |&(id, f), v| {
            v.extend([
                Val::I64(id),
                Val::Text(f.kind.as_str()),
                Val::Text(&f.language),
                Val::Bytes(&f.body),
            ])
        },
    ));

    let relationships: Vec<(i64, i32, &Relationship, &str)> = new
        .iter()
        .flat_map(|&(i, id)| {
            let p = &prepared[i];
            p.rev
                .relationships
                .iter()
                .zip(&p.relationship_targets)
                .zip(0..)
                .map(move |((r, target), seq)| (id, seq, r, target.as_str()))
        })
        .collect();
    stmts.extend(multi_row(
        style,
        "INSERT INTO revision_relationships (revision_id, seq, kind, group_no, \
         target_update_id, target_revision_number, is_category)",
        "",
        7,
        &relationships,
        |&(id, seq, r, target), v| {
            v.extend([
                Val::I64(id),
                Val::I32(seq),
                Val::Text(r.kind.as_str()),
                Val::I32(r.group_no),
                Val::Text(target),
                Val::OptI32(r.target_revision_number),
                Val::Bool(r.is_category),
            ])
        },
    ));

    let mut revision_categories: Vec<(i64, &str)> = Vec::new();
    for &(i, id) in new {
        let mut seen = HashSet::new();
        for c in &prepared[i].categories {
            if seen.insert(c.as_str()) {
                revision_categories.push((id, c.as_str()));
            }
        }
    }
    stmts.extend(multi_row(
        style,
        "INSERT INTO revision_categories (revision_id, category_update_id)",
        "",
        2,
        &revision_categories,
        |&(id, c), v| v.extend([Val::I64(id), Val::Text(c)]),
    ));

    // Categories: the newest revision in the batch per category. PostgreSQL refuses an
    // upsert that touches one row twice, hence the de-duplication.
    let mut categories: BTreeMap<&str, &Prepared<'a>> = BTreeMap::new();
    for &(i, _) in new {
        let p = &prepared[i];
        if p.rev.category.is_some() {
            categories
                .entry(p.update_id.as_str())
                .and_modify(|best| {
                    if p.rev.revision_number > best.rev.revision_number {
                        *best = p;
                    }
                })
                .or_insert(p);
        }
    }
    let categories: Vec<(&Prepared<'a>, &NewCategory)> = categories
        .into_values()
        .filter_map(|p| p.rev.category.as_ref().map(|c| (p, c)))
        .collect();
    // Only a revision at least as new as the one the row came from may overwrite it, so an
    // old revision imported late cannot roll a category title back.
    stmts.extend(multi_row(
        style,
        "INSERT INTO categories (update_id, revision_number, category_type, title, \
         parent_update_id)",
        "ON CONFLICT (update_id) DO UPDATE SET revision_number = excluded.revision_number, \
         category_type = excluded.category_type, title = excluded.title, \
         parent_update_id = excluded.parent_update_id \
         WHERE categories.revision_number <= excluded.revision_number",
        5,
        &categories,
        |&(p, c), v| {
            v.extend([
                Val::Text(&p.update_id),
                Val::I32(p.rev.revision_number),
                Val::Text(&c.category_type),
                Val::Text(&c.title),
                Val::OptText(p.category_parent.as_deref()),
            ])
        },
    ));
    stmts
}

/// A file row merged from every sighting in the batch.
struct FileRow<'a> {
    sha1: &'a str,
    sha256: Option<&'a str>,
    file_name: &'a str,
    size: i64,
    modified: Option<&'a str>,
    patching_type: Option<&'a str>,
    mu_url: Option<&'a str>,
}

impl<'a> From<&'a PreparedFile<'a>> for FileRow<'a> {
    fn from(pf: &'a PreparedFile<'a>) -> Self {
        FileRow {
            sha1: &pf.sha1,
            sha256: pf.sha256.as_deref(),
            file_name: &pf.file.file_name,
            size: pf.file.size,
            modified: pf.modified.as_deref(),
            patching_type: pf.file.patching_type.as_deref(),
            mu_url: pf.file.mu_url.as_deref(),
        }
    }
}

impl<'a> FileRow<'a> {
    fn fill_from(&mut self, pf: &'a PreparedFile<'a>) {
        self.sha256 = self.sha256.or(pf.sha256.as_deref());
        self.modified = self.modified.or(pf.modified.as_deref());
        self.patching_type = self.patching_type.or(pf.file.patching_type.as_deref());
        self.mu_url = self.mu_url.or(pf.file.mu_url.as_deref());
    }
}

/// Taken by every ingest transaction on PostgreSQL before it inserts a revision, held until
/// it commits or rolls back.
///
/// Revision ids come from an identity sequence, which hands values out when a row is
/// inserted, not when it commits: without this lock, an import that drew id 10 and is still
/// writing its files can commit after another import that drew 11 committed, and a
/// downstream that asked for its GetRevisionIdList in between got anchor 11 and never hears
/// of 10 (its next delta asks for ids above 11). Holding one lock from before the first id is
/// drawn until commit makes ids commit in increasing order, so every committed id at or below
/// the highest committed one is visible to any reader that sees that one: "id above the
/// anchor" misses nothing. The cost is that concurrent imports write their revisions one
/// transaction at a time, as they already do on SQLite (one writer, `BEGIN IMMEDIATE`),
/// which needs no lock. The key is an arbitrary constant private to this table's writers.
const REVISION_ID_LOCK: &str = "SELECT pg_advisory_xact_lock(7158846203617252411)";

pub(crate) async fn insert_revisions(
    store: &Store,
    revs: &[NewRevision],
) -> Result<Vec<InsertOutcome>> {
    if revs.is_empty() {
        return Ok(Vec::new());
    }
    let prepared = revs.iter().map(prepare).collect::<Result<Vec<_>>>()?;
    let imported_at = ts(now())?;

    // The first occurrence of each identity is the one that may be inserted; repeats within
    // the batch resolve to its id with inserted = false.
    let mut first: HashMap<(&str, i32), usize> = HashMap::with_capacity(prepared.len());
    let mut candidates = Vec::with_capacity(prepared.len());
    for (i, p) in prepared.iter().enumerate() {
        if let std::collections::hash_map::Entry::Vacant(e) =
            first.entry((p.update_id.as_str(), p.rev.revision_number))
        {
            e.insert(i);
            candidates.push(i);
        }
    }
    let style = match store.backend() {
        Backend::Sqlite => Placeholders::Anonymous,
        Backend::Postgres => Placeholders::Numbered,
    };
    let revision_stmts = revision_statements(style, &prepared, &candidates, &imported_at);

    in_tx!(store, tx => {
        if store.backend() == Backend::Postgres {
            sqlx::query(REVISION_ID_LOCK).execute(&mut *tx).await?;
        }
        let mut inserted: HashMap<(String, i32), i64> = HashMap::with_capacity(candidates.len());
        for st in revision_stmts {
            let rows = bind_vals!(sqlx::query(sqlx::AssertSqlSafe(st.sql)), st.vals)
                .fetch_all(&mut *tx)
                .await?;
            for r in &rows {
                inserted.insert((r.text("update_id")?, r.int("revision_number")?), r.big("id")?);
            }
        }
        // Revisions stored before this batch: look their ids up, leave them untouched.
        let known: Vec<&str> = candidates
            .iter()
            .map(|&i| &prepared[i])
            .filter(|p| !inserted.contains_key(&(p.update_id.clone(), p.rev.revision_number)))
            .map(|p| p.update_id.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut existing: HashMap<(String, i32), i64> = HashMap::with_capacity(known.len());
        for st in lookup_statements(style, &known) {
            let rows = bind_vals!(sqlx::query(sqlx::AssertSqlSafe(st.sql)), st.vals)
                .fetch_all(&mut *tx)
                .await?;
            for r in &rows {
                existing.insert((r.text("update_id")?, r.int("revision_number")?), r.big("id")?);
            }
        }
        let mut ids: HashMap<(&str, i32), (i64, bool)> = HashMap::with_capacity(candidates.len());
        let mut new = Vec::with_capacity(inserted.len());
        for &i in &candidates {
            let p = &prepared[i];
            let key = (p.update_id.clone(), p.rev.revision_number);
            let entry = if let Some(&id) = inserted.get(&key) {
                new.push((i, id));
                (id, true)
            } else if let Some(&id) = existing.get(&key) {
                (id, false)
            } else {
                return Err(StoreError::Corrupt(format!(
                    "revision {}/{} neither inserted nor found",
                    key.0, key.1
                )));
            };
            ids.insert((p.update_id.as_str(), p.rev.revision_number), entry);
        }
        for st in child_statements(style, &prepared, &new, &imported_at) {
            bind_vals!(sqlx::query(sqlx::AssertSqlSafe(st.sql)), st.vals)
                .execute(&mut *tx)
                .await?;
        }
        let mut outcomes = Vec::with_capacity(prepared.len());
        for (i, p) in prepared.iter().enumerate() {
            let key = (p.update_id.as_str(), p.rev.revision_number);
            let (id, was_inserted) = ids.get(&key).copied().ok_or_else(|| {
                StoreError::Corrupt(format!("revision {}/{} vanished", key.0, key.1))
            })?;
            outcomes.push(InsertOutcome {
                revision_id: id,
                inserted: was_inserted && first.get(&key) == Some(&i),
            });
        }
        Ok(outcomes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_row_numbers_placeholders_and_splits() {
        let rows: Vec<i64> = (0..5).collect();
        let stmts = multi_row(
            Placeholders::Numbered,
            "INSERT INTO t (a, b)",
            "",
            2,
            &rows,
            |&x, v| v.extend([Val::I64(x), Val::I64(x * 10)]),
        );
        assert_eq!(stmts.len(), 1);
        assert_eq!(
            stmts[0].sql,
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4), ($5, $6), ($7, $8), ($9, $10) "
        );
        assert_eq!(stmts[0].vals.len(), 10);

        let many: Vec<i64> = (0..1_201).collect();
        let stmts = multi_row(
            Placeholders::Anonymous,
            "INSERT INTO t (a)",
            "",
            1,
            &many,
            |&x, v| v.push(Val::I64(x)),
        );
        assert_eq!(
            stmts.iter().map(|s| s.vals.len()).collect::<Vec<_>>(),
            vec![MAX_ROWS, MAX_ROWS, 201]
        );
        assert!(stmts[2].sql.ends_with("(?), (?) "));
        assert!(!stmts[0].sql.contains('$'));
        let wide = multi_row(
            Placeholders::Numbered,
            "INSERT INTO t (a)",
            "",
            18,
            &many,
            |_, v| v.extend([Val::Bool(true); 18]),
        );
        assert!(wide.iter().all(|s| s.vals.len() <= MAX_PARAMS));
        assert_eq!(wide.iter().map(|s| s.vals.len() / 18).sum::<usize>(), 1_201);
    }
}
