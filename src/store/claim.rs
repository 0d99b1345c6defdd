//! Which server does what on a database.
//!
//! - SQLite: one server per file. Its incident desk is the only writer, so
//!   a second process on the same file is refused: an exclusive `flock` on
//!   `<database>.lock` beside the file, which also names the holder's pid.
//!   The kernel drops it when the process dies.
//! - PostgreSQL: any number of servers serve at once (see `head`), and one
//!   of them holds the background duties (analysis, the paging outbox and
//!   escalation timers): the one holding a session-level advisory lock on a
//!   connection of its own, whose `application_name` names it. PostgreSQL
//!   drops the lock when the connection ends; the others try for it twice a
//!   second, so the duties move within about a second of a server's death.
use super::connect::sqlite_path;
use super::{Backend, StoreError};
use sqlx::{AnyConnection, Connection, Executor, Row};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::oneshot;

/// The advisory lock key: "MAND" in ASCII. Advisory locks are scoped to one
/// database, so servers of other databases on the same cluster never meet.
const ADVISORY_KEY: i64 = 0x4D41_4E44;

/// How long a server waits for a claim before refusing: covers a predecessor
/// that was killed a moment ago and whose connection is still closing.
const CLAIM_PATIENCE: Duration = Duration::from_secs(2);

/// How often the connection holding the duties is checked.
const KEEPER_INTERVAL: Duration = Duration::from_secs(2);

/// Held while this process serves the database; dropping it releases it.
#[derive(Debug)]
pub struct ServerClaim {
    _hold: Hold,
    /// Whether this process holds the background duties now.
    duties: Arc<AtomicBool>,
}

impl ServerClaim {
    pub fn holds_duties(&self) -> bool {
        self.duties.load(Ordering::Relaxed)
    }
}

#[derive(Debug)]
enum Hold {
    /// `:memory:` databases are private to their process.
    Private,
    File {
        _lock: File,
    },
    /// Dropping the sender stops the keeper, which closes its connection.
    Advisory {
        _keeper: oneshot::Sender<()>,
    },
}

/// This machine's name, as a claim, the server list and a migration's
/// attempt record it.
pub(super) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown host".to_owned())
}

/// Who this process is, as another server's refusal and the database's
/// server list name it.
pub fn holder_name() -> String {
    format!("mandate serve on {}, pid {}", host_name(), std::process::id())
}

/// Claims the database at `url` for this process, or says who holds it
/// (SQLite). On PostgreSQL it never refuses: the duties are this server's
/// at once if no other server holds them, and later when they are free.
pub async fn claim(url: &str, backend: Backend) -> Result<ServerClaim, StoreError> {
    match backend {
        Backend::Postgres => Ok(share_duties(url).await),
        Backend::Sqlite => claim_once(url, backend, CLAIM_PATIENCE).await.map_err(Refusal::into_error),
    }
}

/// Waits until the database (SQLite) or its duties (PostgreSQL) are free,
/// then claims them: a standby server, taking over within a second when the
/// one serving dies. `waiting` is told who holds it, once.
pub async fn claim_when_free(url: &str, backend: Backend, waiting: impl Fn(&str)) -> Result<ServerClaim, StoreError> {
    let mut told = false;
    loop {
        match claim_once(url, backend, Duration::ZERO).await {
            Ok(claim) => return Ok(claim),
            Err(Refusal::Held(message)) => {
                if !told {
                    waiting(&message);
                    told = true;
                }
                tokio::time::sleep(STANDBY_POLL).await;
            }
            Err(Refusal::Failed(e)) => return Err(e),
        }
    }
}

/// How often a standby tries to take the database.
const STANDBY_POLL: Duration = Duration::from_millis(500);

/// Why a claim was not taken.
enum Refusal {
    /// Another server holds it: what to say.
    Held(String),
    Failed(StoreError),
}

