//! Benchmarks of the incident side of the API on loopback, SQLite in a
//! temporary file.
//!
//!   cargo bench --bench incidents                # all
//!   cargo bench --bench incidents -- ingest      # POST /api/v1/events, batches of 100
//!   cargo bench --bench incidents -- detail      # GET /api/v1/incidents/{id}, 1,000-service catalog
//!   cargo bench --bench incidents -- longpoll    # event-to-waiter latency; 1,000 idle waiters
//!   cargo bench --bench incidents -- warroom     # 1,000 consoles long-polling one incident's detail
//!   cargo bench --bench incidents -- rollout     # GET /api/v1/attribution/rollout over 35 days of runs
//!
//! Environment: BENCH_SECONDS (default 15), BENCH_CLIENTS (4), BENCH_RATE events/s offered
//! (0: flat out, with BENCH_BATCHES of 100 prebuilt per client, default 800), BENCH_DB (sqlite; postgres with MANDATE_TEST_PG_URL),
//! BENCH_ACTIONS in the incident's window (2000), BENCH_WAITERS (1000), BENCH_ROUNDS of the war room (5),
//! BENCH_RUNS over 35 days (200000) from BENCH_SERVICES origin systems (200) for the rollout.
//!
//! The 60 s load at 10,000 events/s, on each database:
//!
//!   BENCH_SECONDS=60 BENCH_RATE=10000 cargo bench --bench incidents -- ingest
//!   tests/pg/cluster.sh start > /tmp/pg.env && . /tmp/pg.env &&
//!     BENCH_DB=postgres BENCH_SECONDS=60 BENCH_RATE=10000 cargo bench --bench incidents -- ingest

#[path = "support/mod.rs"]
mod support;
use support::{env_number, ms, percentile, resident_mib};

use mandate::api::Role;
use mandate::auth::TokenTable;
use mandate::server::{self, RunningServer};
use mandate::store::Store;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const TOKEN: &str = "mdt_bench";

/// CPU time this process has used (user + system), from /proc.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

async fn start(dir: &std::path::Path) -> RunningServer {
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let store = Store::connect(&url).await.expect("store");
    let tokens = TokenTable::default().with_token(TOKEN, "bench", Role::Admin);
    server::start(store, tokens, "127.0.0.1:0".parse().unwrap()).await.expect("server")
}

fn event(id: String, agent: &str, resource: &str, error: bool, at: chrono::DateTime<chrono::Utc>) -> Value {
    let mut e = json!({
        "event_id": id, "agent_id": agent, "actor_type": "SERVICE", "origin_system_id": "bench",
        "action_type": "tool_call", "tool": "http", "resource": resource,
        "outcome": if error { "error" } else { "ok" }, "occurred_at": at.to_rfc3339(),
    });
    if error {
        e["error_code"] = "TIMEOUT".into();
        e["error_message"] = "upstream timeout".into();
    }
    e
}

/// One batch of 100 events as JSON text: 1 in 50 is an error, spread over
/// 200 resources. Written by hand, so the load generator costs little of
/// the two cores the server also runs on.
fn ingest_batch(client: u64, batch: u64, at: &str) -> String {
    let mut body = String::with_capacity(100 * 280);
    body.push('[');
    for i in 0..100 {
        let n = batch * 100 + i;
        if i > 0 {
            body.push(',');
        }
        let error = if n.is_multiple_of(50) {
            r#","outcome":"error","error_code":"TIMEOUT","error_message":"upstream timeout""#
        } else {
            r#","outcome":"ok""#
        };
        body.push_str(&format!(
            r#"{{"event_id":"c{client}-{n}","agent_id":"agent-{}","actor_type":"SERVICE","origin_system_id":"bench","action_type":"tool_call","tool":"http","resource":"svc-{}","occurred_at":"{at}"{error}}}"#,
            n % 40,
            n % 200
        ));
    }
    body.push(']');
    body
}

