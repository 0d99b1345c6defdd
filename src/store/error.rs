/// What went wrong talking to the database, sorted by what the caller should do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or is overloaded: retry later (HTTP 503).
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// The database refused the write: a CHECK constraint or trigger, named.
    #[error("database refused the write: {0}")]
    Refused(String),
    #[error("database error: {0}")]
    Other(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Config(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
                StoreError::Unavailable(e)
            }
            sqlx::Error::Database(ref db) if is_refusal(db.as_ref()) => StoreError::Refused(db.message().to_owned()),
            other => StoreError::Other(other),
        }
    }
}

fn is_refusal(db: &dyn sqlx::error::DatabaseError) -> bool {
    use sqlx::error::ErrorKind;
    matches!(db.kind(), ErrorKind::CheckViolation | ErrorKind::NotNullViolation | ErrorKind::UniqueViolation)
        // SQLite reports a trigger's RAISE(ABORT) as a plain constraint error.
        || db.message().starts_with("trg_")
        || db.code().as_deref() == Some("23514")
}
