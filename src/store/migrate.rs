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

pub(super) async fn run(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    let files = match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    let migrations = files
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(version, description.into(), MigrationType::Simple, sql.into_sql_str(), false)
        })
        .collect();
    Migrator::with_migrations(migrations).run(pool).await?;
    Ok(())
}
