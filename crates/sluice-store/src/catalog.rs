//! Catalog: revisions, their fragments, files, relationships and categories.

use std::collections::HashMap;

use uuid::Uuid;

use crate::Store;
use crate::codec::{
    Bind, RowExt, SqlBuilder, bind_all, hex_digest, like_contains, now, parse_uuid, ts, uuid_str,
};
use crate::error::{Result, StoreError};
use crate::types::*;

macro_rules! revision_cols {
    () => {
        "id, update_id, revision_number, update_type, title, description, kb_article, \
         msrc_severity, msrc_number, classification, category_type, publication_state, \
         creation_date, is_locally_published, is_leaf, is_bundle, explicitly_deployable, \
         imported_at, eula_id, eula_key, eula_files, needs_user_input, license_facts"
    };
}

macro_rules! file_cols {
    () => {
        "f.sha1, f.sha256, f.file_name, f.size, f.modified, f.patching_type, f.mu_url, \
         f.state, f.updated_at"
    };
}

fn decode_revision<R: RowExt>(r: &R) -> Result<Revision> {
    Ok(Revision {
        id: r.big("id")?,
        update_id: r.uuid("update_id")?,
        revision_number: r.int("revision_number")?,
        update_type: r.parsed("update_type", UpdateType::parse)?,
        title: r.text("title")?,
        description: r.opt_text("description")?,
        kb_article: r.opt_text("kb_article")?,
        msrc_severity: r.opt_text("msrc_severity")?,
        msrc_number: r.opt_text("msrc_number")?,
        classification: r.opt_uuid("classification")?,
        category_type: r.opt_text("category_type")?,
        publication_state: r.text("publication_state")?,
        creation_date: r.opt_time("creation_date")?,
        is_locally_published: r.flag("is_locally_published")?,
        is_leaf: r.flag("is_leaf")?,
        is_bundle: r.flag("is_bundle")?,
        explicitly_deployable: r.flag("explicitly_deployable")?,
        imported_at: r.time("imported_at")?,
        license: decode_license(r)?,
    })
}

fn decode_license<R: RowExt>(r: &R) -> Result<Option<LicenseFacts>> {
    if !r.flag("license_facts")? {
        return Ok(None);
    }
    Ok(Some(LicenseFacts {
        eula_id: r.opt_text("eula_id")?,
        eula_key: r.opt_uuid("eula_key")?,
        eula_files: r
            .opt_text("eula_files")?
            .map(|f| f.lines().map(str::to_owned).collect())
            .unwrap_or_default(),
        needs_user_input: r.flag("needs_user_input")?,
    }))
}

/// The stored form of [`LicenseFacts::eula_files`].
pub(crate) fn eula_files_text(files: &[String]) -> Option<String> {
    (!files.is_empty()).then(|| files.join("\n"))
}

fn decode_file<R: RowExt>(r: &R) -> Result<FileRecord> {
    Ok(FileRecord {
        sha1: r.text("sha1")?,
        sha256: r.opt_text("sha256")?,
        file_name: r.text("file_name")?,
        size: r.big("size")?,
        modified: r.opt_time("modified")?,
        patching_type: r.opt_text("patching_type")?,
        mu_url: r.opt_text("mu_url")?,
        state: r.parsed("state", FileState::parse)?,
        updated_at: r.time("updated_at")?,
    })
}

fn decode_category<R: RowExt>(r: &R) -> Result<Category> {
    Ok(Category {
        update_id: r.uuid("update_id")?,
        revision_number: r.int("revision_number")?,
        category_type: r.text("category_type")?,
        title: r.text("title")?,
        parent_update_id: r.opt_uuid("parent_update_id")?,
    })
}

