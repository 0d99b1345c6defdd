//! Keypress to proceed: a person's decision on a gated action, from the
//! moment the decision is sent to the waiting SDK call returning, against
//! real `mandate serve` processes (the release build). The agent is the
//! Rust SDK's `Agent::clear`, waiting as agents wait.
//!
//!   cargo bench --bench approvals             # both (replica needs PostgreSQL)
//!   cargo bench --bench approvals -- one      # one server, SQLite
//!   cargo bench --bench approvals -- replica  # the decision made on another server of its PostgreSQL
//!
//! Environment: BENCH_APPROVALS (rounds, default 100), MANDATE_TEST_PG_URL
//! (replica; `tests/pg/cluster.sh start` prints one).

#[path = "support/mod.rs"]
mod support;
use support::served::{BIN, Server, Setup, setup, setup_sqlite};
use support::{env_number, ms, percentile};

use mandate::sdk::{Action, Agent, Clearance, Client, OutOfContact};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A responder token in the setup's tokens file.
fn responder(setup: &Setup) -> String {
    let out = std::process::Command::new(BIN)
        .args(["token", "create", "--name", "alice", "--role", "responder", "--tokens-file", &setup.tokens])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn gate_drops(http: &reqwest::Client, base: &str, admin: &str) {
    let url = format!("{base}/api/v1/routing");
    let mut routing: Value = http.get(&url).bearer_auth(admin).send().await.unwrap().json().await.unwrap();
    routing["critical_point"] =
        json!([{"name": "drops", "reason": "irreversible", "match": {"action_type": "drop_table"}}]);
    assert!(http.put(&url).bearer_auth(admin).json(&routing).send().await.unwrap().status().is_success());
}

/// `rounds` gated actions by an agent on `agent_base`, each approved
/// through `decide_base`: how long from sending the decision to the SDK
/// call returning.
async fn rounds(setup: &Setup, alice: &str, (agent_base, decide_base): (&str, &str), rounds: usize) -> Vec<Duration> {
    let http = mandate::sdk::http_client_builder().build().unwrap();
    gate_drops(&http, decide_base, &setup.admin).await;
    let client = Client::new(agent_base, &setup.agent).unwrap();
    let attribution = mandate::attribution::AttributionContext::system("bench-migrator", "bench");
    let agent = std::sync::Arc::new(Agent::start(&client, attribution, OutOfContact::KeepActing).unwrap());
    while !agent.control().may_gate("drop_table") {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut took = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let waiting = {
            let agent = agent.clone();
            tokio::spawn(async move {
                let action = Action::tool_call("psql", &format!("orders-{round}")).of_type("drop_table");
                let cleared = agent.clear(&action).await;
                (cleared, Instant::now())
            })
        };
        let approval = loop {
            let list: Value = http
                .get(format!("{decide_base}/api/v1/approvals"))
                .bearer_auth(&setup.admin)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let found = list["approvals"].as_array().unwrap().iter().find(|a| a["status"] == "waiting").cloned();
            match found {
                Some(a) => break a,
                None => tokio::time::sleep(Duration::from_millis(2)).await,
            }
        };
        // Let the SDK settle into its wait, as it would while a person reads.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let body = json!({"decision": "approve", "reason": "bench", "digest": approval["digest"], "confirm": true,
            "actor_type": "HUMAN", "actor_id": "alice", "agent_id": "bench", "origin_system_id": "bench"});
        let pressed = Instant::now();
        let url = format!("{decide_base}/api/v1/approvals/{}/decision", approval["id"]);
        let answer = http.post(url).bearer_auth(alice).json(&body).send().await.unwrap();
        assert!(answer.status().is_success(), "{}", answer.text().await.unwrap());
        let (cleared, returned) = waiting.await.unwrap();
        assert!(matches!(cleared, Ok(Clearance::Approved(_))), "{cleared:?}");
        took.push(returned - pressed);
    }
    took.sort();
    took
}

fn report(name: &str, took: &[Duration]) {
    println!(
        "approvals/{name}: keypress to proceed over {} decisions: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target p99 <= 200 ms)",
        took.len(),
        ms(percentile(took, 0.50)),
        ms(percentile(took, 0.99)),
        ms(*took.last().unwrap()),
    );
}

fn main() {
    let which: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let wants = |name: &str| which.is_empty() || which.iter().any(|w| w == name);
    let n = env_number("BENCH_APPROVALS", 100) as usize;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        if wants("one") {
            let s = setup_sqlite();
            let alice = responder(&s);
            let server = Server::start(&s.url, &s.tokens);
            let base = format!("http://{}", server.addr);
            report("one", &rounds(&s, &alice, (&base, &base), n).await);
        }
        if wants("replica") {
            if std::env::var("MANDATE_TEST_PG_URL").is_err() {
                println!("approvals/replica: skipped, MANDATE_TEST_PG_URL is not set (tests/pg/cluster.sh start)");
                return;
            }
            let s = setup().await;
            let alice = responder(&s);
            let (first, second) = (Server::start(&s.url, &s.tokens), Server::start(&s.url, &s.tokens));
            let (agent_base, decide_base) = (format!("http://{}", second.addr), format!("http://{}", first.addr));
            report("replica", &rounds(&s, &alice, (&agent_base, &decide_base), n).await);
        }
    });
}
