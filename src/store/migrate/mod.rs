//! The schema's migrations: which are applied, applying them, undoing them.
//!
//! Three tables keep the ledger, beside the schema they describe:
//! - `_sqlx_migrations`: the versions applied, with their checksums (the
//!   table sqlx's migrator kept, which earlier releases read);
//! - `mandate_schema`: each applied version's phase and down step, so that
//!   an older binary, rolled back to, can tell whether it may serve a newer
//!   schema (only newer *expand* migrations) and undo what it does not
//!   know (`mandate migrate down` reads the down step from here);
//! - `mandate_schema_attempts`: a row written before a migration begins,
//!   removed in the migration's own transaction. One left behind names a
//!   migration that was interrupted (killed): as every migration runs in
//!   one transaction, the database undid all of it.

mod locks;
mod steps;

pub use locks::locks;
pub use steps::{DownStep, Phase, Step};

use super::claim::host_name;
use super::{Backend, StoreError};
use sqlx::migrate::{Migration, MigrationType};
use sqlx::{AnyConnection, AnyPool, Row, SqlSafeStr};
use std::time::Instant;

/// The PostgreSQL advisory lock one migrating process holds ("MIGR").
const MIGRATION_LOCK: i64 = 0x4d49_4752;

pub fn steps(backend: Backend) -> &'static [Step] {
    match backend {
        Backend::Sqlite => steps::SQLITE,
        Backend::Postgres => steps::POSTGRES,
    }
}

/// One migration this binary knows, and whether the database has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownMigration {
    pub version: i64,
    pub description: &'static str,
    pub phase: Phase,
    pub sql: &'static str,
    pub down: &'static str,
    /// The down step the database recorded when it was applied: what
    /// `down` runs, before this binary's own.
    pub recorded_down: Option<String>,
    /// Applied (true), or begun and failed (false); None: pending.
    pub applied: Option<bool>,
    /// Applied from other SQL than this binary's (its checksum differs):
    /// the schema may not be what this binary expects.
    pub altered: bool,
}

/// A migration the database has and this binary does not know: a newer
/// release applied it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewerMigration {
    pub version: i64,
    pub description: String,
    /// None: applied by a release that did not record phases.
    pub phase: Option<Phase>,
    /// Its down step, as the release that applied it recorded it.
    pub down: Option<String>,
}

/// Up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

/// A migration that began and did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interrupted {
    pub version: i64,
    pub direction: Direction,
    /// Milliseconds since the epoch.
    pub started_at: i64,
    pub host: String,
    pub pid: i64,
    /// Another process is migrating this database right now.
    pub running: bool,
}

/// Where a database's schema stands against this binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    pub known: Vec<KnownMigration>,
    pub unknown: Vec<NewerMigration>,
    pub interrupted: Vec<Interrupted>,
}

impl SchemaStatus {
    pub fn pending(&self) -> impl Iterator<Item = &KnownMigration> {
        self.known.iter().filter(|m| m.applied != Some(true))
    }

    /// A migration an earlier release's migrator began and did not finish.
    pub fn failed(&self) -> Option<&KnownMigration> {
        self.known.iter().find(|m| m.applied == Some(false))
    }

    /// The newest version applied.
    pub fn current(&self) -> i64 {
        let known = self.known.iter().filter(|m| m.applied == Some(true)).map(|m| m.version).max();
        self.unknown.iter().map(|m| m.version).chain(known).max().unwrap_or(0)
    }

