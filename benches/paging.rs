//! Benchmarks of paging, against local receivers on loopback and SQLite in
//! a temporary file (or PostgreSQL with BENCH_DB=postgres).
//!
//!   cargo bench --bench paging                 # all
//!   cargo bench --bench paging -- latency      # incident opened → page at a webhook receiver
//!   cargo bench --bench paging -- burst        # 1,000 incidents at once: each paged once, storm control
//!   cargo bench --bench paging -- timers       # escalation timers with 10,000 pending: how late they fire
//!
//! Environment: BENCH_INCIDENTS (latency: 300), BENCH_BURST (1000), BENCH_TIMERS (10000),
//! BENCH_TIMER_SECONDS (when the 10,000 come due, 60), BENCH_DB (sqlite; postgres with MANDATE_TEST_PG_URL).

#[path = "support/mod.rs"]
mod support;
use support::{env_number, ms, percentile};

use mandate::api::Role;
use mandate::auth::TokenTable;
use mandate::desk::{Desk, DeskConfig};
use mandate::paging::inbox::Inbox;
use mandate::routing::{Routing, RoutingDocument};
use mandate::server::{self, RunningServer};
use mandate::store::Store;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

const TOKEN: &str = "mdt_bench";

async fn start(dir: &std::path::Path, routing: &str, inbox: &Inbox, catalog: Option<Value>) -> RunningServer {
    let (url, _) = support::bench_database(dir).await;
    let store = Store::connect_to_serve(&url, false).await.expect("store");
    let mut document: RoutingDocument = toml::from_str(routing).expect("routing");
    document.receivers = inbox.receivers();
    // Measured as Alertmanager is beside it: group_wait 0, no flash hold.
    document.storm.flash_hold = "0s".into();
    let routing = Routing::new(document, "bench routing").expect("routing");
    let catalog = catalog.map(|c| {
        mandate::catalog::Catalog::new(serde_json::from_value(c).expect("catalog"), "bench").expect("catalog")
    });
    let desk =
        Desk::open(store, catalog, DeskConfig { routing: Some(routing), ..DeskConfig::default() }).await.expect("desk");
    let tokens = TokenTable::default().with_token(TOKEN, "bench", Role::Admin);
    server::start_desk(desk, tokens, "127.0.0.1:0".parse().unwrap()).await.expect("server")
}

fn failure(n: usize, tag: &str) -> Value {
    json!({
        "event_id": format!("{tag}-{n}-{}", uuid::Uuid::now_v7()), "agent_id": format!("{tag}-agent-{n}"),
        "actor_type": "SERVICE", "origin_system_id": "bench", "action_type": "tool_call",
        "resource": format!("{tag}-svc-{n}"), "outcome": "error", "error_code": "TIMEOUT",
        "occurred_at": chrono::Utc::now().to_rfc3339(),
    })
}

async fn post(http: &reqwest::Client, server: &RunningServer, body: &Value) {
    let r =
        http.post(format!("{}/api/v1/events", server.url())).bearer_auth(TOKEN).json(body).send().await.expect("post");
    assert!(r.status().is_success(), "{}", r.text().await.unwrap_or_default());
}

/// Incident opened (the POST that opens it is sent) → the page arrives at a
/// local Standard Webhooks receiver, one incident at a time.
async fn bench_latency() {
    let n = env_number("BENCH_INCIDENTS", 300) as usize;
    let inbox = Inbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Every incident pages its own owner: storm control does not hold any back.
    let routing = "[[level]]\nname = \"primary\"\ntargets = [\"resource.owner\"]\nchannels = [\"webhook\"]\n";
    let services: Vec<Value> =
        (0..n).map(|i| json!({"name": format!("lat-svc-{i}"), "owner": format!("@owner-{i}")})).collect();
    let server = start(dir.path(), routing, &inbox, Some(json!({"service": services}))).await;
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let mut latencies = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        post(&http, &server, &failure(i, "lat")).await;
        let got = inbox.accepted("webhook", i + 1, Duration::from_secs(10)).await;
        assert_eq!(got.len(), i + 1, "page {i} did not arrive within 10 s");
        latencies.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    latencies.sort();
    println!(
        "paging latency: {n} incidents, opened → page received by a webhook receiver: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().unwrap())
    );
    server.stop().await;
}