fn decode_summary<R: RowExt>(r: &R) -> Result<UpdateSummary> {
    Ok(UpdateSummary {
        revision_id: r.big("id")?,
        update_id: r.uuid("update_id")?,
        revision_number: r.int("revision_number")?,
        update_type: r.parsed("update_type", UpdateType::parse)?,
        title: r.text("title")?,
        description: r.opt_text("description")?,
        kb_article: r.opt_text("kb_article")?,
        msrc_severity: r.opt_text("msrc_severity")?,
        classification: r.opt_uuid("classification")?,
        publication_state: r.text("publication_state")?,
        creation_date: r.opt_time("creation_date")?,
        is_declined: r.flag("is_declined")?,
        needed: r.big("needed")?,
        failed: r.big("failed")?,
        installed: r.big("installed")?,
    })
}

/// Builds the shared `FROM … WHERE …` part of the update listing and its count. It reads only
/// `update_listing`, the narrow row per update that triggers keep (latest revision, flags and
/// counts), and every filter is a predicate on its columns or an indexed lookup, so neither
/// counting nor ordering reads the revisions with their stored documents.
fn update_filter_sql(head: &str, filter: &UpdateFilter) -> SqlBuilder {
    let mut b = SqlBuilder::new(head);
    b.push(" FROM update_listing l WHERE TRUE");
    if !filter.include_categories {
        b.push(" AND l.update_type <> 'Category'");
    }
    if let Some(t) = filter.update_type {
        let p = b.arg(Bind::Text(t.as_str().to_owned()));
        b.push(&format!(" AND l.update_type = {p}"));
    }
    if let Some(text) = filter.text.as_deref().filter(|t| !t.is_empty()) {
        let p = b.arg(Bind::Text(like_contains(text)));
        b.push(&format!(
            " AND (LOWER(l.title) LIKE {p} ESCAPE '\\' \
             OR LOWER(COALESCE(l.description, '')) LIKE {p} ESCAPE '\\' \
             OR LOWER('kb' || COALESCE(l.kb_article, '')) LIKE {p} ESCAPE '\\')"
        ));
    }
    if let Some(kb) = filter.kb.as_deref() {
        let p = b.arg(Bind::Text(normalize_kb(kb)));
        b.push(&format!(" AND l.kb_article = {p}"));
    }
    if let Some(class) = filter.classification.as_deref() {
        let p = b.arg(Bind::Text(category_key(class)));
        b.push(&format!(
            " AND (l.classification = {p} OR l.classification IN \
             (SELECT c.update_id FROM categories c WHERE LOWER(c.title) = LOWER({p})))"
        ));
    }
    if let Some(product) = filter.product.as_deref() {
        let p = b.arg(Bind::Text(category_key(product)));
        // Naming a product family (or company) selects the products below it too.
        b.push(&format!(
            " AND l.revision_id IN (SELECT rc.revision_id FROM revision_categories rc \
             WHERE rc.category_update_id = {p} OR rc.category_update_id IN ( \
             WITH RECURSIVE sel(id) AS ( \
             SELECT c.update_id FROM categories c \
             WHERE c.update_id = {p} OR LOWER(c.title) = LOWER({p}) \
             UNION SELECT c2.update_id FROM categories c2 JOIN sel ON c2.parent_update_id = sel.id) \
             SELECT id FROM sel))"
        ));
    }
    if let Some(sev) = filter.msrc_severity.as_deref() {
        let p = b.arg(Bind::Text(sev.trim().to_ascii_lowercase()));
        b.push(&format!(" AND LOWER(l.msrc_severity) = {p}"));
    }
    match filter.approval {
        None => {}
        Some(ApprovalState::Declined) => b.push(" AND l.declined"),
        Some(ApprovalState::NotDeclined) => b.push(" AND NOT l.declined"),
        Some(ApprovalState::Unapproved) => b.push(" AND NOT l.declined AND NOT l.approved"),
        Some(ApprovalState::Approved) => b.push(" AND l.approved"),
        Some(ApprovalState::ApprovedFor(g)) => {
            // An approval that only says "not approved" does not make an update approved.
            let p = b.arg(Bind::Text(uuid_str(&g)));
            b.push(&format!(
                " AND l.update_id IN (SELECT a.update_id FROM approvals a WHERE a.group_id = {p} \
                 AND a.action <> 'not_approved')"
            ));
        }
    }
    if let Some(superseded) = filter.superseded {
        b.push(if superseded { " AND l.superseded" } else { " AND NOT l.superseded" });
    }
    if let Some(expired) = filter.expired {
        b.push(if expired {
            " AND LOWER(l.publication_state) = 'expired'"
        } else {
            " AND LOWER(l.publication_state) <> 'expired'"
        });
    }
    if let Some(n) = filter.needed_min {
        let p = b.arg(Bind::Big(n));
        b.push(&format!(" AND l.needed >= {p}"));
    }
    if let Some(n) = filter.failed_min {
        let p = b.arg(Bind::Big(n));
        b.push(&format!(" AND l.failed >= {p}"));
    }
    if let Some(t) = filter.released_from {
        let p = b.arg(Bind::Text(ts(t).unwrap_or_default()));
        b.push(&format!(" AND l.creation_date >= {p}"));
    }
    if let Some(t) = filter.released_before {
        let p = b.arg(Bind::Text(ts(t).unwrap_or_default()));
        b.push(&format!(" AND l.creation_date < {p}"));
    }
    b
}