/// `BENCH_RATE` events/s in all (0: as fast as the server goes) from
/// `BENCH_CLIENTS` clients for `BENCH_SECONDS`; then every acknowledged
/// event must be in the store.
async fn bench_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let (store, db) = support::ingest_store(dir.path()).await;
    let tokens = TokenTable::default().with_token(TOKEN, "bench", Role::Admin);
    let server = server::start(store, tokens, "127.0.0.1:0".parse().unwrap()).await.expect("server");
    let url = format!("{}/api/v1/events", server.url());
    let clients = env_number("BENCH_CLIENTS", 4);
    let seconds = env_number("BENCH_SECONDS", 15);
    let rate = env_number("BENCH_RATE", 0);
    // Each client sends a batch every `every`, or back to back.
    let every = (rate > 0).then(|| Duration::from_secs_f64(100.0 * clients as f64 / rate as f64));
    let at = chrono::Utc::now().to_rfc3339();
    let acknowledged = Arc::new(AtomicU64::new(0));
    // Flat out, bodies are built before the clock starts, so the figure is
    // the server's, not the load generator's on the same two cores; paced,
    // they are built as they go, so the resident figure is the server's.
    let mut prebuilt: Vec<Vec<String>> = (0..clients)
        .map(|c| {
            if rate == 0 {
                (0..env_number("BENCH_BATCHES", 800)).map(|b| ingest_batch(c, b, &at)).collect()
            } else {
                vec![]
            }
        })
        .collect();
    let rss_before = resident_mib();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let (url, acknowledged, at) = (url.clone(), acknowledged.clone(), at.clone());
            let mut bodies = std::mem::take(&mut prebuilt[client as usize]).into_iter();
            tokio::spawn(async move {
                let http = mandate::sdk::http_client_builder().build().unwrap();
                let mut latencies = Vec::new();
                let mut ticks = every.map(|e| {
                    let mut t = tokio::time::interval(e);
                    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                    t
                });
                for batch in 0.. {
                    if let Some(t) = &mut ticks {
                        t.tick().await;
                    }
                    if Instant::now() >= deadline {
                        break;
                    }
                    let body = if rate == 0 {
                        let Some(body) = bodies.next() else { break };
                        body
                    } else {
                        ingest_batch(client, batch, &at)
                    };
                    let sent = Instant::now();
                    let response = http
                        .post(&url)
                        .bearer_auth(TOKEN)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .expect("request");
                    assert_eq!(response.status(), 200);
                    let report: Value = response.json().await.unwrap();
                    latencies.push(sent.elapsed());
                    acknowledged.fetch_add(report["accepted"].as_u64().unwrap(), Ordering::Relaxed);
                }
                latencies
            })
        })
        .collect();
    let (all, peak) = support::join_clients(tasks).await;
    let elapsed = started.elapsed();
    let events = acknowledged.load(Ordering::Relaxed);
    let stored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM events").fetch_one(server.state.store().pool()).await.unwrap();
    let offered = if rate > 0 { format!("offered {rate} events/s") } else { "flat out".to_owned() };
    println!(
        "POST /api/v1/events, {clients} clients, batches of 100, {offered}, {db}: {events} events in {:.1} s = {:.0} events/s; \
         batch latency p50 {:.1} ms, p99 {:.1} ms; resident {rss_before:.0} MiB before, {peak:.0} MiB at peak \
         (server and load generator); stored {stored} (acknowledged {events})",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64(),
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99)),
    );
    assert_eq!(stored as u64, events, "every acknowledged event is stored");
    server.stop().await;
}

/// A catalog of `n` services in layers: each depends on two in the layer below.
fn big_catalog(n: usize) -> Value {
    let services: Vec<Value> = (0..n)
        .map(|i| {
            let layer = i / 50;
            let deps: Vec<String> = if layer == 0 { vec![] } else { vec![format!("svc-{}", i - 50), format!("svc-{}", (i - 50) / 2 * 2 % (layer * 50))] };
            let mut deps = deps;
            deps.dedup();
            let sensitivity = ["low", "medium", "high", "critical"][i % 4];
            json!({
                "name": format!("svc-{i}"), "kind": if layer == 0 { "datastore" } else { "service" },
                "owner": format!("@owner-{}", i % 97), "team": format!("team-{}", i % 23), "on_call": format!("@oncall-{}", i % 23),
                "sensitivity": sensitivity, "depends_on": deps,
            })
        })
        .collect();
    json!({ "service": services })
}