impl Refusal {
    fn into_error(self) -> StoreError {
        match self {
            Refusal::Held(message) => StoreError::Config(message),
            Refusal::Failed(e) => e,
        }
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Failed(e)
    }
}

/// One attempt, waiting up to `patience` for a predecessor's connection to close.
async fn claim_once(url: &str, backend: Backend, patience: Duration) -> Result<ServerClaim, Refusal> {
    let hold = match backend {
        Backend::Sqlite => match sqlite_path(url) {
            None => Hold::Private,
            Some(path) => Hold::File { _lock: claim_file(&path)? },
        },
        Backend::Postgres => {
            let (keeper, duties) = claim_advisory(url, patience).await?;
            return Ok(ServerClaim { _hold: Hold::Advisory { _keeper: keeper }, duties });
        }
    };
    Ok(ServerClaim { _hold: hold, duties: Arc::new(AtomicBool::new(true)) })
}

/// A PostgreSQL server among others: it holds the duties now if they are
/// free, and keeps trying for them while another server holds them.
async fn share_duties(url: &str) -> ServerClaim {
    let me = holder_name();
    let duties = Arc::new(AtomicBool::new(false));
    let conn = match connect_named(url, &me).await {
        Ok(mut conn) => match try_advisory(&mut conn).await {
            Ok(true) => Some(conn),
            _ => {
                let holder = advisory_holder(&mut conn).await.ok().flatten();
                let _ = conn.close().await;
                tracing::info!(
                    holder = holder.as_deref().unwrap_or("another server"),
                    "serving beside another server, which holds the background duties; taking them if it stops"
                );
                None
            }
        },
        Err(_) => None,
    };
    duties.store(conn.is_some(), Ordering::Relaxed);
    let (stop, stopped) = oneshot::channel();
    tokio::spawn(keep_advisory(url.to_owned(), me, conn, duties.clone(), stopped));
    ServerClaim { _hold: Hold::Advisory { _keeper: stop }, duties }
}

fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

fn claim_file(database: &Path) -> Result<File, Refusal> {
    let path = lock_path(database);
    let mut file =
        std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(|e| {
            Refusal::Failed(StoreError::Config(format!("cannot open the lock file {}: {e}", path.display())))
        })?;
    match file.try_lock() {
        Ok(()) => {
            let record = |file: &mut File| -> std::io::Result<()> {
                file.set_len(0)?;
                file.rewind()?;
                writeln!(file, "{}", holder_name())
            };
            // The holder's name is a courtesy for the next refusal; the lock
            // itself is what protects the data.
            if let Err(e) = record(&mut file) {
                tracing::warn!(lock_file = %path.display(), error = %e, "cannot record this server in the lock file");
            }
            Ok(file)
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let holder = if holder.is_empty() { "another mandate server" } else { holder };
            Err(Refusal::Held(format!(
                "the database {} is already served by {holder} (it holds {}). Two servers on one SQLite file \
                 would hand out the same incident ids and lose counts, so this one does not start. Stop the \
                 other server, give this one its own --database-url, or start it with --standby to take over \
                 when the other stops.",
                database.display(),
                path.display()
            )))
        }
        Err(std::fs::TryLockError::Error(e)) => {
            Err(Refusal::Failed(StoreError::Config(format!("cannot lock {}: {e}", path.display()))))
        }
    }
}

