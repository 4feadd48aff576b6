//! The store's error type.

use sqlx::error::ErrorKind;

/// Result alias used by every store method.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything a store method can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The addressed row (or a row it references) does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The operation clashes with existing data (duplicate key, protected row, wrong state).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The caller passed a value the store refuses (bad digest, bad timestamp, constraint check).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A stored value could not be decoded (for example a malformed UUID or timestamp).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The database URL names no supported backend.
    #[error("unsupported database url: {0}")]
    UnsupportedUrl(String),
    /// Any other database failure (connection, I/O, protocol).
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// Applying the embedded migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Preparing the database location failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        // Constraint violations are the caller's business (duplicates, dangling references,
        // out-of-range values); surface them as typed errors so handlers can map them to
        // 409/404/400 without parsing backend-specific messages.
        if let sqlx::Error::Database(db) = &err {
            let message = db.message().to_owned();
            match db.kind() {
                ErrorKind::UniqueViolation | ErrorKind::ForeignKeyViolation => {
                    return StoreError::Conflict(message);
                }
                ErrorKind::CheckViolation | ErrorKind::NotNullViolation => {
                    return StoreError::InvalidInput(message);
                }
                _ => {}
            }
        }
        match err {
            sqlx::Error::RowNotFound => StoreError::NotFound("row".to_owned()),
            other => StoreError::Database(other),
        }
    }
}

impl StoreError {
    /// True for [`StoreError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, StoreError::NotFound(_))
    }

    /// True for [`StoreError::Conflict`].
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict(_))
    }
}
