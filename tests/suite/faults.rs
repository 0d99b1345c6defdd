//! Faults under the server: the real `mandate serve` killed with SIGKILL in
//! the middle of ingest (every acknowledged event survives, retries add no
//! duplicates), and PostgreSQL restarted under a running server (requests in
//! the gap get 503 promptly, then it reconnects by itself).

use crate::common::{self, Db, create_token, serve_binary, tokens};
use serde_json::{Value, json};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const CLIENTS: usize = 4;
const BATCHES: usize = 40;
const PER_BATCH: usize = 50;

/// Batch `b` of client `c`: one error per batch, on the client's own resource.
/// The same every time it is made, as a client's retry sends it again.
fn batch(c: usize, b: usize) -> Value {
    static STARTED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let at = STARTED.get_or_init(|| chrono::Utc::now().to_rfc3339());
    let events: Vec<Value> = (0..PER_BATCH)
        .map(|i| {
            let mut e = json!({
                "event_id": format!("c{c}-b{b}-{i}"), "agent_id": format!("agent-{c}"), "actor_type": "SYSTEM",
                "origin_system_id": "fault-test", "action_type": "tool_call", "resource": format!("svc-{c}"),
                "outcome": if i == 0 { "error" } else { "ok" }, "occurred_at": at,
            });
            if i == 0 {
                e["error_code"] = "E".into();
            }
            e
        })
        .collect();
    Value::from(events)
}

/// Posts a batch once; its report, or None when the server did not answer.
async fn post(http: &reqwest::Client, base: &str, token: &str, body: &Value) -> Option<Value> {
    let response = http.post(format!("{base}/api/v1/events")).bearer_auth(token).json(body).send().await.ok()?;
    if response.status() != 200 {
        return None;
    }
    response.json().await.ok()
}