    /// Why this binary cannot serve the schema as it is (pending migrations
    /// aside: it applies those first), or None.
    pub fn unservable(&self) -> Option<String> {
        if let Some(m) = self.failed() {
            return Some(format!(
                "migration {:04} {} began and failed under an earlier release's migrator: the schema may be half-applied",
                m.version, m.description
            ));
        }
        let blocking: Vec<String> = self
            .unknown
            .iter()
            .filter(|m| m.phase != Some(Phase::Expand))
            .map(|m| {
                format!("{:04} {} ({})", m.version, m.description, m.phase.map_or("phase not recorded", Phase::as_str))
            })
            .collect();
        if !blocking.is_empty() {
            let below = self.unknown.iter().map(|m| m.version).min().unwrap_or(1) - 1;
            return Some(format!(
                "a newer release applied {} to this database, which this binary cannot serve: run that release, or undo them with `mandate migrate down --to {below}`",
                blocking.join(", ")
            ));
        }
        None
    }
}

fn checksum(step: &Step) -> Vec<u8> {
    Migration::new(step.version, step.description.into(), MigrationType::Simple, step.up.into_sql_str(), false)
        .checksum
        .to_vec()
}

/// The ledger's tables, created when missing (the first migration, or a
/// database an earlier release migrated).
async fn ensure_ledger(conn: &mut AnyConnection, backend: Backend) -> Result<(), StoreError> {
    let (timestamp, blob) = match backend {
        Backend::Sqlite => ("TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP", "BLOB"),
        Backend::Postgres => ("TIMESTAMPTZ NOT NULL DEFAULT now()", "BYTEA"),
    };
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
         installed_on {timestamp}, success BOOLEAN NOT NULL, checksum {blob} NOT NULL, execution_time BIGINT NOT NULL);\n\
         CREATE TABLE IF NOT EXISTS mandate_schema (version BIGINT NOT NULL PRIMARY KEY, description TEXT NOT NULL, \
         phase TEXT NOT NULL, down_sql TEXT NOT NULL);\n\
         CREATE TABLE IF NOT EXISTS mandate_schema_attempts (version BIGINT NOT NULL, direction TEXT NOT NULL, \
         started_at BIGINT NOT NULL, host TEXT NOT NULL, pid BIGINT NOT NULL);"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut *conn).await?;
    Ok(())
}

async fn table_exists(conn: &mut AnyConnection, backend: Backend, table: &str) -> Result<bool, StoreError> {
    let sql = match backend {
        Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = $1 AND table_schema = current_schema()"
        }
    };
    let n: i64 = sqlx::query_scalar(sql).bind(table).fetch_one(&mut *conn).await?;
    Ok(n > 0)
}

/// Reads where the schema stands, changing nothing.
async fn read_status(conn: &mut AnyConnection, backend: Backend) -> Result<SchemaStatus, StoreError> {
    let mut applied: Vec<(i64, String, bool, Vec<u8>)> = Vec::new();
    if table_exists(conn, backend, "_sqlx_migrations").await? {
        let sql = "SELECT version, description, CASE WHEN success THEN 1 ELSE 0 END AS success, checksum \
                   FROM _sqlx_migrations ORDER BY version";
        for row in sqlx::query(sql).fetch_all(&mut *conn).await? {
            let success: i64 = row.try_get("success")?;
            applied.push((
                row.try_get("version")?,
                row.try_get("description")?,
                success != 0,
                row.try_get("checksum")?,
            ));
        }
    }
    let mut recorded: Vec<(i64, String, String)> = Vec::new();
    let mut interrupted = Vec::new();
    if table_exists(conn, backend, "mandate_schema").await? {
        for row in sqlx::query("SELECT version, phase, down_sql FROM mandate_schema").fetch_all(&mut *conn).await? {
            recorded.push((row.try_get("version")?, row.try_get("phase")?, row.try_get("down_sql")?));
        }
        let sql = "SELECT version, direction, started_at, host, pid FROM mandate_schema_attempts ORDER BY started_at";
        let rows = sqlx::query(sql).fetch_all(&mut *conn).await?;
        if !rows.is_empty() {
            let running = someone_migrating(conn, backend).await?;
            for row in rows {
                let direction: String = row.try_get("direction")?;
                let host: String = row.try_get("host")?;
                let pid: i64 = row.try_get("pid")?;
                let alive_here = host == host_name() && std::path::Path::new(&format!("/proc/{pid}")).exists();
                interrupted.push(Interrupted {
                    version: row.try_get("version")?,
                    direction: if direction == "down" { Direction::Down } else { Direction::Up },
                    started_at: row.try_get("started_at")?,
                    running: match backend {
                        Backend::Postgres => running,
                        Backend::Sqlite => alive_here,
                    },
                    host,
                    pid,
                });
            }
        }
    }
    let known: Vec<KnownMigration> = steps(backend)
        .iter()
        .map(|step| {
            let found = applied.iter().find(|(v, ..)| *v == step.version);
            let record = recorded.iter().find(|(v, ..)| *v == step.version);
            KnownMigration {
                version: step.version,
                description: step.description,
                phase: step.phase,
                sql: step.up,
                down: step.down,
                recorded_down: record.map(|(.., down)| down.clone()),
                applied: found.map(|(_, _, ok, _)| *ok),
                altered: found.is_some_and(|(.., sum)| *sum != checksum(step)),
            }
        })
        .collect();
    let unknown = applied
        .into_iter()
        .filter(|(v, ..)| !known.iter().any(|k| k.version == *v))
        .map(|(version, description, ..)| {
            let record = recorded.iter().find(|(v, ..)| *v == version);
            NewerMigration {
                version,
                description,
                phase: record.and_then(|(_, phase, _)| Phase::parse(phase)),
                down: record.map(|(.., down)| down.clone()),
            }
        })
        .collect();
    Ok(SchemaStatus { known, unknown, interrupted })
}

