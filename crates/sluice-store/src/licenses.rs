//! License facts of stored revisions: deriving them for revisions stored before they were
//! kept (the caller parses the documents; the store knows no XML), and which revisions'
//! license terms were accepted.

use std::collections::HashSet;

use crate::Store;
use crate::codec::uuid_str;
use crate::error::Result;
use crate::types::LicenseFacts;

impl Store {
    /// Up to `limit` revisions with ids above `after` whose license facts were never derived,
    /// lowest id first, each with its compressed original document. Empty once every revision
    /// has its facts (or every one left was passed over).
    pub async fn revisions_without_license_facts(&self, after: i64, limit: i64) -> Result<Vec<(i64, Vec<u8>)>> {
        const SQL: &str = "SELECT id, xml_compressed FROM revisions WHERE license_facts = FALSE AND id > $1 \
             ORDER BY id LIMIT $2";
        on_read!(self, db => {
            Ok(sqlx::query_as(SQL).bind(after).bind(limit.max(0)).fetch_all(db).await?)
        })
    }

    /// Records the license facts of stored revisions, all in one transaction. Recording them
    /// again writes the same values (the facts follow from the document, which never changes).
    pub async fn set_license_facts(&self, facts: &[(i64, LicenseFacts)]) -> Result<()> {
        const SQL: &str = "UPDATE revisions SET eula_id = $1, eula_key = $2, eula_files = $3, \
             needs_user_input = $4, license_facts = TRUE WHERE id = $5";
        in_tx!(self, tx => {
            for (id, f) in facts {
                sqlx::query(SQL)
                    .bind(f.eula_id.as_deref())
                    .bind(f.eula_key.as_ref().map(uuid_str))
                    .bind(crate::catalog::eula_files_text(&f.eula_files))
                    .bind(f.needs_user_input)
                    .bind(*id)
                    .execute(&mut *tx)
                    .await?;
            }
        });
        Ok(())
    }

    /// Ids of the revisions whose license terms were accepted (by their license key): what a
    /// replica is told in GetDeployments' AcceptedEulas, without reading any document.
    pub async fn revisions_with_accepted_license(&self) -> Result<HashSet<i64>> {
        const SQL: &str = "SELECT r.id FROM revisions r \
             JOIN eula_acceptances a ON a.eula_id = r.eula_key";
        on_read!(self, db => {
            let ids: Vec<i64> = sqlx::query_scalar(SQL).fetch_all(db).await?;
            Ok(ids.into_iter().collect())
        })
    }
}