/// The ORDER BY of the update listing; every order ends on the revision id, so pages are
/// stable. The indexes of `update_listing` follow these orders.
fn update_order(filter: &UpdateFilter) -> String {
    let dir = if filter.descending { "DESC" } else { "ASC" };
    match filter.sort {
        None => "l.creation_date DESC NULLS LAST, l.title, l.revision_id".into(),
        Some(UpdateSort::Release) => format!("l.creation_date {dir} NULLS LAST, l.revision_id {dir}"),
        Some(UpdateSort::Title) => format!("l.title {dir}, l.revision_id {dir}"),
        // KB numbers are digits; shorter is smaller.
        Some(UpdateSort::Kb) => {
            format!("LENGTH(l.kb_article) {dir} NULLS LAST, l.kb_article {dir}, l.revision_id {dir}")
        }
        Some(UpdateSort::Needed) => format!("l.needed {dir}, l.revision_id {dir}"),
        Some(UpdateSort::Failed) => format!("l.failed {dir}, l.revision_id {dir}"),
    }
}

/// Category ids are stored lowercase; titles are matched case-insensitively anyway.
fn category_key(s: &str) -> String {
    match Uuid::parse_str(s.trim()) {
        Ok(u) => uuid_str(&u),
        Err(_) => s.trim().to_owned(),
    }
}

/// Ids bound in one `IN (…)` list: well under both backends' parameter limits.
const IDS_PER_QUERY: usize = 500;