/// 1,000 incidents opened in one burst, owned by ten people: every incident
/// reaches its owner exactly once (counted at the receiver), and each owner
/// gets one page, then one grouped message per group_interval.
async fn bench_burst() {
    let n = env_number("BENCH_BURST", 1000) as usize;
    let people = 10;
    let inbox = Inbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let routing = "[[level]]\nname = \"primary\"\ntargets = [\"resource.owner\"]\nchannels = [\"webhook\"]\n[storm]\ngroup_interval = \"5s\"\n";
    let services: Vec<Value> =
        (0..n).map(|i| json!({"name": format!("burst-svc-{i}"), "owner": format!("@person-{}", i % people)})).collect();
    let server = start(dir.path(), routing, &inbox, Some(json!({"service": services}))).await;
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let started = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let batch: Vec<Value> = chunk.iter().map(|i| failure(*i, "burst")).collect();
        post(&http, &server, &Value::Array(batch)).await;
    }
    let posted = started.elapsed();
    // Wait until every incident has been carried to its owner.
    let deadline = Instant::now() + Duration::from_secs(120);
    let (carried, messages) = loop {
        let got = inbox.received("webhook");
        let mut carried: BTreeMap<String, usize> = BTreeMap::new();
        let mut messages: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in got.iter().filter(|r| r.accepted) {
            let body = r.json();
            messages
                .entry(body["data"]["target"].as_str().unwrap_or("?").to_owned())
                .or_default()
                .insert(r.headers["webhook-id"].clone());
            for note in body["data"]["notifications"].as_array().into_iter().flatten() {
                *carried.entry(note["id"].as_str().unwrap_or("?").to_owned()).or_default() += 1;
            }
        }
        if carried.len() >= n || Instant::now() > deadline {
            break (carried, messages);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let all = started.elapsed();
    let twice = carried.values().filter(|c| **c > 1).count();
    let per_person: Vec<usize> = messages.values().map(BTreeSet::len).collect();
    println!(
        "paging burst: {n} incidents posted in {:.2} s; all {} paged within {:.2} s; notifications delivered twice: {twice}; \
         messages per person: min {} max {} (storm control: 1 page, then 1 grouped message per 5 s interval)",
        posted.as_secs_f64(),
        carried.len(),
        all.as_secs_f64(),
        per_person.iter().min().unwrap_or(&0),
        per_person.iter().max().unwrap_or(&0),
    );
    server.stop().await;
}

/// Escalation timers with 10,000 pending: probe incidents whose next level
/// is due 5 s after they open, opened one by one while 10,000 other timers
/// wait; how late each probe's page is. Then the 10,000 come due within a
/// few seconds of one another (a storm of timers): how late those are.
async fn bench_timers() {
    let n = env_number("BENCH_TIMERS", 10_000) as usize;
    let long = env_number("BENCH_TIMER_SECONDS", 60);
    let probes = 100;
    let inbox = Inbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let routing = format!(
        "[[level]]\nname = \"primary\"\ntargets = [\"@first\"]\ntimeout = \"{long}s\"\nchannels = [\"webhook\"]\n\
         [[level]]\nname = \"secondary\"\ntargets = [\"@second\"]\nchannels = [\"webhook\"]\n\
         [[rule]]\nname = \"probe\"\nmatch = {{ resource = \"probe-*\" }}\nskip_to = {{ level = \"secondary\", after = \"5s\" }}\n\
         [storm]\ngroup_interval = \"0s\"\n"
    );
    let server = start(dir.path(), &routing, &inbox, None).await;
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let started = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let batch: Vec<Value> = chunk.iter().map(|i| failure(*i, "timer")).collect();
        post(&http, &server, &Value::Array(batch)).await;
    }
    println!("paging timers: {n} incidents opened in {:.1} s: {n} timers pending", started.elapsed().as_secs_f64());
    for i in 0..probes {
        let mut e = failure(i, "probe");
        e["resource"] = format!("probe-{i}").into();
        post(&http, &server, &e).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    // Lateness of the secondary level's notifications, by kind of incident.
    let lateness = |probe: bool| -> Vec<Duration> {
        let mut late: Vec<Duration> = inbox
            .received("webhook")
            .iter()
            .filter(|r| r.accepted)
            .flat_map(|r| {
                let at = r.at;
                r.json()["data"]["notifications"].as_array().cloned().unwrap_or_default().into_iter().filter_map(
                    move |note| {
                        if note["level"] != "secondary" || note["resources"][0].as_str()?.starts_with("probe-") != probe
                        {
                            return None;
                        }
                        let due = chrono::DateTime::parse_from_rfc3339(note["due_at"].as_str()?).ok()?;
                        Some((at - due.with_timezone(&chrono::Utc)).to_std().unwrap_or_default())
                    },
                )
            })
            .collect();
        late.sort();
        late
    };
    let report = |what: &str, late: &[Duration], of: usize| {
        println!(
            "paging timers: {what}: {} of {of} fired; after their due time: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            late.len(),
            ms(percentile(late, 0.5)),
            ms(percentile(late, 0.99)),
            ms(*late.last().unwrap_or(&Duration::ZERO))
        );
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while lateness(true).len() < probes && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    report(&format!("probes, with {n} other timers pending"), &lateness(true), probes);
    let deadline = Instant::now() + Duration::from_secs(long + 240);
    while lateness(false).len() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    report(&format!("the {n}, due within seconds of one another"), &lateness(false), n);
    server.stop().await;
}

#[tokio::main]
async fn main() {
    let which: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let wants = |name: &str| which.is_empty() || which.iter().any(|w| w == name);
    if wants("latency") {
        bench_latency().await;
    }
    if wants("burst") {
        bench_burst().await;
    }
    if wants("timers") {
        bench_timers().await;
    }
}
