use super::{Backend, StoreError};
use sqlx::AnyPool;
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// Numbered SQL files, one set per database, embedded in the binary.
const SQLITE: &[(i64, &str, &str)] = &[
    (1, "runs", include_str!("migrations/sqlite/0001_runs.sql")),
    (2, "incidents", include_str!("migrations/sqlite/0002_incidents.sql")),
    (3, "intervention index", include_str!("migrations/sqlite/0003_intervention_index.sql")),
    (4, "routing", include_str!("migrations/sqlite/0004_routing.sql")),
    (5, "paging", include_str!("migrations/sqlite/0005_paging.sql")),
    (6, "replicas", include_str!("migrations/sqlite/0006_replicas.sql")),
    (7, "append only", include_str!("migrations/sqlite/0007_append_only.sql")),
    (8, "record", include_str!("migrations/sqlite/0008_record.sql")),
    (9, "revocations", include_str!("migrations/sqlite/0009_revocations.sql")),
    (10, "nested calls", include_str!("migrations/sqlite/0010_nested_calls.sql")),
    (11, "learning", include_str!("migrations/sqlite/0011_learning.sql")),
    (12, "rollout", include_str!("migrations/sqlite/0012_rollout.sql")),
    (13, "positions", include_str!("migrations/sqlite/0013_positions.sql")),
    (14, "run records", include_str!("migrations/sqlite/0014_run_records.sql")),
    (15, "refusals", include_str!("migrations/sqlite/0015_refusals.sql")),
    (16, "stops", include_str!("migrations/sqlite/0016_stops.sql")),
    (17, "resolutions", include_str!("migrations/sqlite/0017_resolutions.sql")),
    (18, "silences", include_str!("migrations/sqlite/0018_silences.sql")),
    (19, "merges", include_str!("migrations/sqlite/0019_merges.sql")),
    (20, "routing silences", include_str!("migrations/sqlite/0020_routing_silences.sql")),
    (21, "agent sdks", include_str!("migrations/sqlite/0021_agent_sdks.sql")),
    (22, "approvals", include_str!("migrations/sqlite/0022_approvals.sql")),
    (23, "degradations", include_str!("migrations/sqlite/0023_degradations.sql")),
];
const POSTGRES: &[(i64, &str, &str)] = &[
    (1, "runs", include_str!("migrations/postgres/0001_runs.sql")),
    (2, "incidents", include_str!("migrations/postgres/0002_incidents.sql")),
    (3, "intervention index", include_str!("migrations/postgres/0003_intervention_index.sql")),
    (4, "routing", include_str!("migrations/postgres/0004_routing.sql")),
    (5, "paging", include_str!("migrations/postgres/0005_paging.sql")),
    (6, "replicas", include_str!("migrations/postgres/0006_replicas.sql")),
    (7, "append only", include_str!("migrations/postgres/0007_append_only.sql")),
    (8, "record", include_str!("migrations/postgres/0008_record.sql")),
    (9, "revocations", include_str!("migrations/postgres/0009_revocations.sql")),
    (10, "nested calls", include_str!("migrations/postgres/0010_nested_calls.sql")),
    (11, "learning", include_str!("migrations/postgres/0011_learning.sql")),
    (12, "rollout", include_str!("migrations/postgres/0012_rollout.sql")),
    (13, "positions", include_str!("migrations/postgres/0013_positions.sql")),
    (14, "run records", include_str!("migrations/postgres/0014_run_records.sql")),
    (15, "refusals", include_str!("migrations/postgres/0015_refusals.sql")),
    (16, "stops", include_str!("migrations/postgres/0016_stops.sql")),
    (17, "resolutions", include_str!("migrations/postgres/0017_resolutions.sql")),
    (18, "silences", include_str!("migrations/postgres/0018_silences.sql")),
    (19, "merges", include_str!("migrations/postgres/0019_merges.sql")),
    (20, "routing silences", include_str!("migrations/postgres/0020_routing_silences.sql")),
    (21, "agent sdks", include_str!("migrations/postgres/0021_agent_sdks.sql")),
    (22, "approvals", include_str!("migrations/postgres/0022_approvals.sql")),
    (23, "degradations", include_str!("migrations/postgres/0023_degradations.sql")),
];