/// `$1, $2, …, $n`.
fn numbered(n: usize) -> String {
    (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

fn normalize_kb(kb: &str) -> String {
    let kb = kb.trim();
    match kb.get(..2) {
        Some(prefix) if prefix.eq_ignore_ascii_case("kb") => kb[2..].to_owned(),
        _ => kb.to_owned(),
    }
}

impl Store {
    /// Stores a batch of revisions in one transaction (all or nothing).
    ///
    /// Idempotent on (update_id, revision_number): an existing revision is reported with
    /// `inserted: false` and left unchanged. Files already known are shared, not duplicated.
    pub async fn insert_revisions(&self, revs: &[NewRevision]) -> Result<Vec<InsertOutcome>> {
        crate::ingest::insert_revisions(self, revs).await
    }

    /// A revision by its server-local id.
    pub async fn revision(&self, id: i64) -> Result<Option<Revision>> {
        const SQL: &str = concat!("SELECT ", revision_cols!(), " FROM revisions WHERE id = $1");
        on_read!(self, db => {
            let row = sqlx::query(SQL).bind(id).fetch_optional(db).await?;
            row.as_ref().map(decode_revision).transpose()
        })
    }

    /// The revisions with these ids, in no particular order; ids not stored are left out.
    /// One query per 500 ids, for listings that would otherwise ask once per row.
    pub async fn revisions(&self, ids: &[i64]) -> Result<Vec<Revision>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let sql = format!("SELECT {} FROM revisions WHERE id IN ({})", revision_cols!(), numbered(chunk.len()));
            on_read!(self, db => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for id in chunk {
                    q = q.bind(*id);
                }
                for row in q.fetch_all(db).await? {
                    out.push(decode_revision(&row)?);
                }
            })
        }
        Ok(out)
    }

    /// A revision by its identity.
    pub async fn revision_by_identity(
        &self,
        update_id: Uuid,
        revision_number: i32,
    ) -> Result<Option<Revision>> {
        const SQL: &str = concat!(
            "SELECT ",
            revision_cols!(),
            " FROM revisions WHERE update_id = $1 AND revision_number = $2"
        );
        let uid = uuid_str(&update_id);
        on_read!(self, db => {
            let row = sqlx::query(SQL).bind(&uid).bind(revision_number).fetch_optional(db).await?;
            row.as_ref().map(decode_revision).transpose()
        })
    }

    /// The highest-numbered revision of an update.
    pub async fn latest_revision(&self, update_id: Uuid) -> Result<Option<Revision>> {
        const SQL: &str = concat!(
            "SELECT ",
            revision_cols!(),
            " FROM revisions WHERE update_id = $1 ORDER BY revision_number DESC LIMIT 1"
        );
        let uid = uuid_str(&update_id);
        on_read!(self, db => {
            let row = sqlx::query(SQL).bind(&uid).fetch_optional(db).await?;
            row.as_ref().map(decode_revision).transpose()
        })
    }

    /// The compressed original XML of a revision.
    pub async fn revision_xml(&self, id: i64) -> Result<Option<Vec<u8>>> {
        const SQL: &str = "SELECT xml_compressed FROM revisions WHERE id = $1";
        on_read!(self, db => {
            Ok(sqlx::query_scalar(SQL).bind(id).fetch_optional(db).await?)
        })
    }

    /// All fragments of a revision, ordered by kind then language.
    pub async fn fragments(&self, revision_id: i64) -> Result<Vec<Fragment>> {
        const SQL: &str = "SELECT kind, language, body FROM fragments WHERE revision_id = $1 \
                           ORDER BY kind, language";
        on_read!(self, db => {
            let rows = sqlx::query(SQL).bind(revision_id).fetch_all(db).await?;
            rows.iter()
                .map(|r| {
                    Ok(Fragment {
                        kind: r.parsed("kind", FragmentKind::parse)?,
                        language: r.text("language")?,
                        body: r.blob("body")?,
                    })
                })
                .collect()
        })
    }

    /// One fragment's bytes (`language` is `""` for unlocalized fragments).
    pub async fn fragment(
        &self,
        revision_id: i64,
        kind: FragmentKind,
        language: &str,
    ) -> Result<Option<Vec<u8>>> {
        const SQL: &str = "SELECT body FROM fragments WHERE revision_id = $1 AND kind = $2 \
                           AND language = $3";
        on_read!(self, db => {
            Ok(sqlx::query_scalar(SQL)
                .bind(revision_id)
                .bind(kind.as_str())
                .bind(language)
                .fetch_optional(db)
                .await?)
        })
    }

    /// The files of a revision, ordered by SHA-1.
    pub async fn revision_files(&self, revision_id: i64) -> Result<Vec<FileRecord>> {
        const SQL: &str = concat!(
            "SELECT ",
            file_cols!(),
            " FROM revision_files rf JOIN files f ON f.sha1 = rf.sha1 \
             WHERE rf.revision_id = $1 ORDER BY f.sha1"
        );
        on_read!(self, db => {
            let rows = sqlx::query(SQL).bind(revision_id).fetch_all(db).await?;
            rows.iter().map(decode_file).collect()
        })
    }

    /// The relationships of a revision, in their original order.
    pub async fn relationships(&self, revision_id: i64) -> Result<Vec<Relationship>> {
        const SQL: &str = "SELECT kind, group_no, target_update_id, target_revision_number, \
                           is_category FROM revision_relationships WHERE revision_id = $1 \
                           ORDER BY seq";
        on_read!(self, db => {
            let rows = sqlx::query(SQL).bind(revision_id).fetch_all(db).await?;
            rows.iter()
                .map(|r| {
                    Ok(Relationship {
                        kind: r.parsed("kind", RelationshipKind::parse)?,
                        group_no: r.int("group_no")?,
                        target_update_id: r.uuid("target_update_id")?,
                        target_revision_number: r.opt_int("target_revision_number")?,
                        is_category: r.flag("is_category")?,
                    })
                })
                .collect()
        })
    }

    /// Ids of the revisions that have a relationship of `kind` to `target_update_id`
    /// (e.g. who supersedes or bundles an update).
    pub async fn revisions_related_to(
        &self,
        target_update_id: Uuid,
        kind: RelationshipKind,
    ) -> Result<Vec<i64>> {
        const SQL: &str = "SELECT DISTINCT revision_id FROM revision_relationships \
                           WHERE target_update_id = $1 AND kind = $2 ORDER BY revision_id";
        let uid = uuid_str(&target_update_id);
        on_read!(self, db => {
            Ok(sqlx::query_scalar(SQL).bind(&uid).bind(kind.as_str()).fetch_all(db).await?)
        })
    }

    /// The product and classification categories of a revision.
    pub async fn revision_categories(&self, revision_id: i64) -> Result<Vec<Uuid>> {
        const SQL: &str = "SELECT category_update_id FROM revision_categories \
                           WHERE revision_id = $1 ORDER BY category_update_id";
        on_read!(self, db => {
            let ids: Vec<String> = sqlx::query_scalar(SQL).bind(revision_id).fetch_all(db).await?;
            ids.iter().map(|s| parse_uuid(s)).collect()
        })
    }

    /// The categories of each of these revisions (sorted; a revision without any is absent).
    pub async fn categories_of_revisions(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<Uuid>>> {
        let mut out: HashMap<i64, Vec<Uuid>> = HashMap::new();
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let sql = format!(
                "SELECT revision_id, category_update_id FROM revision_categories WHERE revision_id IN ({}) \
                 ORDER BY revision_id, category_update_id",
                numbered(chunk.len())
            );
            on_read!(self, db => {
                let mut q = sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(sql));
                for id in chunk {
                    q = q.bind(*id);
                }
                for (rev, cat) in q.fetch_all(db).await? {
                    out.entry(rev).or_default().push(parse_uuid(&cat)?);
                }
            })
        }
        Ok(out)
    }

    /// Every known category, ordered by type then title.
    pub async fn list_categories(&self) -> Result<Vec<Category>> {
        const SQL: &str = "SELECT update_id, revision_number, category_type, title, \
                           parent_update_id FROM categories ORDER BY category_type, title, update_id";
        on_read!(self, db => {
            let rows = sqlx::query(SQL).fetch_all(db).await?;
            rows.iter().map(decode_category).collect()
        })
    }

    /// A category by id.
    pub async fn category(&self, update_id: Uuid) -> Result<Option<Category>> {
        const SQL: &str = "SELECT update_id, revision_number, category_type, title, \
                           parent_update_id FROM categories WHERE update_id = $1";
        let uid = uuid_str(&update_id);
        on_read!(self, db => {
            let row = sqlx::query(SQL).bind(&uid).fetch_optional(db).await?;
            row.as_ref().map(decode_category).transpose()
        })
    }

    /// A category by title (ASCII case-insensitive); the lowest id wins on duplicates.
    pub async fn category_by_title(&self, title: &str) -> Result<Option<Category>> {
        const SQL: &str = "SELECT update_id, revision_number, category_type, title, \
                           parent_update_id FROM categories WHERE LOWER(title) = LOWER($1) \
                           ORDER BY update_id LIMIT 1";
        on_read!(self, db => {
            let row = sqlx::query(SQL).bind(title).fetch_optional(db).await?;
            row.as_ref().map(decode_category).transpose()
        })
    }

    /// The latest revision of each update matching `filter`, newest creation date first
    /// (undated last), then by title.
    pub async fn list_updates(&self, filter: &UpdateFilter) -> Result<Vec<UpdateSummary>> {
        let mut b = update_filter_sql(
            "SELECT l.revision_id AS id, l.update_id, l.revision_number, l.update_type, l.title, \
             l.description, l.kb_article, l.msrc_severity, l.classification, \
             l.publication_state, l.creation_date, l.declined AS is_declined, l.needed, l.failed, \
             l.installed",
            filter,
        );
        b.push(&format!(" ORDER BY {}", update_order(filter)));
        let limit = filter.limit.unwrap_or(-1);
        if limit >= 0 || filter.offset > 0 {
            // PostgreSQL has no "-1 means unlimited"; a huge limit is portable.
            let l = b.arg(Bind::Big(if limit >= 0 { limit } else { i64::MAX }));
            let o = b.arg(Bind::Big(filter.offset.max(0)));
            b.push(&format!(" LIMIT {l} OFFSET {o}"));
        }
        let sql = sqlx::AssertSqlSafe(b.sql);
        on_read!(self, db => {
            let rows = bind_all!(sqlx::query(sql), &b.binds).fetch_all(db).await?;
            rows.iter().map(decode_summary).collect()
        })
    }

    /// How many updates [`Store::list_updates`] would return without limit and offset.
    pub async fn count_updates(&self, filter: &UpdateFilter) -> Result<i64> {
        let b = update_filter_sql("SELECT COUNT(*)", filter);
        let sql = sqlx::AssertSqlSafe(b.sql);
        on_read!(self, db => {
            Ok(bind_all!(sqlx::query_scalar(sql), &b.binds).fetch_one(db).await?)
        })
    }

    /// Number of stored revisions.
    pub async fn count_revisions(&self) -> Result<i64> {
        on_read!(self, db => {
            Ok(sqlx::query_scalar("SELECT COUNT(*) FROM revisions").fetch_one(db).await?)
        })
    }

    /// Every revision id, ascending.
    pub async fn all_revision_ids(&self) -> Result<Vec<i64>> {
        on_read!(self, db => {
            Ok(sqlx::query_scalar("SELECT id FROM revisions ORDER BY id").fetch_all(db).await?)
        })
    }

    /// Every revision's id and identity, ascending by id.
    pub async fn all_revision_keys(&self) -> Result<Vec<RevisionKey>> {
        const SQL: &str = "SELECT id, update_id, revision_number FROM revisions ORDER BY id";
        on_read!(self, db => {
            let rows = sqlx::query(SQL).fetch_all(db).await?;
            rows.iter()
                .map(|r| {
                    Ok(RevisionKey {
                        id: r.big("id")?,
                        update_id: r.uuid("update_id")?,
                        revision_number: r.int("revision_number")?,
                    })
                })
                .collect()
        })
    }

    /// A file by SHA-1 (hex, any case).
    pub async fn file(&self, sha1: &str) -> Result<Option<FileRecord>> {
        const SQL: &str = concat!("SELECT ", file_cols!(), " FROM files f WHERE f.sha1 = $1");
        let sha1 = hex_digest("sha1", sha1, 40)?;
        on_read!(self, db => {
            let row = sqlx::query(SQL).bind(&sha1).fetch_optional(db).await?;
            row.as_ref().map(decode_file).transpose()
        })
    }

    /// Sets a file's download state; `NotFound` if the file is unknown.
    pub async fn set_file_state(&self, sha1: &str, state: FileState) -> Result<()> {
        const SQL: &str = "UPDATE files SET state = $1, updated_at = $2 WHERE sha1 = $3";
        let sha1 = hex_digest("sha1", sha1, 40)?;
        let at = ts(now())?;
        let done = on_write!(self, db => {
            sqlx::query(SQL).bind(state.as_str()).bind(&at).bind(&sha1).execute(db).await?
                .rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound(format!("file {sha1}")));
        }
        Ok(())
    }

    /// Every file in `state`, ordered by SHA-1.
    pub async fn files_in_state(&self, state: FileState) -> Result<Vec<FileRecord>> {
        const SQL: &str = concat!(
            "SELECT ",
            file_cols!(),
            " FROM files f WHERE f.state = $1 ORDER BY f.sha1"
        );
        on_read!(self, db => {
            let rows = sqlx::query(SQL).bind(state.as_str()).fetch_all(db).await?;
            rows.iter().map(decode_file).collect()
        })
    }
}

