//! Benchmarks of several real `mandate serve` processes (release build) on
//! one PostgreSQL database, and of many long-poll clients on one server.
//!
//!   tests/pg/cluster.sh start > /tmp/pg.env && . /tmp/pg.env
//!   cargo bench --bench replicas                 # all
//!   cargo bench --bench replicas -- ingest       # events/s with 1, 2 and 3 servers
//!   cargo bench --bench replicas -- wake         # change on B → long poll on A answered
//!   cargo bench --bench replicas -- waiters      # 10,000 long-poll clients on one server
//!
//! Environment: MANDATE_TEST_PG_URL (required), BENCH_SECONDS (10) of load per
//! server count, BENCH_CLIENTS (8) posting batches of 50 events flat out,
//! BENCH_WAITERS (10000).

#[path = "support/mod.rs"]
mod support;
use support::served::{Server, setup};
use support::{env_number, ms, percentile};

use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const BATCH: usize = 50;

fn event(id: String, resource: &str, error: bool) -> Value {
    json!({
        "event_id": id, "agent_id": format!("agent-{resource}"), "actor_type": "SYSTEM",
        "origin_system_id": "bench-fleet", "action_type": "tool_call", "resource": resource,
        "outcome": if error { "error" } else { "ok" }, "error_code": if error { Some("E") } else { None },
        "occurred_at": chrono::Utc::now().to_rfc3339(),
    })
}

/// Batches of 50: one event in five an error on one of 12 failing
/// resources, the rest successes on 40 healthy ones.
fn batch(client: usize, n: u64) -> Value {
    Value::Array(
        (0..BATCH as u64)
            .map(|i| {
                let k = n * BATCH as u64 + i;
                if k.is_multiple_of(5) {
                    event(format!("b{client}-{k}"), &format!("failing-{}", k / 5 % 12), true)
                } else {
                    event(format!("b{client}-{k}"), &format!("healthy-{}", k % 40), false)
                }
            })
            .collect(),
    )
}

async fn bench_ingest() {
    let seconds = env_number("BENCH_SECONDS", 10);
    let clients = env_number("BENCH_CLIENTS", 8) as usize;
    for servers in 1..=3 {
        let s = setup().await;
        let fleet: Vec<Server> = (0..servers).map(|_| Server::start(&s.url, &s.tokens)).collect();
        let addrs: Arc<Vec<String>> = Arc::new(fleet.iter().map(|f| f.addr.clone()).collect());
        let http = mandate::sdk::http_client_builder().build().unwrap();
        let done = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let tasks: Vec<_> = (0..clients)
            .map(|c| {
                let (http, addrs, done, agent) = (http.clone(), addrs.clone(), done.clone(), s.agent.clone());
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    for n in 0.. {
                        if started.elapsed() >= Duration::from_secs(seconds) {
                            break;
                        }
                        let body = batch(c, n);
                        let server = &addrs[(c + n as usize) % addrs.len()];
                        let sent = Instant::now();
                        let r = http
                            .post(format!("http://{server}/api/v1/events"))
                            .bearer_auth(&agent)
                            .json(&body)
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
                        latencies.push(sent.elapsed());
                        done.fetch_add(BATCH as u64, Ordering::Relaxed);
                    }
                    latencies
                })
            })
            .collect();
        let mut latencies: Vec<Duration> = Vec::new();
        for t in tasks {
            latencies.extend(t.await.unwrap());
        }
        let elapsed = started.elapsed().as_secs_f64();
        latencies.sort();
        println!(
            "{servers} server(s), {clients} clients posting batches of {BATCH} round-robin for {seconds} s: \
             {:.0} events/s; batch p50 {:.1} ms, p99 {:.1} ms",
            done.load(Ordering::Relaxed) as f64 / elapsed,
            ms(percentile(&latencies, 0.5)),
            ms(percentile(&latencies, 0.99)),
        );
    }
}