async fn killed_during_ingest(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let tokens_file = dir.path().join("tokens.toml").display().to_string();
    let agent = create_token(&tokens_file, "fleet", "agent");
    let viewer = create_token(&tokens_file, "victor", "viewer");
    let url = match db {
        Db::Sqlite => format!("sqlite://{}", dir.path().join("mandate.db").display()),
        Db::Postgres => common::postgres_store().await.url.clone(),
    };
    let mut first = serve_binary(&url, &tokens_file, "127.0.0.1:0");
    let addr = first.addr.clone();
    let base = format!("http://{addr}");

    // Four clients post their batches; the server is killed once a quarter
    // of them are acknowledged. What was not acknowledged is retried after.
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (base, agent, acknowledged) = (base.clone(), agent.clone(), acknowledged.clone());
            tokio::spawn(async move {
                let http = mandate::sdk::http_client_builder().build().unwrap();
                let mut acked = vec![];
                for b in 0..BATCHES {
                    if post(&http, &base, &agent, &batch(c, b)).await.is_some() {
                        acked.push(b);
                        acknowledged.fetch_add(1, Ordering::SeqCst);
                    }
                }
                acked
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while acknowledged.load(Ordering::SeqCst) < CLIENTS * BATCHES / 4 {
        assert!(Instant::now() < deadline, "ingest did not start");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.kill();
    let mut acked = vec![];
    for client in clients {
        acked.push(client.await.unwrap());
    }
    let acked_batches: usize = acked.iter().map(Vec::len).sum();
    assert!(acked_batches < CLIENTS * BATCHES, "the kill landed during ingest");

    // Restarted on the same address and database, every batch is sent
    // again: the acknowledged ones must all come back as duplicates.
    let second = serve_binary(&url, &tokens_file, &addr);
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let (mut fresh, mut replayed) = (0, 0);
    for (c, acked) in acked.iter().enumerate() {
        for b in 0..BATCHES {
            let report = post(&http, &base, &agent, &batch(c, b)).await.expect("the restarted server answers");
            let (accepted, duplicates) = (report["accepted"].as_u64().unwrap(), report["duplicates"].as_u64().unwrap());
            assert_eq!(accepted + duplicates, PER_BATCH as u64, "{report}");
            if acked.contains(&b) {
                assert_eq!(duplicates, PER_BATCH as u64, "acknowledged batch c{c}-b{b} survived the kill whole");
            }
            fresh += accepted;
            replayed += duplicates;
        }
    }
    assert!(replayed >= (acked_batches * PER_BATCH) as u64);
    println!(
        "{acked_batches} batches acknowledged before SIGKILL; after restart {fresh} events new, {replayed} replays"
    );

    // One incident per client's resource, however often its errors arrived.
    let page = common::get_json(&http, &format!("{base}/api/v1/incidents?limit=100"), &viewer).await;
    // (Four resources failing alike with no cause found may also open an
    // incident to investigate the pattern: that one is not the clients'.)
    let mut titles: Vec<&str> = page["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .filter(|t| !t.starts_with("investigate PAT-"))
        .collect();
    titles.sort();
    assert_eq!(titles, ["E on svc-0", "E on svc-1", "E on svc-2", "E on svc-3"]);
    second.stop();

    let store = mandate::store::Store::connect(&url).await.unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events").fetch_one(store.pool()).await.unwrap();
    assert_eq!(stored as usize, CLIENTS * BATCHES * PER_BATCH, "every event once");
    store.close().await;
}

on_both_databases!(killed_during_ingest);

/// A PostgreSQL cluster of this test's own, to stop and start under a server.
struct Cluster {
    url: String,
    dir: String,
}

impl Cluster {
    fn start() -> Cluster {
        let out =
            Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pg/cluster.sh")).arg("start").output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let var = |name: &str| {
            text.lines().find_map(|l| l.strip_prefix(&format!("export {name}="))).unwrap().trim().to_owned()
        };
        Cluster { url: var("MANDATE_TEST_PG_URL"), dir: var("MANDATE_TEST_PG_DIR") }
    }

    fn run(&self, command: &str) {
        let status = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pg/cluster.sh"))
            .args([command, &self.dir])
            .status()
            .unwrap();
        assert!(status.success(), "cluster.sh {command}");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.run("stop");
    }
}

#[tokio::test]
async fn postgres_restarted_under_the_server() {
    let has_postgres = ["initdb", "pg_ctl"].iter().all(|b| {
        Command::new("bash")
            .args(["-c", &format!(". {}/tests/pg/locate.sh && find_pg_bin {b}", env!("CARGO_MANIFEST_DIR"))])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if common::skip_without("the PostgreSQL server binaries", has_postgres, "postgres_restarted_under_the_server") {
        return;
    }
    let cluster = Cluster::start();
    let store = mandate::store::Store::connect(&cluster.url).await.unwrap();
    let server = mandate::server::start(store, tokens(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let t = common::TestServer::wrap(server);
    let event = |id: &str| {
        let mut e = common::event_body(id, -1.0, "deployer", "deploy", "payments-service", "error");
        e["error_code"] = "E".into();
        e
    };
    assert_eq!(t.post(common::AGENT, "/api/v1/events", &event("before")).await.status, 200);

    cluster.run("down");
    for (what, request) in [
        ("the incident list", t.http.get(t.url("/api/v1/incidents")).bearer_auth(common::VIEWER)),
        ("ingest", t.http.post(t.url("/api/v1/events")).bearer_auth(common::AGENT).json(&event("during"))),
        ("runs", t.http.get(t.url("/api/v1/runs")).bearer_auth(common::VIEWER)),
    ] {
        let asked = Instant::now();
        let answer = t.send(request.timeout(Duration::from_secs(30))).await;
        println!("{what} with PostgreSQL down: {} in {:?}", answer.status, asked.elapsed());
        assert_eq!((answer.status, answer.body["code"].as_str()), (503, Some("DATABASE_UNAVAILABLE")), "{what}");
        assert!(asked.elapsed() < Duration::from_secs(15), "{what} failed promptly, not after a hang");
    }

    // Under load: six clients, each request timed. Every one is answered
    // 503 with Retry-After within the stated bound of 3 s (the assertion
    // allows half a second more for a loaded machine; before the bound,
    // requests that waited on the pool twice took 5.5 to 8.5 s).
    let ends = Instant::now() + Duration::from_secs(6);
    let mut clients = Vec::new();
    for c in 0..6 {
        let (http, base) = (t.http.clone(), t.url(""));
        let run = common::run_body();
        clients.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut i = 0;
            while Instant::now() < ends {
                i += 1;
                let request = match (c + i) % 5 {
                    0 => http.get(format!("{base}/api/v1/incidents")).bearer_auth(common::VIEWER),
                    1 => http
                        .post(format!("{base}/api/v1/events"))
                        .bearer_auth(common::AGENT)
                        .json(&common::event_body(&format!("load-{c}-{i}"), -1.0, "d", "deploy", "svc", "error")),
                    2 => http.post(format!("{base}/api/v1/runs")).bearer_auth(common::AGENT).json(&run),
                    3 => http.get(format!("{base}/api/v1/incidents/1")).bearer_auth(common::VIEWER),
                    _ => http.get(format!("{base}/api/v1/agents")).bearer_auth(common::VIEWER),
                };
                let asked = Instant::now();
                let answer = request.timeout(Duration::from_secs(30)).send().await.unwrap();
                let took = asked.elapsed();
                let retry_after = answer.headers().get("retry-after").is_some();
                let status = answer.status().as_u16();
                let body: serde_json::Value = answer.json().await.unwrap_or_default();
                seen.push((status, body["code"].as_str().unwrap_or_default().to_owned(), retry_after, took));
            }
            seen
        }));
    }
    let mut took = Vec::new();
    for client in clients {
        for (status, code, retry_after, elapsed) in client.await.unwrap() {
            assert_eq!((status, code.as_str(), retry_after), (503, "DATABASE_UNAVAILABLE", true), "{elapsed:?}");
            took.push(elapsed);
        }
    }
    took.sort();
    let at = |q: f64| took[((took.len() - 1) as f64 * q) as usize];
    println!("{} requests with PostgreSQL down: p50 {:?}, p99 {:?}, max {:?}", took.len(), at(0.5), at(0.99), at(1.0));
    assert!(took.len() >= 12, "{} requests", took.len());
    assert!(at(1.0) < Duration::from_millis(3_500), "every request answered within the bound: max {:?}", at(1.0));

    cluster.run("up");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = t.post(common::AGENT, "/api/v1/events", &event("after")).await;
        if answer.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the server did not reconnect: {:?}", answer.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let page = t.get(common::VIEWER, "/api/v1/incidents").await;
    assert_eq!(page.status, 200);
    // (A request answered at the bound may still complete if the database
    // is back within its own wait: the load's events went to "svc".)
    let payments = page.body["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["resources"].as_array().unwrap().iter().any(|r| r == "payments-service"))
        .expect("the payments-service incident");
    assert_eq!(payments["event_count"], 2, "the events before and after, not the refused one");
    t.stop().await;
    drop(cluster);
}
