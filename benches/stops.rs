//! Benchmarks of stops reaching agents, against a real server on loopback
//! and SQLite in a temporary file (or PostgreSQL with BENCH_DB=postgres).
//!
//!   cargo bench --bench stops                # all
//!   cargo bench --bench stops -- refusal     # pause committed → the SDK's next check refuses
//!   cargo bench --bench stops -- check       # the SDK's local check, per action
//!
//! Environment: BENCH_STOPS (refusal: 200 pauses), BENCH_CHECKS (check: 10,000,000),
//! BENCH_DB (sqlite; postgres with MANDATE_TEST_PG_URL).

#[path = "support/mod.rs"]
mod support;
use support::{env_number, ms, percentile};

use mandate::api::Role;
use mandate::auth::TokenTable;
use mandate::desk::{Desk, DeskConfig};
use mandate::sdk::{Client, Control, OutOfContact};
use mandate::server::{self, RunningServer};
use mandate::store::Store;
use serde_json::json;
use std::time::{Duration, Instant};

const ADMIN: &str = "mdt_bench_admin";
const AGENT: &str = "mdt_bench_agent";

async fn start(dir: &std::path::Path) -> RunningServer {
    let (url, _) = support::bench_database(dir).await;
    let store = Store::connect_to_serve(&url, false).await.expect("store");
    let desk = Desk::open(store, None, DeskConfig::default()).await.expect("desk");
    let tokens = TokenTable::default().with_token(ADMIN, "alice", Role::Admin).with_token(AGENT, "fleet", Role::Agent);
    server::start_desk(desk, tokens, "127.0.0.1:0".parse().unwrap()).await.expect("server")
}

async fn wait_for(control: &Control, stopped: bool) -> Instant {
    loop {
        if control.check(None).is_err() == stopped {
            return Instant::now();
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

/// A pause's answer (the stop committed) → the subscribed SDK's next check
/// refuses; then the resume → it acts again.
async fn bench_refusal() {
    let n = env_number("BENCH_STOPS", 200) as usize;
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let client = Client::new(&server.url(), AGENT).unwrap();
    let control = Control::subscribe(&client, "bench-agent", OutOfContact::KeepActing);
    while control.state().is_none() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let url = format!("{}/api/v1/agents/bench-agent/interventions", server.url());
    let body = |kind: &str| {
        json!({"kind": kind, "reason": "bench", "actor_type": "HUMAN", "actor_id": "alice",
               "agent_id": "mandate-console", "origin_system_id": "bench"})
    };
    let (mut stop, mut lift) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        for (kind, stopped, into) in [("pause_agent", true, &mut stop), ("resume_agent", false, &mut lift)] {
            let r = http.post(&url).bearer_auth(ADMIN).json(&body(kind)).send().await.expect("intervene");
            let committed = Instant::now();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap_or_default());
            into.push(wait_for(&control, stopped).await - committed);
        }
    }
    for (what, mut v) in [("pause → refused", stop), ("resume → acting", lift)] {
        v.sort();
        println!(
            "stops/refusal {what}: {n} times, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            ms(percentile(&v, 0.5)),
            ms(percentile(&v, 0.99)),
            ms(*v.last().unwrap())
        );
    }
    server.stop().await;
}

/// The check an agent makes before every action, on its local copy.
async fn bench_check() {
    let n = env_number("BENCH_CHECKS", 10_000_000);
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let client = Client::new(&server.url(), AGENT).unwrap();
    let control = Control::subscribe(&client, "bench-agent", OutOfContact::KeepActing);
    while control.state().is_none() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let started = Instant::now();
    let mut allowed = 0u64;
    for _ in 0..n {
        allowed += u64::from(std::hint::black_box(control.check(Some("helm"))).is_ok());
    }
    let per = started.elapsed().as_secs_f64() * 1e9 / n as f64;
    println!("stops/check: {n} checks ({allowed} allowed), {per:.0} ns each");
    server.stop().await;
}

#[tokio::main]
async fn main() {
    let which: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let wants = |name: &str| which.is_empty() || which.iter().any(|w| w == name);
    if wants("refusal") {
        bench_refusal().await;
    }
    if wants("check") {
        bench_check().await;
    }
}