async fn bench_wake() {
    let s = setup().await;
    let (a, b) = (Server::start(&s.url, &s.tokens), Server::start(&s.url, &s.tokens));
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let mut woke = Vec::new();
    for i in 0..200 {
        let since = support::feed_version(&http, &format!("http://{}", a.addr), &s.admin).await;
        let waiter = {
            let (http, url, token) = (
                http.clone(),
                format!("http://{}/api/v1/incidents?since={since}&wait=30&limit=1", a.addr),
                s.admin.clone(),
            );
            tokio::spawn(async move {
                let r = http.get(url).bearer_auth(token).send().await.unwrap();
                let _ = r.bytes().await;
                Instant::now()
            })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        let body = event(format!("w{i}"), &format!("svc-{i}"), true);
        let r = http.post(format!("http://{}/api/v1/events", b.addr)).bearer_auth(&s.agent).json(&body).send().await;
        // From the commit on B: its answer comes after the commit.
        let committed = Instant::now();
        assert_eq!(r.unwrap().status(), 200);
        woke.push(waiter.await.unwrap().saturating_duration_since(committed));
    }
    woke.sort();
    println!(
        "change committed on server B → long poll on server A answered, 200 changes: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms \
         (measured from B's answer, so an upper bound minus B's reply time)",
        ms(percentile(&woke, 0.5)),
        ms(percentile(&woke, 0.99)),
        ms(*woke.last().unwrap()),
    );
}

async fn bench_waiters() {
    let waiters = env_number("BENCH_WAITERS", 10_000) as usize;
    let s = setup().await;
    let server = Server::start(&s.url, &s.tokens);
    let http = mandate::sdk::http_client_builder().pool_max_idle_per_host(waiters).build().unwrap();
    let since = support::feed_version(&http, &format!("http://{}", server.addr), &s.admin).await;
    let rss_before = server.resident_mib();
    let connected = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(waiters);
    let ramp = Instant::now();
    for i in 0..waiters {
        let (http, token, connected) = (http.clone(), s.admin.clone(), connected.clone());
        let url = format!("http://{}/api/v1/incidents?since={since}&wait=30&limit=1", server.addr);
        tasks.push(tokio::spawn(async move {
            let r = http.get(url).bearer_auth(token).send().await;
            connected.fetch_add(1, Ordering::Relaxed);
            let r = match r {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("a waiter failed: {e}");
                    return (0, Instant::now());
                }
            };
            let status = r.status().as_u16();
            let _ = r.bytes().await;
            (status, Instant::now())
        }));
        // Ramp up: a thousand connections at a time.
        if i % 1000 == 999 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // All waiting: each request is in the server before this settles.
    tokio::time::sleep(Duration::from_secs(5)).await;
    if connected.load(Ordering::Relaxed) > 0 {
        let (status, at) = tasks.remove(0).await.unwrap();
        panic!(
            "{} answered before the change; the first: {status} after {:?}",
            connected.load(Ordering::Relaxed),
            at - ramp
        );
    }
    let per_waiter_kib = (server.resident_mib() - rss_before) * 1024.0 / waiters as f64;
    println!("{waiters} long-poll clients connected in {:.1} s", ramp.elapsed().as_secs_f64() - 5.0);

    // Other requests while they wait.
    let other = mandate::sdk::http_client_builder().build().unwrap();
    let mut others = Vec::new();
    for _ in 0..100 {
        let sent = Instant::now();
        let r =
            other.get(format!("http://{}/api/v1/incidents?limit=50", server.addr)).bearer_auth(&s.admin).send().await;
        assert_eq!(r.unwrap().status(), 200);
        others.push(sent.elapsed());
    }
    others.sort();

    let sent = Instant::now();
    let body = event("fanout".into(), "svc-fanout", true);
    let r = other.post(format!("http://{}/api/v1/events", server.addr)).bearer_auth(&s.agent).json(&body).send().await;
    assert_eq!(r.unwrap().status(), 200);
    let mut answered = Vec::with_capacity(waiters);
    let mut failed = 0;
    for t in tasks {
        match t.await.unwrap() {
            (200, at) => answered.push(at - sent),
            _ => failed += 1,
        }
    }
    assert_eq!(failed, 0, "{failed} of {waiters} waiters failed (their errors are above)");
    answered.sort();
    println!(
        "{waiters} long-poll clients on one server: {per_waiter_kib:.1} KiB of server memory per waiter; \
         GET /api/v1/incidents while they wait p50 {:.1} ms, p99 {:.1} ms; one event reached all of them \
         (p50 {:.1} ms, p99 {:.1} ms, last {:.1} ms, including the POST)",
        ms(percentile(&others, 0.5)),
        ms(percentile(&others, 0.99)),
        ms(percentile(&answered, 0.5)),
        ms(percentile(&answered, 0.99)),
        ms(*answered.last().unwrap()),
    );
}

#[tokio::main]
async fn main() {
    let which: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let wants = |name: &str| which.is_empty() || which.iter().any(|w| w == name);
    if wants("ingest") {
        bench_ingest().await;
    }
    if wants("wake") {
        bench_wake().await;
    }
    if wants("waiters") {
        bench_waiters().await;
    }
}