/// A server with a 1,000-service catalog and one incident on three services
/// sharing dependencies, BENCH_ACTIONS actions in its correlation window
/// (the last day) on the failing services and their dependencies: its URL
/// and the incident's id.
async fn busy_incident(server: &RunningServer, http: &reqwest::Client) -> (String, i64) {
    let base = server.url();
    let put =
        http.put(format!("{base}/api/v1/catalog")).bearer_auth(TOKEN).json(&big_catalog(1000)).send().await.unwrap();
    assert_eq!(put.status(), 200);
    let now = chrono::Utc::now();
    let actions = env_number("BENCH_ACTIONS", 2000) as usize;
    // All of them inside the 24-hour window, at most 40 s apart.
    let spacing = (23 * 3600 * 1000 / actions.max(1) as i64).min(40_000);
    let mut events: Vec<Value> = (0..actions)
        .map(|i| {
            let mut e = event(
                format!("a{i}"),
                &format!("agent-{}", i % 12),
                &format!("svc-{}", [100, 50, 0, 101, 51][i % 5]),
                false,
                now - chrono::Duration::milliseconds(spacing * i as i64 + 60_000),
            );
            let action = ["deploy", "config_change", "db_write", "tool_call"][i % 4];
            e["action_type"] = action.into();
            e["metadata"] = json!({"version": format!("v1.{}", i % 30), "note": "x".repeat(200)});
            e
        })
        .collect();
    for (i, svc) in [100, 101, 150].iter().enumerate() {
        events.push(event(
            format!("err{i}"),
            "runtime",
            &format!("svc-{svc}"),
            true,
            now - chrono::Duration::seconds(10 - i as i64),
        ));
    }
    for chunk in events.chunks(500) {
        let r = http.post(format!("{base}/api/v1/events")).bearer_auth(TOKEN).json(&chunk).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let page: Value =
        http.get(format!("{base}/api/v1/incidents")).bearer_auth(TOKEN).send().await.unwrap().json().await.unwrap();
    (base, page["incidents"][0]["id"].as_i64().unwrap())
}

/// One more error on the incident: a change of it. Its message is new, as
/// a real one's often is (a request id, a count).
async fn change_incident(http: &reqwest::Client, base: &str, n: usize) {
    let mut e = event(format!("more{n}"), "runtime", "svc-100", true, chrono::Utc::now());
    e["error_message"] = format!("upstream timeout after 30 s (request r-{n})").into();
    let r = http.post(format!("{base}/api/v1/events")).bearer_auth(TOKEN).json(&e).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

async fn bench_detail() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let actions = env_number("BENCH_ACTIONS", 2000);
    let (base, id) = busy_incident(&server, &http).await;
    let url = format!("{base}/api/v1/incidents/{id}");

    // The first read of the incident: everything around it read whole.
    let sent = Instant::now();
    let _ = http.get(&url).bearer_auth(TOKEN).send().await.unwrap().bytes().await.unwrap();
    let opened = sent.elapsed();
    // Computed: the first read after each change, which reads only what
    // was stored since the last.
    let mut computed = Vec::new();
    for n in 0..100 {
        change_incident(&http, &base, n).await;
        let sent = Instant::now();
        let _ = http.get(&url).bearer_auth(TOKEN).send().await.unwrap().bytes().await.unwrap();
        computed.push(sent.elapsed());
    }
    let detail: Value = http.get(&url).bearer_auth(TOKEN).send().await.unwrap().json().await.unwrap();
    computed.sort();
    let counts = server.state.desk().cache_counts();
    let windows = (counts.windows_read_whole, counts.windows_extended);
    // Served: every other read of that version, whole, and with its ETag.
    let mut served = Vec::new();
    let mut revalidated = Vec::new();
    for _ in 0..200 {
        let sent = Instant::now();
        let r = http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
        let tag = r.headers()["etag"].to_str().unwrap().to_owned();
        let _ = r.bytes().await.unwrap();
        served.push(sent.elapsed());
        let sent = Instant::now();
        let r = http.get(&url).bearer_auth(TOKEN).header("if-none-match", &tag).send().await.unwrap();
        assert_eq!(r.status(), 304);
        revalidated.push(sent.elapsed());
    }
    served.sort();
    revalidated.sort();
    let size = http.get(&url).bearer_auth(TOKEN).send().await.unwrap().bytes().await.unwrap().len();
    println!(
        "GET /api/v1/incidents/{{id}}, 1,000-service catalog, {actions} actions in the window \
         ({} candidates, {}/{}/{} services definitely/likely/possibly affected, {} suggestions, {} KiB):\n  \
         first read of the incident (computed, its window read whole): {:.1} ms\n  \
         first read after a change (computed):  p50 {:.1} ms, p99 {:.1} ms \
         (windows read whole {}, extended by what was stored since {})\n  \
         every other read (served):             p50 {:.2} ms, p99 {:.2} ms\n  \
         with its ETag (304):                   p50 {:.2} ms, p99 {:.2} ms",
        detail["analysis"]["candidates"].as_array().map_or(0, Vec::len),
        detail["blast_radius"]["definitely"].as_array().map_or(0, Vec::len),
        detail["blast_radius"]["likely"].as_array().map_or(0, Vec::len),
        detail["blast_radius"]["possibly"].as_array().map_or(0, Vec::len),
        detail["suggestions"].as_array().map_or(0, Vec::len),
        size / 1024,
        ms(opened),
        ms(percentile(&computed, 0.5)),
        ms(percentile(&computed, 0.99)),
        windows.0,
        windows.1,
        ms(percentile(&served, 0.5)),
        ms(percentile(&served, 0.99)),
        ms(percentile(&revalidated, 0.5)),
        ms(percentile(&revalidated, 0.99)),
    );
    server.stop().await;
}

/// CPU time (user + system) of this process's threads whose name starts
/// with one of `prefixes`, from /proc.
fn threads_cpu(prefixes: &[&str]) -> Duration {
    let mut ticks = 0u64;
    for task in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        let name = stat.split_once('(').and_then(|(_, rest)| rest.rsplit_once(')')).map_or("", |(n, _)| n);
        if !prefixes.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
        ticks += fields.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
            + fields.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    }
    Duration::from_millis(ticks * 10)
}

