//! Load benchmarks of the API server on loopback, SQLite in a temporary file.
//!
//!   cargo bench --bench api                 # both
//!   cargo bench --bench api -- runs         # POST /api/v1/runs, 16 clients
//!   cargo bench --bench api -- distribution # by-dimension over 1,000,000 runs
//!   cargo bench --bench api -- audit        # GET /api/v1/audit over 1,000,000 entries
//!
//! Environment: BENCH_SECONDS (default 15), BENCH_CLIENTS (16), BENCH_RUNS (1000000),
//! BENCH_AUDIT_ENTRIES (1000000).

#[path = "support/mod.rs"]
mod support;
use support::{env_number, percentile};

use mandate::api::Role;
use mandate::auth::TokenTable;
use mandate::server;
use mandate::store::Store;
use serde_json::json;
use std::time::{Duration, Instant};

const TOKEN: &str = "mdt_bench";

fn report(name: &str, mut latencies: Vec<Duration>, elapsed: Duration) {
    latencies.sort();
    let n = latencies.len();
    println!(
        "{name}: {n} requests in {:.1} s = {:.0}/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies[n - 1].as_secs_f64() * 1e3,
    );
}

async fn start(dir: &std::path::Path) -> server::RunningServer {
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let store = Store::connect(&url).await.expect("store");
    let tokens = TokenTable::default().with_token(TOKEN, "bench", Role::Admin);
    server::start(store, tokens, "127.0.0.1:0".parse().unwrap()).await.expect("server")
}

async fn bench_runs() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let clients = env_number("BENCH_CLIENTS", 16);
    let seconds = env_number("BENCH_SECONDS", 15);
    let url = format!("{}/api/v1/runs", server.url());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let url = url.clone();
            tokio::spawn(async move {
                let http = mandate::sdk::http_client_builder().build().unwrap();
                let mut latencies = Vec::new();
                let mut i = 0u64;
                while Instant::now() < deadline {
                    let provider = ["anthropic", "openai", "internal"][(i % 3) as usize];
                    let body = json!({
                        "goal": "bench", "agent_id": format!("agent-{}", (c + i) % 40), "actor_type": "SYSTEM",
                        "origin_system_id": "bench", "source": "SDK", "provider_type": provider,
                        "risk_level": "low",
                    });
                    let sent = Instant::now();
                    let response = http.post(&url).bearer_auth(TOKEN).json(&body).send().await.expect("request");
                    assert_eq!(response.status(), 201);
                    let _ = response.bytes().await;
                    latencies.push(sent.elapsed());
                    i += 1;
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    report(&format!("POST /api/v1/runs, {clients} clients, SQLite"), all, started.elapsed());
    server.stop().await;
}

async fn bench_distribution() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let runs = env_number("BENCH_RUNS", 1_000_000);
    let seeded = Instant::now();
    // One statement: 1 in 20 runs LIVE, the rest COMPLETED, spread over 40
    // agents, 4 providers, 3 sources, 4 risk levels, 3 final statuses.
    let seed = format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {runs}) \
         INSERT INTO runs (run_id, goal, agent_id, actor_type, actor_id, origin_system_id, source, state, status, provider_type, risk_level, created_at, completed_at) \
         SELECT 'r' || i, 'bench', 'agent-' || (i % 40), 'SYSTEM', NULL, 'bench', \
                CASE i % 3 WHEN 0 THEN 'SDK' WHEN 1 THEN 'API' ELSE 'SYSTEM' END, \
                CASE WHEN i % 20 = 0 THEN 'LIVE' ELSE 'COMPLETED' END, \
                CASE WHEN i % 20 = 0 THEN 'running' WHEN i % 3 = 0 THEN 'failed' WHEN i % 3 = 1 THEN 'succeeded' ELSE 'cancelled' END, \
                CASE i % 4 WHEN 0 THEN 'anthropic' WHEN 1 THEN 'openai' WHEN 2 THEN 'internal' ELSE 'local' END, \
                CASE i % 4 WHEN 0 THEN 'low' WHEN 1 THEN 'medium' WHEN 2 THEN 'high' ELSE 'critical' END, \
                i, CASE WHEN i % 20 = 0 THEN NULL ELSE i + 1 END \
         FROM n"
    );
    sqlx::query(sqlx::AssertSqlSafe(seed)).execute(server.state.store().pool()).await.expect("seed");
    println!("seeded {runs} runs in {:.1} s", seeded.elapsed().as_secs_f64());

    // For comparison: what grouping the view directly would cost per request.
    for dim in ["agent_id", "status"] {
        let sql = format!("SELECT {dim}, COUNT(*) FROM v_runs_o2 WHERE state = 'COMPLETED' GROUP BY {dim}");
        let started = Instant::now();
        sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(server.state.store().pool()).await.unwrap();
        println!("(direct GROUP BY {dim} over v_runs_o2, COMPLETED: {:.1} ms)", started.elapsed().as_secs_f64() * 1e3);
    }

    let http = mandate::sdk::http_client_builder().build().unwrap();
    for topic in ["live", "completed"] {
        for dim in ["agent_id", "provider_type", "source", "risk_level", "status"] {
            let url = format!("{}/api/v1/activity/runs/{topic}/by-dimension?dim={dim}", server.url());
            let mut latencies = Vec::new();
            let started = Instant::now();
            let mut total = 0;
            for _ in 0..200 {
                let sent = Instant::now();
                let body: serde_json::Value =
                    http.get(&url).bearer_auth(TOKEN).send().await.unwrap().json().await.unwrap();
                latencies.push(sent.elapsed());
                total = body["total"].as_i64().unwrap();
            }
            report(
                &format!("GET {topic}/by-dimension?dim={dim} over {runs} runs (topic total {total})"),
                latencies,
                started.elapsed(),
            );
        }
    }
    server.stop().await;
}

