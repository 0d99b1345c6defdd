/// What went wrong talking to the database, sorted by what the caller should do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or is overloaded: retry later (HTTP 503).
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// Mandate refused what it read or was given, in its own words.
    #[error("database refused the write: {0}")]
    Refused(String),
    /// The database itself refused the write: a constraint or trigger. Its
    /// text is for the log; only the constraint's name goes to a client.
    #[error("database refused the write ({}): {message}", constraint.as_deref().unwrap_or("unnamed constraint"))]
    Constraint { constraint: Option<String>, message: String },
    #[error("database error: {0}")]
    Other(#[source] sqlx::Error),
    #[error("{0}")]
    Config(String),
    /// The schema cannot be migrated or served as asked, in Mandate's words.
    #[error("{0}")]
    Schema(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
                super::outage::found_unreachable();
                StoreError::Unavailable(e)
            }
            sqlx::Error::Database(ref db) if is_refusal(db.as_ref()) => StoreError::Constraint {
                constraint: db.constraint().map(str::to_owned).or_else(|| trigger_name(db.message())),
                message: db.message().to_owned(),
            },
            other => StoreError::Other(other),
        }
    }
}

/// The `trg_…`/`chk_…` name a trigger or check message starts with.
fn trigger_name(message: &str) -> Option<String> {
    let name: String = message.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    (name.starts_with("trg_") || name.starts_with("chk_")).then_some(name)
}

fn is_refusal(db: &dyn sqlx::error::DatabaseError) -> bool {
    use sqlx::error::ErrorKind;
    matches!(db.kind(), ErrorKind::CheckViolation | ErrorKind::NotNullViolation | ErrorKind::UniqueViolation)
        // SQLite reports a trigger's RAISE(ABORT) as a plain constraint error.
        || db.message().starts_with("trg_")
        || db.code().as_deref() == Some("23514")
}