/// Whole-catalog reads, for building the in-memory index that serves clients: a handful of
/// sequential scans instead of several queries per revision.
impl Store {
    /// Every revision, in id order.
    pub async fn all_revisions(&self) -> Result<Vec<Revision>> {
        const SQL: &str = concat!("SELECT ", revision_cols!(), " FROM revisions ORDER BY id");
        on_read!(self, db => {
            let rows = sqlx::query(SQL).fetch_all(db).await?;
            rows.iter().map(decode_revision).collect()
        })
    }

    /// Every relationship as (revision id, relationship), by revision then original order.
    pub async fn all_relationships(&self) -> Result<Vec<(i64, Relationship)>> {
        const SQL: &str = "SELECT revision_id, kind, group_no, target_update_id, \
                           target_revision_number, is_category FROM revision_relationships \
                           ORDER BY revision_id, seq";
        on_read!(self, db => {
            let rows = sqlx::query(SQL).fetch_all(db).await?;
            rows.iter()
                .map(|r| {
                    Ok((
                        r.big("revision_id")?,
                        Relationship {
                            kind: r.parsed("kind", RelationshipKind::parse)?,
                            group_no: r.int("group_no")?,
                            target_update_id: r.uuid("target_update_id")?,
                            target_revision_number: r.opt_int("target_revision_number")?,
                            is_category: r.flag("is_category")?,
                        },
                    ))
                })
                .collect()
        })
    }