/// The audit page with the chain's state, over a long chain: the first
/// request verifies it whole, the rest only what was appended since.
async fn bench_audit() {
    let dir = tempfile::tempdir().unwrap();
    let entries = env_number("BENCH_AUDIT_ENTRIES", 1_000_000) as i64;
    let seeded = Instant::now();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("bench.db").display())).await.unwrap();
    let pool = store.pool().clone();
    let mut tx = pool.begin().await.unwrap();
    let mut prev = mandate::audit::GENESIS.to_owned();
    const ROWS: i64 = 100;
    for first in (1..=entries).step_by(ROWS as usize) {
        let rows: Vec<i64> = (first..(first + ROWS).min(entries + 1)).collect();
        let values: Vec<String> = (0..rows.len())
            .map(|i| {
                let b = i * 8;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO audit_log (seq, at, actor, action, target, details, prev_hash, hash) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for seq in rows {
            let at = 1_700_000_000_000 + seq;
            let details = json!({"reason": "bench", "n": seq});
            let target = format!("incident:{}", seq % 500);
            let hash = mandate::audit::entry_hash(&prev, seq, at, "alice", "acknowledge", &target, &details);
            q = q
                .bind(seq)
                .bind(at)
                .bind("alice")
                .bind("acknowledge")
                .bind(target)
                .bind(details.to_string())
                .bind(prev.clone())
                .bind(hash.clone());
            prev = hash;
        }
        q.execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    store.close().await;
    println!("seeded {entries} audit entries in {:.1} s", seeded.elapsed().as_secs_f64());
    // As after a restart: the server verifies the chain in the background.
    let server = start(dir.path()).await;

    let http = mandate::sdk::http_client_builder().build().unwrap();
    let url = format!("{}/api/v1/audit?limit=100", server.url());
    let get = || async {
        let sent = Instant::now();
        let page: serde_json::Value = http.get(&url).bearer_auth(TOKEN).send().await.unwrap().json().await.unwrap();
        assert_eq!(page["chain"]["verified"], true, "{}", page["chain"]);
        (sent.elapsed(), page["chain"]["entries_checked"].as_i64().unwrap())
    };
    let (first, checked) = get().await;
    println!(
        "first GET /api/v1/audit: {:.1} ms, the chain verified through {checked} of {entries} entries so far",
        first.as_secs_f64() * 1e3
    );
    let verifying = Instant::now();
    let mut worst = first;
    loop {
        let (took, checked) = get().await;
        worst = worst.max(took);
        if checked == entries {
            println!(
                "verification reached all {entries} entries {:.1} s later; requests meanwhile took at most {:.1} ms",
                verifying.elapsed().as_secs_f64(),
                worst.as_secs_f64() * 1e3
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut latencies = Vec::new();
    let started = Instant::now();
    for _ in 0..200 {
        latencies.push(get().await.0);
    }
    report(&format!("GET /api/v1/audit?limit=100 over {entries} entries"), latencies, started.elapsed());
    server.stop().await;
}

/// The store alone, no HTTP: the ceiling the API can reach.
async fn bench_store() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = Store::connect(&url).await.expect("store");
    let clients = env_number("BENCH_CLIENTS", 16);
    let seconds = env_number("BENCH_SECONDS", 15);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut i = 0u64;
                while Instant::now() < deadline {
                    let mut fields = serde_json::Map::new();
                    for (k, v) in [
                        ("goal", "bench"),
                        ("actor_type", "SYSTEM"),
                        ("origin_system_id", "bench"),
                        ("source", "SDK"),
                        ("provider_type", "internal"),
                        ("risk_level", "low"),
                    ] {
                        fields.insert(k.into(), v.into());
                    }
                    fields.insert("agent_id".into(), format!("agent-{}", (c + i) % 40).into());
                    let run = mandate::server::routes::runs::parse_create_run(fields).unwrap();
                    let sent = Instant::now();
                    store.insert_run(run).await.unwrap();
                    latencies.push(sent.elapsed());
                    i += 1;
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    report(&format!("Store::insert_run, {clients} tasks, SQLite"), all, started.elapsed());
}

#[tokio::main]
async fn main() {
    let which: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let all = which.is_empty();
    if all || which.iter().any(|w| w == "runs") {
        bench_runs().await;
    }
    if which.iter().any(|w| w == "store") {
        bench_store().await;
    }
    if all || which.iter().any(|w| w == "distribution") {
        bench_distribution().await;
    }
    if all || which.iter().any(|w| w == "audit") {
        bench_audit().await;
    }
}
