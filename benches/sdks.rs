//! What each SDK costs the agent that links it, against a real `mandate
//! serve` (the release build, SQLite):
//!
//! - the added cost per wrapped tool call when nothing is stopped (a call
//!   through the SDK's wrapper minus the same call bare);
//! - events per second one process records, until the server has them all;
//! - the memory of a full buffer (10,000 events), the server unreachable.
//!
//!   cargo bench --bench sdks                 # rust, python, typescript
//!   cargo bench --bench sdks -- rust         # one of them
//!
//! Python runs from target/sdk-venv when the test suite made it (else
//! python3 with sdks/python/src on its path); TypeScript from
//! sdks/typescript/dist (`npm ci` there first builds it). Environment:
//! BENCH_CALLS (200,000), BENCH_EVENTS (100,000).

#[path = "support/mod.rs"]
mod support;
use support::served::{Server, setup_sqlite};
use support::{env_number, resident_mib};

use mandate::attribution::AttributionContext;
use mandate::sdk::{Action, Agent, AgentOptions, Client, Done, OutOfContact};
use std::path::Path;
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

async fn rust(url: &str, token: &str) -> serde_json::Value {
    let calls = env_number("BENCH_CALLS", 200_000) as usize;
    let events = env_number("BENCH_EVENTS", 100_000) as usize;
    let client = Client::new(url, token).unwrap();
    let options = AgentOptions { out_of_contact: OutOfContact::KeepActing, buffer: calls + events };
    let agent = Agent::start_with(&client, AttributionContext::system("bench-rust", "bench"), options).unwrap();
    while agent.control().state().is_none() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let action = Action::tool_call("bench_tool", "bench");
    let tool = |x: u64| async move { Ok::<u64, String>(std::hint::black_box(x) + 1) };
    let started = Instant::now();
    for i in 0..calls {
        let _ = std::hint::black_box(tool(i as u64).await);
    }
    let bare = started.elapsed();
    let started = Instant::now();
    for i in 0..calls {
        let _ = std::hint::black_box(agent.act(&action, tool(i as u64)).await);
    }
    let through = started.elapsed();
    let overhead_us = (through.as_secs_f64() - bare.as_secs_f64()) / calls as f64 * 1e6;
    agent.recorder().flush(Duration::from_secs(60)).await;

    let started = Instant::now();
    for _ in 0..events {
        agent.record(&action, &Done::Ok);
    }
    let flushed = agent.recorder().flush(Duration::from_secs(120)).await;
    let per_second = events as f64 / started.elapsed().as_secs_f64();
    let sent = agent.recorder().counts().sent.load(std::sync::atomic::Ordering::Relaxed);

    // In a process of its own, so that what the calls above freed does not
    // hide what a full buffer takes.
    let me = std::env::current_exe().unwrap();
    let out = std::process::Command::new(me).env(FULL_BUFFER, "1").output().unwrap();
    let full: serde_json::Value = serde_json::from_slice(out.stdout.trim_ascii()).unwrap();
    serde_json::json!({
        "sdk": "rust",
        "wrapped_call_overhead_us": (overhead_us * 100.0).round() / 100.0,
        "events_per_second": per_second.round(),
        "all_stored": flushed && sent as usize == calls + events,
        "full_buffer_events": full["events"],
        "full_buffer_mib": full["mib"],
    })
}

/// Set in the process that measures a full buffer.
const FULL_BUFFER: &str = "MANDATE_BENCH_FULL_BUFFER";

/// A buffer of [`mandate::sdk::QUEUE`] events, the server unreachable: the
/// resident memory it added.
fn full_buffer() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let dead = Client::new("http://127.0.0.1:9", "mdt_none").unwrap();
        let action = Action::tool_call("bench_tool", "bench");
        let before = resident_mib();
        let full =
            Agent::start(&dead, AttributionContext::system("bench-full", "bench"), OutOfContact::KeepActing).unwrap();
        for _ in 0..mandate::sdk::QUEUE {
            full.record(&action, &Done::Ok);
        }
        let held = resident_mib() - before;
        let events = full.recorder().counts().queued.load(std::sync::atomic::Ordering::Relaxed);
        println!("{}", serde_json::json!({ "events": events, "mib": (held * 100.0).round() / 100.0 }));
    });
}

fn script(sdk: &str, url: &str, token: &str) -> serde_json::Value {
    let root = Path::new(ROOT);
    let mut command = match sdk {
        "python" => {
            let venv = root.join("target/sdk-venv/bin/python");
            let mut c = std::process::Command::new(if venv.exists() { venv.as_os_str() } else { "python3".as_ref() });
            c.arg(root.join("sdks/python/bench/sdk.py")).env("PYTHONPATH", root.join("sdks/python/src"));
            c
        }
        _ => {
            if !root.join("sdks/typescript/dist/index.js").exists() {
                let built = std::process::Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund"])
                    .current_dir(root.join("sdks/typescript"))
                    .status()
                    .unwrap();
                assert!(built.success(), "npm ci in sdks/typescript");
            }
            let mut c = std::process::Command::new("node");
            c.arg("--expose-gc").arg(root.join("sdks/typescript/bench/sdk.mjs"));
            c
        }
    };
    let out = command.env("MANDATE_URL", url).env("MANDATE_TOKEN", token).output().unwrap();
    assert!(out.status.success(), "{sdk}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(out.stdout.trim_ascii()).unwrap()
}

fn main() {
    if std::env::var_os(FULL_BUFFER).is_some() {
        return full_buffer();
    }
    let which: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let wants = |name: &str| which.is_empty() || which.iter().any(|w| w == name);
    let s = setup_sqlite();
    let server = Server::start(&s.url, &s.tokens);
    let url = format!("http://{}", server.addr);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut figures = Vec::new();
    if wants("rust") {
        figures.push(runtime.block_on(rust(&url, &s.agent)));
    }
    for sdk in ["python", "typescript"] {
        if wants(sdk) {
            figures.push(script(sdk, &url, &s.agent));
        }
    }
    for f in figures {
        println!(
            "sdks/{}: {} µs added per wrapped call, {} events/s recorded (all stored: {}), a full buffer of {} events holds {} MiB",
            f["sdk"].as_str().unwrap(),
            f["wrapped_call_overhead_us"],
            f["events_per_second"],
            f["all_stored"],
            f["full_buffer_events"],
            f["full_buffer_mib"]
        );
    }
}
