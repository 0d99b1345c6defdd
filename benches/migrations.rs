//! Every migration on production-sized data (seed 004 §18.1: no lock held
//! over 10 s): a database with 1,000,000 events and 100,000 runs written
//! at the first schema that has them (0002), a third of the events nested
//! spans and one in ten in an incident, so that the partial indexes later
//! migrations build have rows to index; then each later migration
//! applied in turn, timed; then all undone to 0002 (forced: the record's
//! later tables go) and applied again. Each migration runs in one
//! transaction, which holds its locks until it commits, so its time is the
//! longest any of its locks is held.
//!
//!   cargo bench --bench migrations                # SQLite, and PostgreSQL when set
//!   tests/pg/cluster.sh start > /tmp/pg.env && . /tmp/pg.env   # for PostgreSQL
//!
//! Environment: MANDATE_TEST_PG_URL (PostgreSQL's run; skipped without),
//! BENCH_EVENTS (1000000), BENCH_RUNS (100000).

use mandate::store::{Backend, Store, migration_locks, migration_steps};
use std::time::{Duration, Instant};

fn number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The runs and events, as the schema at 0002 holds them, in statements of
/// at most `chunk` rows: each its own transaction, as runs and events
/// arrive (one transaction bumping the run counters 100,000 times would
/// walk an ever longer chain of row versions on PostgreSQL).
fn load_sql(backend: Backend, events: u64, runs: u64) -> Vec<String> {
    let series = |from: u64, to: u64| match backend {
        Backend::Sqlite => format!(
            "(WITH RECURSIVE s(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM s WHERE i < {to}) SELECT i FROM s) AS n"
        ),
        Backend::Postgres => format!("generate_series({from}, {to}) AS n(i)"),
    };
    let chunks =
        |total: u64, chunk: u64| (0..total.div_ceil(chunk)).map(move |c| (c * chunk + 1, ((c + 1) * chunk).min(total)));
    let mut out = Vec::new();
    for (from, to) in chunks(runs, 1_000) {
        out.push(format!(
            "INSERT INTO runs (run_id, goal, agent_id, actor_type, actor_id, origin_system_id, source, state, status, \
             provider_type, risk_level, origin_ts, origin_ip, created_at, completed_at) \
             SELECT 'run-' || i, 'bench', 'agent-' || (i % 50), 'SYSTEM', NULL, 'bench', 'SDK', 'COMPLETED', 'succeeded', \
             'openai', 'low', NULL, NULL, 1700000000000 + i * 1000, 1700000000000 + i * 1000 + 500 FROM {}",
            series(from, to)
        ));
    }
    for (from, to) in chunks(events, 50_000) {
        out.push(format!(
            "INSERT INTO events (event_id, agent_id, actor_type, origin_system_id, run_id, parent_event_id, trace_id, \
             action_type, tool, resource, outcome, occurred_at, received_at, incident_id) \
             SELECT 'ev-' || i, 'agent-' || (i % 50), 'SYSTEM', 'bench', 'run-' || (i % {runs} + 1), \
             CASE WHEN i % 3 = 0 THEN 'ev-' || (i - 1) END, CASE WHEN i % 3 <> 1 THEN 'trace-' || (i / 3) END, \
             CASE WHEN i % 100 = 0 THEN 'deploy' ELSE 'tool_call' END, 'tool-' || (i % 20), 'service-' || (i % 40), \
             CASE WHEN i % 50 = 0 THEN 'error' ELSE 'ok' END, 1700000000000 + i * 100, 1700000000000 + i * 100, \
             CASE WHEN i % 50 < 5 THEN i / 5000 + 1 END FROM {}",
            series(from, to)
        ));
    }
    out
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

async fn bench(backend: Backend, url: &str, events: u64, runs: u64) {
    let name = format!("{backend:?}").to_lowercase();
    Store::migrate_up(url, Some(2), |_| {}).await.expect("0001 and 0002 apply");
    let started = Instant::now();
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    for sql in load_sql(backend, events, runs) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&pool).await.expect("the data loads");
    }
    if backend == Backend::Postgres {
        sqlx::raw_sql("ANALYZE").execute(&pool).await.unwrap();
    }
    pool.close().await;
    println!("{name}: {events} events and {runs} runs written at 0002 in {}", secs(started.elapsed()));

    let steps = migration_steps(backend);
    let mut timed: Vec<(i64, &str, Duration)> = Vec::new();
    let started = Instant::now();
    for step in steps.iter().filter(|s| s.version > 2) {
        let at = Instant::now();
        Store::migrate_up(url, Some(step.version), |_| {}).await.expect("the migration applies");
        timed.push((step.version, step.description, at.elapsed()));
    }
    let up = started.elapsed();
    timed.sort_by_key(|(.., took)| std::cmp::Reverse(*took));
    println!("{name}: 0003–{:04} applied in {}; the longest, each holding its locks that long:", steps.len(), secs(up));
    for (version, description, took) in timed.iter().take(3) {
        let step = steps.iter().find(|s| s.version == *version).unwrap();
        let rank = |lock: &String| {
            ["reads and writes wait", "writes to it wait", "ACCESS EXCLUSIVE", "write lock"]
                .iter()
                .position(|w| lock.contains(w))
                .unwrap_or(9)
        };
        let heaviest = migration_locks(step.up, backend).into_iter().min_by_key(rank).unwrap_or_default();
        println!("  {version:04} {description:<20} {:>8}  ({heaviest})", secs(*took));
    }

    let mut longest_down = (0, Duration::ZERO);
    let started = Instant::now();
    Store::migrate_down(url, 2, true, false, |step| {
        if step.took > longest_down.1 {
            longest_down = (step.version, step.took);
        }
    })
    .await
    .expect("down to 0002 (forced)");
    println!(
        "{name}: undone to 0002 (forced) in {}; the longest: {:04} in {}",
        secs(started.elapsed()),
        longest_down.0,
        secs(longest_down.1)
    );
    let started = Instant::now();
    Store::migrate_up(url, None, |_| {}).await.expect("up again");
    println!("{name}: applied again in {}", secs(started.elapsed()));
}

#[tokio::main]
async fn main() {
    let events = number("BENCH_EVENTS", 1_000_000);
    let runs = number("BENCH_RUNS", 100_000);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    bench(Backend::Sqlite, &url, events, runs).await;
    match std::env::var("MANDATE_TEST_PG_URL") {
        Ok(admin_url) => {
            sqlx::any::install_default_drivers();
            let name = format!("mandate_bench_{}", uuid::Uuid::new_v4().simple());
            let admin = sqlx::AnyPool::connect(&admin_url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.unwrap();
            let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
            bench(Backend::Postgres, &url, events, runs).await;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
                .execute(&admin)
                .await
                .unwrap();
        }
        Err(_) => println!("postgres: skipped (set MANDATE_TEST_PG_URL: tests/pg/cluster.sh start)"),
    }
}