    /// The fragment of `kind` in `language` (`""` for none) of every revision that has one.
    pub async fn all_fragments(&self, kind: FragmentKind, language: &str) -> Result<Vec<(i64, Vec<u8>)>> {
        const SQL: &str = "SELECT revision_id, body FROM fragments WHERE kind = $1 AND language = $2 \
                           ORDER BY revision_id";
        on_read!(self, db => {
            let rows = sqlx::query(SQL).bind(kind.as_str()).bind(language).fetch_all(db).await?;
            rows.iter().map(|r| Ok((r.big("revision_id")?, r.blob("body")?))).collect()
        })
    }

    /// Every (revision id, file) pair.
    pub async fn all_revision_files(&self) -> Result<Vec<(i64, FileRecord)>> {
        const SQL: &str = concat!(
            "SELECT rf.revision_id, ",
            file_cols!(),
            " FROM revision_files rf JOIN files f ON f.sha1 = rf.sha1 ORDER BY rf.revision_id, f.sha1"
        );
        on_read!(self, db => {
            let rows = sqlx::query(SQL).fetch_all(db).await?;
            rows.iter().map(|r| Ok((r.big("revision_id")?, decode_file(r)?))).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kb_prefix_is_stripped() {
        assert_eq!(normalize_kb("KB5031356"), "5031356");
        assert_eq!(normalize_kb("kb123"), "123");
        assert_eq!(normalize_kb(" 42 "), "42");
    }

    #[test]
    fn category_keys_are_normalised_uuids_or_titles() {
        assert_eq!(
            category_key("E6CF1350-C01B-414D-A61F-263D14D133B4"),
            "e6cf1350-c01b-414d-a61f-263d14d133b4"
        );
        assert_eq!(category_key(" Security Updates "), "Security Updates");
    }
}
