//! Measuring helpers shared by the benchmarks.
#![allow(dead_code)]

use std::time::Duration;

pub mod served;

pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// `p` in 0..=1 of latencies sorted ascending.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// This process's resident memory, from /proc.
pub fn resident_mib() -> f64 {
    resident_mib_of("self")
}

/// Process `pid`'s (or "self") resident memory, from /proc.
pub fn resident_mib_of(pid: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// The change-feed version the server at `base` (`http://host:port`) is at.
pub async fn feed_version(http: &reqwest::Client, base: &str, token: &str) -> i64 {
    let page: serde_json::Value = http
        .get(format!("{base}/api/v1/incidents?limit=1"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["version"].as_i64().unwrap()
}

/// Waits for every client task, sampling this process's resident memory
/// meanwhile: every latency, sorted, and the peak in MiB.
pub async fn join_clients(tasks: Vec<tokio::task::JoinHandle<Vec<Duration>>>) -> (Vec<Duration>, f64) {
    let mut peak = 0.0f64;
    let mut all = Vec::new();
    for t in tasks {
        while !t.is_finished() {
            peak = peak.max(resident_mib());
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        all.extend(t.await.unwrap());
    }
    all.sort();
    (all, peak)
}

/// The URL of the database a benchmark writes to: SQLite in `dir`, or with
/// `BENCH_DB=postgres` a fresh database in the cluster at
/// `MANDATE_TEST_PG_URL` (`tests/pg/cluster.sh start` prints one); and its name.
pub async fn bench_database(dir: &std::path::Path) -> (String, &'static str) {
    if std::env::var("BENCH_DB").as_deref() != Ok("postgres") {
        return (format!("sqlite://{}", dir.join("bench.db").display()), "SQLite");
    }
    let admin_url = std::env::var("MANDATE_TEST_PG_URL").expect("BENCH_DB=postgres needs MANDATE_TEST_PG_URL");
    sqlx::any::install_default_drivers();
    let name = format!("mandate_bench_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::AnyPool::connect(&admin_url).await.expect("connect to the cluster");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.unwrap();
    (format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0), "PostgreSQL")
}

/// The store an ingest benchmark writes to (see [`bench_database`]).
pub async fn ingest_store(dir: &std::path::Path) -> (mandate::store::Store, &'static str) {
    let (url, name) = bench_database(dir).await;
    (mandate::store::Store::connect(&url).await.expect("store"), name)
}
