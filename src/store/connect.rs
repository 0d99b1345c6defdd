use super::claim::{self, ServerClaim};
use super::run_writer::RunWriter;
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
    /// Rows per INSERT in bulk writes. On SQLite each statement is a round
    /// trip to the driver's worker thread, and the driver's cost per bound
    /// parameter grows with the statement's size: 25 rows measured fastest
    /// (OTLP 13,468 spans/s and JSON 8,021 events/s, against 6,311 and 5,923
    /// with one row, on the same day; 100 rows was slower than one).
    /// PostgreSQL pays a network round trip per statement: 100 rows.
    pub fn rows_per_insert(self) -> usize {
        match self {
            Backend::Sqlite => 25,
            Backend::Postgres => 100,
        }
    }

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
    pub(crate) run_writer: RunWriter,
    backend: Backend,
    url: std::sync::Arc<str>,
    /// This process's claim to serve the database, once taken; released by `close`.
    claim: std::sync::Arc<parking_lot::Mutex<Option<ServerClaim>>>,
}

// WAL: readers never block the writer. NORMAL: a commit survives a killed
// process; only an OS crash or power loss can lose the last commits.
const SQLITE_PRAGMAS: &str =
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;";

/// Copies the WAL back into the database twice a second from a reader
/// connection, so that the single writer never pays for a checkpoint while
/// requests wait on it. Ends when the pool closes.
fn spawn_checkpointer(pool: AnyPool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !pool.is_closed() {
            tick.tick().await;
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
                if pool.is_closed() {
                    break;
                }
                tracing::warn!(error = %e, "WAL checkpoint failed; retrying");
            }
        }
    });
}

/// Where the embedded database lives by default: `$XDG_DATA_HOME/mandate/mandate.db`.
pub fn default_sqlite_url() -> String {
    let dir = dirs::data_dir().unwrap_or_else(|| PathBuf::from(".")).join("mandate");
    format!("sqlite://{}", dir.join("mandate.db").display())
}

