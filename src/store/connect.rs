use super::{StoreError, migrate};
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Config(format!(
                "unsupported database URL {:?}: expected sqlite://PATH or postgres://…",
                redact(url)
            )))
        }
    }
}

/// The database, with separate pools for reads and writes.
///
/// SQLite allows one writer at a time; giving writes a single connection makes
/// them queue in the pool instead of spinning on `SQLITE_BUSY`, while WAL lets
/// the read pool proceed in parallel. PostgreSQL shares one pool for both.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) read: AnyPool,
    pub(crate) write: AnyPool,
    backend: Backend,
}

/// Where the embedded database lives by default: `$XDG_DATA_HOME/mandate/mandate.db`.
pub fn default_sqlite_url() -> String {
    let dir = dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("mandate");
    format!("sqlite://{}", dir.join("mandate.db").display())
}

/// The URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..])
        }
        _ => url.to_owned(),
    }
}

impl Store {
    /// Connects and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let store = match backend {
            Backend::Sqlite => Self::connect_sqlite(url).await?,
            Backend::Postgres => Self::connect_postgres(url).await?,
        };
        migrate::run(&store.write, backend).await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    async fn connect_sqlite(url: &str) -> Result<Store, StoreError> {
        let path = url
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:");
        let path = path.split('?').next().unwrap_or(path);
        let parent = Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty());
        if let Some(parent) = parent.filter(|_| path != ":memory:") {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Config(format!(
                    "cannot create the database directory {}: {e}",
                    parent.display()
                ))
            })?;
        }
        let url = if url.contains("mode=") {
            url.to_owned()
        } else if url.contains('?') {
            format!("{url}&mode=rwc")
        } else {
            format!("{url}?mode=rwc")
        };
        let options = || {
            AnyPoolOptions::new().acquire_timeout(Duration::from_secs(5)).after_connect(|conn, _meta| {
                Box::pin(async move {
                    // WAL: readers never block the writer. NORMAL: a commit survives
                    // a killed process; only an OS crash can lose the last commits.
                    conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;")
                        .await?;
                    Ok(())
                })
            })
        };
        let write = options().max_connections(1).connect(&url).await?;
        let read = options().max_connections(4).connect(&url).await?;
        Ok(Store {
            read,
            write,
            backend: Backend::Sqlite,
        })
    }

    async fn connect_postgres(url: &str) -> Result<Store, StoreError> {
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            // A request waiting on a dead database fails with 503, it does not hang.
            .acquire_timeout(Duration::from_secs(3))
            .connect(url)
            .await?;
        Ok(Store {
            read: pool.clone(),
            write: pool,
            backend: Backend::Postgres,
        })
    }

    /// Waits until the pools have closed their connections.
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }

    /// The database itself, bypassing the API: for operators' checks and the
    /// constraint tests that prove the database refuses bad rows on its own.
    pub fn pool(&self) -> &AnyPool {
        &self.write
    }

    /// Checks the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://mandate:s3cret@db:5432/mandate"),
            "postgres://mandate:***@db:5432/mandate"
        );
        assert_eq!(
            redact("sqlite:///var/lib/mandate.db"),
            "sqlite:///var/lib/mandate.db"
        );
    }

    #[test]
    fn only_sqlite_and_postgres_urls_are_accepted() {
        assert_eq!(
            Backend::from_url("sqlite:///tmp/x.db").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db").unwrap(),
            Backend::Postgres
        );
        let err = Backend::from_url("mysql://u:pw@h/db")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("mysql://u:***@h/db") && !err.contains("pw"),
            "{err}"
        );
    }
}
