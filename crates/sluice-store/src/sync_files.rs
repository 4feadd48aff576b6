//! File details learnt from an upstream sync.

use crate::Store;
use crate::codec::{hex_digest, now, ts};
use crate::error::{Result, StoreError};

impl Store {
    /// Records where Microsoft serves a file. Update documents do not carry it; GetUpdateData's
    /// `fileUrls` do, after the revision was stored. `NotFound` if the file is unknown.
    pub async fn set_file_mu_url(&self, sha1: &str, mu_url: &str) -> Result<()> {
        const SQL: &str = "UPDATE files SET mu_url = $1, updated_at = $2 WHERE sha1 = $3";
        let sha1 = hex_digest("sha1", sha1, 40)?;
        let at = ts(now())?;
        let done = on_write!(self, db => {
            sqlx::query(SQL).bind(mu_url).bind(&at).bind(&sha1).execute(db).await?.rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound(format!("file {sha1}")));
        }
        Ok(())
    }
}