/// The database file of a SQLite URL; `None` for an in-memory database.
pub(super) fn sqlite_path(url: &str) -> Option<PathBuf> {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or(path);
    (path != ":memory:" && !path.is_empty() && !url.contains("mode=memory")).then(|| PathBuf::from(path))
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
        let store = Self::connect_unmigrated(url).await?;
        migrate::up(&store.write, store.backend, None, log_step).await?;
        Ok(store)
    }

    /// Connects to serve the database: claims it first (see
    /// `claim_to_serve`), so that a server refused beside another never
    /// migrates the schema under it, then brings the schema up to date. A
    /// `standby` server waits for the claim instead of being refused, and
    /// takes over when the server holding it stops or dies.
    pub async fn connect_to_serve(url: &str, standby: bool) -> Result<Store, StoreError> {
        let store = Self::connect_unmigrated(url).await?;
        if standby {
            let claim = claim::claim_when_free(url, store.backend, |holder| {
                tracing::warn!(%holder, "standing by: this server takes over when the one serving the database stops");
            })
            .await?;
            store.hold(claim);
            tracing::info!("the database is free: taking over");
        } else {
            store.claim_to_serve().await?;
        }
        migrate::up(&store.write, store.backend, None, log_step).await?;
        Ok(store)
    }

    /// Where the schema at `url` stands against this binary, changing
    /// nothing (`mandate migrate status`).
    pub async fn schema_status(url: &str) -> Result<(Backend, migrate::SchemaStatus), StoreError> {
        let store = Self::connect_unmigrated(url).await?;
        let status = migrate::status(&store.write, store.backend).await;
        store.close().await;
        Ok((store.backend, status?))
    }

    /// The servers seen on the database at `url` in the last two minutes;
    /// None when its schema keeps no server list (before 0024).
    pub async fn servers_at(url: &str) -> Result<Option<Vec<super::ServerSeen>>, StoreError> {
        let store = Self::connect_unmigrated(url).await?;
        let seen = store.servers_seen(chrono::Utc::now()).await;
        store.close().await;
        Ok(seen.ok())
    }

    /// Applies the pending migrations (`mandate migrate up`), telling
    /// `on_step` of each as it is done; where the schema stands after.
    pub async fn migrate_up(
        url: &str,
        to: Option<i64>,
        on_step: impl FnMut(&migrate::Applied),
    ) -> Result<migrate::SchemaStatus, StoreError> {
        let store = Self::connect_unmigrated(url).await?;
        let done = migrate::up(&store.write, store.backend, to, on_step).await;
        let status = migrate::status(&store.write, store.backend).await;
        store.close().await;
        done?;
        status
    }

    /// Undoes the migrations above `to` (`mandate migrate down`): the plan,
    /// carried out unless `dry_run`. Refuses to drop rows that exist unless
    /// `force`.
    pub async fn migrate_down(
        url: &str,
        to: i64,
        force: bool,
        dry_run: bool,
        on_step: impl FnMut(&migrate::Applied),
    ) -> Result<Vec<migrate::DownPlan>, StoreError> {
        let store = Self::connect_unmigrated(url).await?;
        let done = migrate::down(&store.write, store.backend, to, force, dry_run, on_step).await;
        store.close().await;
        done
    }

    async fn connect_unmigrated(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let mut store = match Backend::from_url(url)? {
            Backend::Sqlite => Self::connect_sqlite(url).await?,
            Backend::Postgres => Self::connect_postgres(url).await?,
        };
        store.url = url.into();
        Ok(store)
    }

    fn from_pools(read: AnyPool, write: AnyPool, backend: Backend) -> Store {
        let run_writer = RunWriter::spawn(write.clone(), backend);
        Store { read, write, run_writer, backend, url: "".into(), claim: Default::default() }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    async fn connect_sqlite(url: &str) -> Result<Store, StoreError> {
        let path = sqlite_path(url);
        if let Some(parent) = path.as_deref().and_then(Path::parent).filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Config(format!("cannot create the database directory {}: {e}", parent.display()))
            })?;
        }
        let url = if url.contains("mode=") {
            url.to_owned()
        } else if url.contains('?') {
            format!("{url}&mode=rwc")
        } else {
            format!("{url}?mode=rwc")
        };
        let write = AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(SQLITE_PRAGMAS).await?;
                    // Checkpoints (and their fsync) are the background task's
                    // job; this limit is only a safety net.
                    conn.execute("PRAGMA wal_autocheckpoint = 20000;").await?;
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        let read = AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(SQLITE_PRAGMAS).await?;
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        spawn_checkpointer(read.clone());
        Ok(Store::from_pools(read, write, Backend::Sqlite))
    }

    async fn connect_postgres(url: &str) -> Result<Store, StoreError> {
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            // A request waiting on a dead database fails with 503, it does
            // not hang: within this, and within the server's outage bound
            // (`server::outage`) however many waits a request makes.
            .acquire_timeout(Duration::from_secs(2))
            // Every statement is planned for the table as it is now. A
            // prepared statement's generic plan, fixed by its sixth run,
            // would otherwise keep what suited the tables when they were
            // small (a sequential scan of events, a page then, a second a
            // million rows later) until the next ANALYZE: on a new
            // database, ingest fell to a third at random.
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("SET plan_cache_mode = force_custom_plan").await?;
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        Ok(Store::from_pools(pool.clone(), pool, Backend::Postgres))
    }

    /// Claims the database for this process to serve (see `claim`): a
    /// SQLite file is refused when another server holds it; on PostgreSQL
    /// the background duties are taken when free. Held until `close`.
    /// Claiming twice is a no-op.
    pub async fn claim_to_serve(&self) -> Result<(), StoreError> {
        if self.claim.lock().is_some() {
            return Ok(());
        }
        self.hold(claim::claim(&self.url, self.backend).await?);
        Ok(())
    }

    /// Whether this process holds the background duties: always for the
    /// server of a SQLite file; for PostgreSQL, one server at a time.
    pub fn holds_duties(&self) -> bool {
        self.claim.lock().as_ref().is_some_and(ServerClaim::holds_duties)
    }

    /// The database URL this store was connected with.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    fn hold(&self, claim: ServerClaim) {
        *self.claim.lock() = Some(claim);
    }

    /// Waits until the pools have closed their connections, and lets go of
    /// the claim to serve the database.
    pub async fn close(&self) {
        self.claim.lock().take();
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

fn log_step(step: &migrate::Applied) {
    tracing::info!(
        version = step.version,
        migration = %step.description,
        took_ms = step.took.as_millis() as u64,
        "schema migration applied"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact("postgres://mandate:s3cret@db:5432/mandate"), "postgres://mandate:***@db:5432/mandate");
        assert_eq!(redact("sqlite:///var/lib/mandate.db"), "sqlite:///var/lib/mandate.db");
    }

    #[test]
    fn only_sqlite_and_postgres_urls_are_accepted() {
        assert_eq!(Backend::from_url("sqlite:///tmp/x.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::from_url("postgresql://u@h/db").unwrap(), Backend::Postgres);
        let err = Backend::from_url("mysql://u:pw@h/db").unwrap_err().to_string();
        assert!(err.contains("mysql://u:***@h/db") && !err.contains("pw"), "{err}");
    }
}