/// A war room: BENCH_WAITERS consoles long-polling one busy incident's
/// detail; each change reaches all of them. The server runs on threads of
/// its own, so its CPU is measured apart from the clients'.
async fn bench_warroom() {
    const SERVER_THREADS: [&str; 2] = ["mandate-srv", "sqlx-sqlite-wor"];
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("mandate-srv")
        .enable_all()
        .build()
        .unwrap();
    let path = dir.path().to_owned();
    let server = runtime.spawn(async move { start(&path).await }).await.unwrap();
    let http = mandate::sdk::http_client_builder().pool_max_idle_per_host(4000).build().unwrap();
    let (base, id) = busy_incident(&server, &http).await;
    let waiters = env_number("BENCH_WAITERS", 1000) as usize;
    let rounds = env_number("BENCH_ROUNDS", 5) as usize;
    let url = format!("{base}/api/v1/incidents/{id}");
    let mut answered = Vec::new();
    let mut cpu = Vec::new();
    let mut gzipped = 0;
    for round in 0..rounds {
        let first = http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
        let detail: Value = first.json().await.unwrap();
        let gz = http.get(&url).bearer_auth(TOKEN).header("accept-encoding", "gzip").send().await.unwrap();
        let tag = gz.headers()["etag"].to_str().unwrap().to_owned();
        gzipped = gz.bytes().await.unwrap().len();
        let since = detail["version"].as_i64().unwrap();
        let tasks: Vec<_> = (0..waiters)
            .map(|_| {
                let (http, url, tag) = (http.clone(), format!("{url}?since={since}&wait=30"), tag.clone());
                tokio::spawn(async move {
                    // As the console asks: gzipped.
                    let r = http
                        .get(url)
                        .bearer_auth(TOKEN)
                        .header("if-none-match", tag)
                        .header("accept-encoding", "gzip")
                        .send()
                        .await
                        .unwrap();
                    let status = r.status().as_u16();
                    let body = r.bytes().await.unwrap();
                    (status, body.len(), Instant::now())
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_secs(3)).await; // all connected and waiting
        let before = threads_cpu(&SERVER_THREADS);
        let sent = Instant::now();
        change_incident(&http, &base, 1000 + round).await;
        for t in tasks {
            let (status, len, at) = t.await.unwrap();
            assert_eq!(status, 200);
            assert!(len > 1000);
            answered.push(at - sent);
        }
        cpu.push(threads_cpu(&SERVER_THREADS) - before);
    }
    answered.sort();
    cpu.sort();
    println!(
        "{waiters} consoles long-polling one incident's detail ({} actions in its window, {} KiB gzipped), {rounds} changes: \
         each change reached all of them within p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; \
         server CPU per change (ingest, one detail computed, {waiters} answers): median {:.2} s, max {:.2} s",
        env_number("BENCH_ACTIONS", 2000),
        gzipped / 1024,
        ms(percentile(&answered, 0.5)),
        ms(percentile(&answered, 0.99)),
        ms(*answered.last().unwrap()),
        cpu[cpu.len() / 2].as_secs_f64(),
        cpu.last().unwrap().as_secs_f64(),
    );
    runtime.spawn(async move { server.stop().await }).await.unwrap();
    runtime.shutdown_background();
}

async fn bench_longpoll() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let base = server.url();
    let http = mandate::sdk::http_client_builder().pool_max_idle_per_host(2000).build().unwrap();

    // Event to a waiting client, 200 times.
    let mut latencies = Vec::new();
    for i in 0..200 {
        let since = support::feed_version(&http, &base, TOKEN).await;
        let waiter = {
            let (http, url) = (http.clone(), format!("{base}/api/v1/incidents?since={since}&wait=30&limit=1"));
            tokio::spawn(async move {
                let r = http.get(url).bearer_auth(TOKEN).send().await.unwrap();
                let _ = r.bytes().await;
                Instant::now()
            })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        let sent = Instant::now();
        let e = event(format!("lp{i}"), "agent-lp", &format!("svc-{i}"), true, chrono::Utc::now());
        http.post(format!("{base}/api/v1/events")).bearer_auth(TOKEN).json(&e).send().await.unwrap();
        latencies.push(waiter.await.unwrap() - sent);
    }
    latencies.sort();
    println!(
        "event to waiting client (POST /api/v1/events → long poll answered), 200 events: p50 {:.1} ms, p99 {:.1} ms",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99))
    );

    // Many idle waiters: CPU while nothing happens, then the fan-out of one event.
    let waiters = env_number("BENCH_WAITERS", 1000);
    let since = support::feed_version(&http, &base, TOKEN).await;
    let rss_before = resident_mib();
    let tasks: Vec<_> = (0..waiters)
        .map(|_| {
            let (http, url) = (http.clone(), format!("{base}/api/v1/incidents?since={since}&wait=30&limit=1"));
            tokio::spawn(async move {
                let r = http.get(url).bearer_auth(TOKEN).send().await.unwrap();
                let status = r.status().as_u16();
                let _ = r.bytes().await;
                (status, Instant::now())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await; // all connected and waiting
    let per_waiter_kib = (resident_mib() - rss_before) * 1024.0 / waiters as f64;
    let (cpu_before, idle_started) = (cpu_time(), Instant::now());
    tokio::time::sleep(Duration::from_secs(10)).await;
    let idle_cpu = (cpu_time() - cpu_before).as_secs_f64() / idle_started.elapsed().as_secs_f64() * 100.0;
    let sent = Instant::now();
    let e = event("fanout".into(), "agent-lp", "svc-fanout", true, chrono::Utc::now());
    http.post(format!("{base}/api/v1/events")).bearer_auth(TOKEN).json(&e).send().await.unwrap();
    let mut answered = Vec::new();
    for t in tasks {
        let (status, at) = t.await.unwrap();
        assert_eq!(status, 200);
        answered.push(at - sent);
    }
    answered.sort();
    println!(
        "{waiters} waiting clients: {per_waiter_kib:.1} KiB resident per waiter (server and client side together); \
         idle CPU {idle_cpu:.2} % of one core over 10 s (server and clients in one process); \
         one event reached all of them in {:.1} ms (p50 {:.1} ms, p99 {:.1} ms)",
        ms(*answered.last().unwrap()),
        ms(percentile(&answered, 0.5)),
        ms(percentile(&answered, 0.99)),
    );
    server.stop().await;
}

#[tokio::main]
async fn main() {
    let which: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let wants = |name: &str| which.is_empty() || which.iter().any(|w| w == name);
    if wants("ingest") {
        bench_ingest().await;
    }
    if wants("detail") {
        bench_detail().await;
    }
    if wants("longpoll") {
        bench_longpoll().await;
    }
    if wants("warroom") {
        bench_warroom().await;
    }
    if wants("rollout") {
        bench_rollout().await;
    }
}

/// The rollout's status over BENCH_RUNS runs spread across 35 days from
/// BENCH_SERVICES origin systems, 1 in 20 refused (a tenth of those with
/// the override): what one `:attribution` refresh costs the server.
async fn bench_rollout() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let runs = env_number("BENCH_RUNS", 200_000);
    let services = env_number("BENCH_SERVICES", 200).max(1);
    let pool = server.state.store().pool().clone();
    let now = chrono::Utc::now().timestamp_millis();
    let span = 35 * 86_400_000_i64;
    let filling = Instant::now();
    let chunk = 500_u64;
    for start in (0..runs).step_by(chunk as usize) {
        let (mut accepted, mut refused) = (Vec::new(), Vec::new());
        for n in start..(start + chunk).min(runs) {
            let at = now - (n as i64 * 7919 % span);
            let origin = format!("svc-{}", n % services);
            if n % 20 == 0 {
                let claimed = i64::from(n % 200 == 0);
                refused.push(format!(
                    "({at}, 'run', 'agent-{}', '{origin}', 'ATTR_ACTOR_TYPE_MISSING', {claimed},                      '{{\"agent_id\":\"a\",\"actor_type\":\"(missing)\"}}')",
                    n % 40
                ));
            } else {
                accepted.push(format!(
                    "('r{n}', 'g', 'agent-{}', 'SYSTEM', NULL, '{origin}', 'SDK', 'COMPLETED', 'succeeded',                      'internal', 'low', {at}, {at})",
                    n % 40
                ));
            }
        }
        if !accepted.is_empty() {
            let sql = format!(
                "INSERT INTO runs (run_id, goal, agent_id, actor_type, actor_id, origin_system_id, source, state,                  status, provider_type, risk_level, created_at, completed_at) VALUES {}",
                accepted.join(",")
            );
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await.unwrap();
        }
        if !refused.is_empty() {
            let sql = format!(
                "INSERT INTO attribution_rejections (at, subject, agent_id, origin_system_id, codes, override_claimed,                  payload) VALUES {}",
                refused.join(",")
            );
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await.unwrap();
        }
    }
    let filled = filling.elapsed();
    let base = server.url();
    // Computed: after a configuration change (a catalog replaced), which
    // every cached figure gives way to. Served: every other read.
    let (mut computed, mut served) = (Vec::new(), Vec::new());
    let mut body = Value::Null;
    for n in 0..10 {
        let catalog = json!({"service": [{"name": format!("svc-{n}"), "owner": "@owner"}]});
        let put = http.put(format!("{base}/api/v1/catalog")).bearer_auth(TOKEN).json(&catalog).send().await.unwrap();
        assert_eq!(put.status(), 200);
        for read in 0..10 {
            let sent = Instant::now();
            let answer =
                http.get(format!("{base}/api/v1/attribution/rollout")).bearer_auth(TOKEN).send().await.unwrap();
            body = answer.json().await.unwrap();
            if read == 0 { computed.push(sent.elapsed()) } else { served.push(sent.elapsed()) }
        }
    }
    computed.sort();
    served.sort();
    let sent = Instant::now();
    let report = http.get(format!("{base}/api/v1/attribution/report")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(report.status(), 200);
    let _ = report.text().await.unwrap();
    let report_took = sent.elapsed();
    println!(
        "GET /api/v1/attribution/rollout, {runs} runs over 35 days from {services} origin systems \
         (filled in {:.1} s; {} services listed):\n  \
         computed (after a change): p50 {:.1} ms, max {:.1} ms\n  \
         served (the next 10 s):    p50 {:.2} ms, p99 {:.2} ms\n  \
         the weekly report:         {:.1} ms",
        filled.as_secs_f64(),
        body["services"].as_array().map_or(0, Vec::len),
        ms(percentile(&computed, 0.5)),
        ms(percentile(&computed, 1.0)),
        ms(percentile(&served, 0.5)),
        ms(percentile(&served, 0.99)),
        ms(report_took),
    );
    server.stop().await;
}