fn files(backend: Backend) -> &'static [(i64, &'static str, &'static str)] {
    match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }
}

/// One migration this binary knows, and whether the database has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownMigration {
    pub version: i64,
    pub description: &'static str,
    pub sql: &'static str,
    /// Applied (true), or begun and failed (false); None: pending.
    pub applied: Option<bool>,
    /// Applied from other SQL than this binary's (its checksum differs):
    /// the schema may not be what this binary expects.
    pub altered: bool,
}

/// Where a database's schema stands against this binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    pub known: Vec<KnownMigration>,
    /// Versions the database has that this binary does not know: a newer
    /// binary migrated it.
    pub unknown: Vec<(i64, String)>,
}

impl SchemaStatus {
    pub fn pending(&self) -> impl Iterator<Item = &KnownMigration> {
        self.known.iter().filter(|m| m.applied != Some(true))
    }

    /// A migration that began and did not finish.
    pub fn failed(&self) -> Option<&KnownMigration> {
        self.known.iter().find(|m| m.applied == Some(false))
    }

    /// Whether this binary can serve the schema as it is: nothing newer
    /// than it knows, nothing half-applied (pending ones it applies first).
    pub fn servable(&self) -> bool {
        self.unknown.is_empty() && self.failed().is_none()
    }
}

/// The statements of a migration, comments left out, on one line each. A
/// `;` inside `$$ … $$` or a trigger's `BEGIN … END` does not end one.
fn statements(sql: &str) -> Vec<String> {
    let text: Vec<&str> = sql.lines().map(|l| l.split("--").next().unwrap_or_default()).collect();
    let mut out = Vec::new();
    let mut current = String::new();
    for piece in text.join(" ").split_inclusive(';') {
        current.push_str(piece);
        let upper = current.to_uppercase();
        let in_dollars = current.matches("$$").count() % 2 == 1;
        let in_trigger = upper.trim_start().starts_with("CREATE TRIGGER")
            && upper.contains(" BEGIN ")
            && !upper.trim_end().trim_end_matches(';').trim_end().ends_with("END");
        if !in_dollars && !in_trigger {
            let statement = current.trim().trim_end_matches(';').split_whitespace().collect::<Vec<_>>().join(" ");
            if !statement.is_empty() {
                out.push(statement);
            }
            current.clear();
        }
    }
    out
}

/// What `sql` locks while it runs, as far as its statements say (PostgreSQL's
/// lock levels; SQLite locks the whole database for any write).
pub fn locks(sql: &str, backend: Backend) -> Vec<String> {
    let mut out = Vec::new();
    for statement in statements(sql) {
        let upper = statement.to_uppercase();
        let words: Vec<&str> = upper.split_whitespace().collect();
        let after =
            |w: &str| words.iter().position(|x| *x == w).and_then(|i| words.get(i + 1)).map(|t| t.to_lowercase());
        let lock = match (backend, words.first().copied(), words.get(1).copied()) {
            (Backend::Sqlite, _, _) => "the database's write lock, for the statement".to_owned(),
            (_, Some("CREATE"), Some("TABLE")) => "none on existing tables (a new table)".to_owned(),
            (_, Some("CREATE"), _) if upper.contains(" INDEX ") && upper.contains("CONCURRENTLY") => {
                "SHARE UPDATE EXCLUSIVE: writes go on".to_owned()
            }
            (_, Some("CREATE"), _) if upper.contains(" INDEX ") => format!(
                "SHARE on {} while the index is built: writes to it wait",
                after("ON").unwrap_or_else(|| "its table".into())
            ),
            (_, Some("CREATE"), _) if upper.contains(" TRIGGER ") => {
                format!("SHARE ROW EXCLUSIVE on {}: brief", after("ON").unwrap_or_else(|| "its table".into()))
            }
            (_, Some("ALTER"), Some("TABLE")) if upper.contains("NOT VALID") || upper.contains("ADD COLUMN") => {
                format!(
                    "ACCESS EXCLUSIVE on {}: brief (no rewrite, no scan)",
                    words.get(2).map(|t| t.to_lowercase()).unwrap_or_default()
                )
            }
            (_, Some("ALTER"), Some("TABLE")) => format!(
                "ACCESS EXCLUSIVE on {}: reads and writes wait while it runs",
                words.get(2).map(|t| t.to_lowercase()).unwrap_or_default()
            ),
            (_, Some("UPDATE" | "DELETE" | "INSERT"), _) => "ROW EXCLUSIVE: the rows it changes".to_owned(),
            (_, Some(w), _) => format!("{}: as its statement takes", w.to_lowercase()),
            (_, None, _) => continue,
        };
        let head: String = statement.chars().take(60).collect();
        out.push(format!("{head}{} → {lock}", if statement.chars().count() > 60 { "…" } else { "" }));
    }
    out
}