/// Whether another process holds the migration lock (PostgreSQL).
async fn someone_migrating(conn: &mut AnyConnection, backend: Backend) -> Result<bool, StoreError> {
    if backend != Backend::Postgres {
        return Ok(false);
    }
    let got: bool =
        sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(MIGRATION_LOCK).fetch_one(&mut *conn).await?;
    if got {
        sqlx::query("SELECT pg_advisory_unlock($1)").bind(MIGRATION_LOCK).execute(&mut *conn).await?;
    }
    Ok(!got)
}

pub(super) async fn status(pool: &AnyPool, backend: Backend) -> Result<SchemaStatus, StoreError> {
    let mut conn = pool.acquire().await?;
    read_status(&mut conn, backend).await
}

/// Holds the migration lock for the life of `conn` (PostgreSQL: an
/// advisory lock; SQLite: each migration's write transaction).
async fn lock(conn: &mut AnyConnection, backend: Backend) -> Result<(), StoreError> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_lock($1)").bind(MIGRATION_LOCK).execute(&mut *conn).await?;
    }
    Ok(())
}

async fn unlock(conn: &mut AnyConnection, backend: Backend) {
    if backend == Backend::Postgres {
        let _ = sqlx::query("SELECT pg_advisory_unlock($1)").bind(MIGRATION_LOCK).execute(&mut *conn).await;
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Records that `version` begins in `direction`, outside its transaction,
/// so that a kill leaves the row behind.
async fn begin_attempt(conn: &mut AnyConnection, version: i64, direction: Direction) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO mandate_schema_attempts (version, direction, started_at, host, pid) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(version)
    .bind(direction.as_str())
    .bind(now_ms())
    .bind(host_name())
    .bind(i64::from(std::process::id()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What `up` did, for its caller to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub version: i64,
    pub description: String,
    pub direction: Direction,
    pub took: std::time::Duration,
}

/// Applies the pending migrations (up to `to`), each in one transaction. Refuses a
/// schema this binary cannot serve. `on_step` hears each one as it is done.
pub(super) async fn up(
    pool: &AnyPool,
    backend: Backend,
    to: Option<i64>,
    mut on_step: impl FnMut(&Applied),
) -> Result<Vec<Applied>, StoreError> {
    let mut conn = pool.acquire().await?;
    lock(&mut conn, backend).await?;
    let done = up_locked(&mut conn, backend, to, &mut on_step).await;
    unlock(&mut conn, backend).await;
    done
}

async fn up_locked(
    conn: &mut AnyConnection,
    backend: Backend,
    to: Option<i64>,
    on_step: &mut impl FnMut(&Applied),
) -> Result<Vec<Applied>, StoreError> {
    ensure_ledger(conn, backend).await?;
    let status = read_status(conn, backend).await?;
    if let Some(why) = status.unservable() {
        return Err(StoreError::Schema(why));
    }
    // Versions this binary's migrator applied before the phases were
    // recorded get their phase and down step now.
    for m in status.known.iter().filter(|m| m.applied == Some(true)) {
        let sql = "INSERT INTO mandate_schema (version, description, phase, down_sql) VALUES ($1, $2, $3, $4) \
                   ON CONFLICT (version) DO NOTHING";
        sqlx::query(sql)
            .bind(m.version)
            .bind(m.description)
            .bind(m.phase.as_str())
            .bind(m.down)
            .execute(&mut *conn)
            .await?;
    }
    for gone in status.interrupted.iter().filter(|i| !i.running) {
        tracing::warn!(
            version = gone.version,
            direction = gone.direction.as_str(),
            host = %gone.host,
            pid = gone.pid,
            "an earlier migration was interrupted; the database undid it, so it is applied again now"
        );
    }
    let mut done = Vec::new();
    for step in steps(backend).iter().filter(|s| to.is_none_or(|to| s.version <= to)) {
        if status.known.iter().any(|m| m.version == step.version && m.applied == Some(true)) {
            continue;
        }
        let started = Instant::now();
        begin_attempt(conn, step.version, Direction::Up).await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        sqlx::raw_sql(step.up.into_sql_str()).execute(&mut *tx).await.map_err(|e| migration_error(step, e))?;
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES ($1, $2, TRUE, $3, $4)",
        )
        .bind(step.version)
        .bind(step.description)
        .bind(checksum(step))
        .bind(i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO mandate_schema (version, description, phase, down_sql) VALUES ($1, $2, $3, $4)")
            .bind(step.version)
            .bind(step.description)
            .bind(step.phase.as_str())
            .bind(step.down)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM mandate_schema_attempts WHERE version = $1")
            .bind(step.version)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let applied = Applied {
            version: step.version,
            description: step.description.into(),
            direction: Direction::Up,
            took: started.elapsed(),
        };
        on_step(&applied);
        done.push(applied);
    }
    // Attempts left by interrupted runs of versions now applied say
    // nothing true any more.
    sqlx::query("DELETE FROM mandate_schema_attempts").execute(&mut *conn).await?;
    Ok(done)
}

fn migration_error(step: &Step, e: sqlx::Error) -> StoreError {
    StoreError::Schema(format!(
        "migration {:04} {} failed, and the database undid it (one transaction): {e}",
        step.version, step.description
    ))
}

/// One step of a down plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownPlan {
    pub version: i64,
    pub description: String,
    pub sql: String,
    /// What it would drop that exists: (table, predicate, rows).
    pub losses: Vec<(String, Option<String>, i64)>,
}

/// The down steps that bring the schema to `to`, newest first, with what
/// each would lose; refuses what cannot be undone.
async fn plan_down(conn: &mut AnyConnection, backend: Backend, to: i64) -> Result<Vec<DownPlan>, StoreError> {
    let status = read_status(conn, backend).await?;
    // Each version with its down step: the database's record first (it is
    // what applied the version), then this binary's.
    let mut applied: Vec<(i64, String, Option<String>)> = status
        .known
        .iter()
        .filter(|m| m.applied == Some(true))
        .map(|m| {
            (m.version, m.description.to_owned(), Some(m.recorded_down.clone().unwrap_or_else(|| m.down.to_owned())))
        })
        .chain(status.unknown.iter().map(|m| (m.version, m.description.clone(), m.down.clone())))
        .filter(|(v, ..)| *v > to)
        .collect();
    applied.sort_by_key(|(v, ..)| std::cmp::Reverse(*v));
    let mut plan = Vec::new();
    for (version, description, down) in applied {
        let Some(sql) = down else {
            return Err(StoreError::Schema(format!(
                "{version:04} {description} was applied by a release that recorded no down step: undo it with that release's `mandate migrate down`"
            )));
        };
        let step = DownStep::read(&sql);
        if let Some(reason) = step.irreversible {
            return Err(StoreError::Schema(format!(
                "{version:04} {description} cannot be undone, so `down` stops above it (at {version:04}): {reason}"
            )));
        }
        let mut losses = Vec::new();
        for (table, predicate) in step.loses {
            if !table_exists(conn, backend, &table).await? {
                continue;
            }
            let count = match &predicate {
                Some(p) => format!("SELECT COUNT(*) FROM {table} WHERE {p}"),
                None => format!("SELECT COUNT(*) FROM {table}"),
            };
            let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count)).fetch_one(&mut *conn).await?;
            if rows > 0 {
                losses.push((table, predicate, rows));
            }
        }
        plan.push(DownPlan { version, description, sql, losses });
    }
    Ok(plan)
}