async fn claim_advisory(url: &str, patience: Duration) -> Result<(oneshot::Sender<()>, Arc<AtomicBool>), Refusal> {
    let me = holder_name();
    let deadline = tokio::time::Instant::now() + patience;
    let conn = loop {
        let mut conn = connect_named(url, &me).await?;
        if try_advisory(&mut conn).await? {
            break conn;
        }
        if tokio::time::Instant::now() >= deadline {
            let holder = advisory_holder(&mut conn).await.unwrap_or(None);
            let _ = conn.close().await;
            let holder = holder.unwrap_or_else(|| "another mandate server".to_owned());
            return Err(Refusal::Held(format!(
                "the background duties of this PostgreSQL database are held by {holder}"
            )));
        }
        let _ = conn.close().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (stop, stopped) = oneshot::channel();
    let duties = Arc::new(AtomicBool::new(true));
    tokio::spawn(keep_advisory(url.to_owned(), me, Some(conn), duties.clone(), stopped));
    Ok((stop, duties))
}

async fn connect_named(url: &str, me: &str) -> Result<AnyConnection, StoreError> {
    let mut conn = AnyConnection::connect(url).await?;
    // PostgreSQL's application_name holds at most 63 bytes.
    let name: String = me.chars().take(63).collect();
    sqlx::query("SELECT set_config('application_name', $1, false)").bind(name).execute(&mut conn).await?;
    Ok(conn)
}

async fn try_advisory(conn: &mut AnyConnection) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT pg_try_advisory_lock($1)").bind(ADVISORY_KEY).fetch_one(&mut *conn).await?;
    Ok(row.try_get::<bool, _>(0)?)
}

/// The `application_name` of the session holding the claim, if visible.
async fn advisory_holder(conn: &mut AnyConnection) -> Result<Option<String>, StoreError> {
    let row = sqlx::query(
        "SELECT a.application_name, CAST(a.backend_start AS TEXT) FROM pg_locks l \
         JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = $1 AND l.objsubid = 1 \
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .bind(ADVISORY_KEY)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.and_then(|row| {
        let name: String = row.try_get(0).ok()?;
        let since: Option<String> = row.try_get(1).ok();
        let name = if name.is_empty() { "another client".to_owned() } else { name };
        Some(match since {
            Some(since) => format!("{name} (connected since {})", since.split('.').next().unwrap_or(&since)),
            None => name,
        })
    }))
}

/// Holds the duties' connection while it lives; when it is lost (a database
/// restart) or the duties are another server's, tries for them again until
/// they are free.
async fn keep_advisory(
    url: String,
    me: String,
    mut conn: Option<AnyConnection>,
    duties: Arc<AtomicBool>,
    mut stopped: oneshot::Receiver<()>,
) {
    loop {
        let wait = if conn.is_some() { KEEPER_INTERVAL } else { STANDBY_POLL };
        tokio::select! {
            _ = &mut stopped => break,
            _ = tokio::time::sleep(wait) => {}
        }
        if let Some(held) = conn.as_mut() {
            if held.execute("SELECT 1").await.is_ok() {
                continue;
            }
            duties.store(false, Ordering::Relaxed);
            tracing::warn!("lost the connection that holds the background duties; taking them again when free");
            conn = None;
        }
        let Ok(mut fresh) = connect_named(&url, &me).await else { continue };
        match try_advisory(&mut fresh).await {
            Ok(true) => {
                tracing::info!("this server now holds the background duties");
                conn = Some(fresh);
                duties.store(true, Ordering::Relaxed);
            }
            _ => {
                let _ = fresh.close().await;
            }
        }
    }
    duties.store(false, Ordering::Relaxed);
    if let Some(conn) = conn {
        let _ = conn.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_memory_databases_need_no_claim() {
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("sqlite://file?mode=memory"), None);
        assert_eq!(sqlite_path("sqlite:///var/lib/m.db?mode=rwc"), Some(PathBuf::from("/var/lib/m.db")));
    }

    #[tokio::test]
    async fn a_second_claim_on_one_file_is_refused_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("m.db").display());
        let first = claim(&url, Backend::Sqlite).await.unwrap();
        let refused = claim(&url, Backend::Sqlite).await.unwrap_err().to_string();
        assert!(refused.contains(&format!("pid {}", std::process::id())), "{refused}");
        assert!(refused.contains("m.db.lock") && refused.contains("does not start"), "{refused}");
        drop(first);
        claim(&url, Backend::Sqlite).await.expect("free again once the holder lets go");
    }
}