/// Reads where the schema stands, changing nothing.
pub(super) async fn status(pool: &AnyPool, backend: Backend) -> Result<SchemaStatus, StoreError> {
    let exists = match backend {
        Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        Backend::Postgres => "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = '_sqlx_migrations'",
    };
    let n: i64 = sqlx::query_scalar(exists).fetch_one(pool).await?;
    let mut applied: Vec<(i64, String, bool, Vec<u8>)> = Vec::new();
    if n > 0 {
        use sqlx::Row;
        let sql = "SELECT version, description, CASE WHEN success THEN 1 ELSE 0 END AS success, checksum \
                   FROM _sqlx_migrations ORDER BY version";
        for row in sqlx::query(sql).fetch_all(pool).await? {
            let success: i64 = row.try_get("success")?;
            let checksum: Vec<u8> = row.try_get("checksum")?;
            applied.push((row.try_get("version")?, row.try_get("description")?, success != 0, checksum));
        }
    }
    let known = files(backend)
        .iter()
        .map(|&(version, description, sql)| {
            let found = applied.iter().find(|(v, ..)| *v == version);
            let expected =
                Migration::new(version, description.into(), MigrationType::Simple, sql.into_sql_str(), false);
            KnownMigration {
                version,
                description,
                sql,
                applied: found.map(|(_, _, ok, _)| *ok),
                altered: found.is_some_and(|(.., checksum)| checksum.as_slice() != &*expected.checksum),
            }
        })
        .collect::<Vec<_>>();
    let unknown =
        applied.into_iter().filter(|(v, ..)| !known.iter().any(|k| k.version == *v)).map(|(v, d, ..)| (v, d)).collect();
    Ok(SchemaStatus { known, unknown })
}

pub(super) async fn run(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    let files = files(backend);
    let migrations = files
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(version, description.into(), MigrationType::Simple, sql.into_sql_str(), false)
        })
        .collect();
    Migrator::with_migrations(migrations).run(pool).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_statement_is_named_with_its_lock() {
        let sql = "-- a comment; with a semicolon\nCREATE TABLE t (a INT);\n\
                   CREATE INDEX ix_t ON events (a);\nALTER TABLE events ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\n\
                   CREATE TRIGGER trg BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'no'); END;\n\
                   CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'no'; END; $$ LANGUAGE plpgsql;";
        let locks = locks(sql, Backend::Postgres);
        assert_eq!(locks.len(), 5, "{locks:#?}");
        assert!(locks[0].ends_with("none on existing tables (a new table)"));
        assert!(locks[1].ends_with("SHARE on events while the index is built: writes to it wait"), "{}", locks[1]);
        assert!(locks[2].contains("ACCESS EXCLUSIVE on events: brief"), "{}", locks[2]);
        assert!(locks[3].contains("SHARE ROW EXCLUSIVE on audit_log"), "{}", locks[3]);
        assert!(locks[4].starts_with("CREATE FUNCTION f()"), "{}", locks[4]);
    }
}