/// Undoes every migration above `to`, newest first, each in one
/// transaction. Refuses, changing nothing, when a step would drop rows
/// that exist, unless `force`. With `dry_run`, returns the plan only.
pub(super) async fn down(
    pool: &AnyPool,
    backend: Backend,
    to: i64,
    force: bool,
    dry_run: bool,
    mut on_step: impl FnMut(&Applied),
) -> Result<Vec<DownPlan>, StoreError> {
    let mut conn = pool.acquire().await?;
    lock(&mut conn, backend).await?;
    let done = down_locked(&mut conn, backend, to, force, dry_run, &mut on_step).await;
    unlock(&mut conn, backend).await;
    done
}

async fn down_locked(
    conn: &mut AnyConnection,
    backend: Backend,
    to: i64,
    force: bool,
    dry_run: bool,
    on_step: &mut impl FnMut(&Applied),
) -> Result<Vec<DownPlan>, StoreError> {
    ensure_ledger(conn, backend).await?;
    let plan = plan_down(conn, backend, to).await?;
    if dry_run {
        return Ok(plan);
    }
    let losing: Vec<String> = plan
        .iter()
        .flat_map(|step| {
            step.losses.iter().map(move |(table, predicate, rows)| {
                let what = match predicate {
                    Some(p) => format!("{table} ({p})"),
                    None => table.clone(),
                };
                format!("{:04} {}: {rows} row(s) of {what}", step.version, step.description)
            })
        })
        .collect();
    if !losing.is_empty() && !force {
        return Err(StoreError::Schema(format!(
            "going down to {to:04} would drop data that going up again cannot bring back, so nothing was changed:\n  {}\n\
             Keep a backup, then add --force to go down anyway.",
            losing.join("\n  ")
        )));
    }
    sqlx::query("DELETE FROM mandate_schema_attempts WHERE direction = 'down'").execute(&mut *conn).await?;
    for step in &plan {
        let started = Instant::now();
        begin_attempt(conn, step.version, Direction::Down).await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(step.sql.clone())).execute(&mut *tx).await.map_err(|e| {
            StoreError::Schema(format!(
                "undoing {:04} {} failed, and the database undid the attempt (one transaction): {e}",
                step.version, step.description
            ))
        })?;
        for table in ["_sqlx_migrations", "mandate_schema", "mandate_schema_attempts"] {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE version = $1")))
                .bind(step.version)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        on_step(&Applied {
            version: step.version,
            description: step.description.clone(),
            direction: Direction::Down,
            took: started.elapsed(),
        });
    }
    Ok(plan)
}
