//! Benchmarks of stops reaching agents: real `mandate serve` processes (the
//! release build) and agents in processes of their own, each holding the
//! SDK's control subscription.
//!
//!   cargo bench --bench stops                # all (replica needs PostgreSQL)
//!   cargo bench --bench stops -- refusal     # stop sent → an agent process's next check refuses
//!   cargo bench --bench stops -- replica     # the same, the stop made on another server of its PostgreSQL
//!   cargo bench --bench stops -- fleet       # 10,000 subscribed SDKs on one server, a fleet-wide stop
//!   cargo bench --bench stops -- check       # the SDK's local check, per action
//!
//! Environment: BENCH_STOPS (refusal, replica: 200 stops), BENCH_SUBSCRIBERS
//! (fleet: 10,000), BENCH_CHECKS (check: 10,000,000), MANDATE_TEST_PG_URL
//! (replica; `tests/pg/cluster.sh start` prints one).

#[path = "support/mod.rs"]
mod support;
use support::served::{BIN, Server, Setup, setup, setup_sqlite};
use support::{env_number, ms, percentile};

use mandate::sdk::{Client, Control, OutOfContact};
use serde_json::json;
use std::io::{BufRead, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Set in an agent process: `URL TOKEN AGENT`.
const AGENT_PROCESS: &str = "MANDATE_BENCH_AGENT";

fn unix_nanos() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos()
}

/// The agent process: subscribes, then checks before every "action" (each
/// 50 µs) and prints `refused NANOS` or `acting NANOS` when that flips.
fn agent_process(spec: &str) {
    let [url, token, agent]: [&str; 3] = spec.split(' ').collect::<Vec<_>>().try_into().expect("URL TOKEN AGENT");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _entered = runtime.enter();
    let client = Client::new(url, token).unwrap();
    let control = Control::subscribe(&client, agent, OutOfContact::KeepActing);
    while control.state().is_none() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready").unwrap();
    out.flush().unwrap();
    let mut refused = false;
    loop {
        let now = control.check(Some("helm")).is_err();
        if now != refused {
            refused = now;
            writeln!(out, "{} {}", if refused { "refused" } else { "acting" }, unix_nanos()).unwrap();
            out.flush().unwrap();
        }
        std::thread::sleep(Duration::from_micros(50));
    }
}

/// An agent process subscribed through the server at `base`; its lines.
struct AgentProcess {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl AgentProcess {
    fn start(base: &str, token: &str, agent: &str) -> AgentProcess {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .env(AGENT_PROCESS, format!("{base} {token} {agent}"))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let ready = lines.recv_timeout(Duration::from_secs(30)).expect("the agent process subscribes");
        assert_eq!(ready, "ready");
        AgentProcess { child, lines }
    }

    /// When the agent next turned `what` ("refused", "acting"), in Unix nanoseconds.
    fn next(&self, what: &str) -> u128 {
        let line = self.lines.recv_timeout(Duration::from_secs(30)).expect("the agent process answers");
        let (said, at) = line.split_once(' ').unwrap();
        assert_eq!(said, what, "{line}");
        at.parse().unwrap()
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn stop_body(scope: &str, target: &str, actor: &str) -> serde_json::Value {
    json!({"scope": scope, "target": target, "reason": "bench", "confirm": true, "actor_type": "HUMAN",
           "actor_id": actor, "agent_id": "mandate-console", "origin_system_id": "bench"})
}

/// A stop sent to `stopper` → the agent process subscribed to `heard`
/// refuses; then the lift → it acts again. Times from the moment the
/// request is sent (so the commit and its answer are inside them).
async fn stop_to_refusal(what: &str, s: &Setup, stopper: &Server, heard: &Server) {
    let n = env_number("BENCH_STOPS", 200) as usize;
    let agent = AgentProcess::start(&format!("http://{}", heard.addr), &s.agent, "bench-agent");
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let (mut stop, mut lift) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        for (path, into, turns) in
            [("/api/v1/stops", &mut stop, "refused"), ("/api/v1/stops/lift", &mut lift, "acting")]
        {
            let mut body = stop_body("agent", "bench-agent", "root");
            if turns == "acting" {
                body.as_object_mut().unwrap().remove("confirm");
            }
            let sent = unix_nanos();
            let r = http
                .post(format!("http://{}{path}", stopper.addr))
                .bearer_auth(&s.admin)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap_or_default());
            let at = agent.next(turns);
            into.push(Duration::from_nanos((at.saturating_sub(sent)) as u64));
        }
    }
    for (turn, mut v) in [("stop → refused", stop), ("lift → acting", lift)] {
        v.sort();
        println!(
            "stops/{what} {turn}: {n} times, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            ms(percentile(&v, 0.5)),
            ms(percentile(&v, 0.99)),
            ms(*v.last().unwrap())
        );
    }
}

async fn bench_refusal() {
    let s = setup_sqlite();
    let server = Server::start(&s.url, &s.tokens);
    stop_to_refusal("refusal (one server, SQLite)", &s, &server, &server).await;
}

async fn bench_replica() {
    let s = setup().await;
    let (a, b) = (Server::start(&s.url, &s.tokens), Server::start(&s.url, &s.tokens));
    stop_to_refusal("replica (stop on A, agent on B, PostgreSQL)", &s, &a, &b).await;
}

/// `BENCH_SUBSCRIBERS` SDK instances, one agent each, subscribed to one
/// server: its memory per subscriber, other requests meanwhile, and a
/// fleet-wide stop reaching every one.
async fn bench_fleet() {
    let n = env_number("BENCH_SUBSCRIBERS", 10_000) as usize;
    let s = setup_sqlite();
    let server = Server::start(&s.url, &s.tokens);
    let base = format!("http://{}", server.addr);
    let client = Client::new(&base, &s.agent).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = server.resident_mib();
    let ramp = Instant::now();
    let mut controls = Vec::with_capacity(n);
    for i in 0..n {
        controls.push(Control::subscribe(&client, &format!("fleet-{i}"), OutOfContact::KeepActing));
        // A thousand at a time, as a fleet's processes start.
        if i % 1000 == 999 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    while controls.iter().any(|c| c.state().is_none()) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Each is now in its long poll.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let per_kib = (server.resident_mib() - rss_before) * 1024.0 / n as f64;
    println!("stops/fleet: {n} SDKs subscribed in {:.1} s", ramp.elapsed().as_secs_f64() - 2.0);

    let http = mandate::sdk::http_client_builder().build().unwrap();
    let mut health = Vec::new();
    let mut events = Vec::new();
    for i in 0..100 {
        let sent = Instant::now();
        assert!(http.get(format!("{base}/healthz")).send().await.unwrap().status().is_success());
        health.push(sent.elapsed());
        let event = json!({"event_id": format!("bench-{i}"), "agent_id": "other", "actor_type": "SYSTEM",
            "origin_system_id": "bench", "action_type": "tool_call", "resource": "svc", "outcome": "ok",
            "occurred_at": chrono::Utc::now().to_rfc3339()});
        let sent = Instant::now();
        let r = http.post(format!("{base}/api/v1/events")).bearer_auth(&s.agent).json(&event).send().await.unwrap();
        assert!(r.status().is_success(), "{}: {}", r.status(), r.text().await.unwrap_or_default());
        events.push(sent.elapsed());
    }
    health.sort();
    events.sort();

    let cpu = |pid: &str| -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let f: Vec<&str> = stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
        (f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
            + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0))
            / 100.0
    };
    let server_pid = server.child.id().to_string();
    let (server_cpu, own_cpu) = (cpu(&server_pid), cpu("self"));
    let sent = Instant::now();
    let r = http
        .post(format!("{base}/api/v1/stops"))
        .bearer_auth(&s.admin)
        .json(&stop_body("fleet", "*", "root"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap_or_default());
    let mut reached: Vec<Option<Duration>> = vec![None; n];
    let mut left = n;
    while left > 0 {
        // Read, not checked: a check would count a refusal for each, and
        // their reports are not what this measures.
        for (i, c) in controls.iter().enumerate() {
            if reached[i].is_none() && c.stop_in_force(None).is_some() {
                reached[i] = Some(sent.elapsed());
                left -= 1;
            }
        }
        assert!(sent.elapsed() < Duration::from_secs(60), "{left} of {n} never heard the fleet's stop");
        // A scan of them all costs about a millisecond: every 10 ms, this
        // process (which also runs the 10,000 SDKs) mostly works for them.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut reached: Vec<Duration> = reached.into_iter().flatten().collect();
    reached.sort();
    println!(
        "stops/fleet: CPU while the stop spread: server {:.2} s, the SDKs' process {:.2} s",
        cpu(&server_pid) - server_cpu,
        cpu("self") - own_cpu
    );
    println!(
        "stops/fleet: {n} subscribers on one server: {per_kib:.1} KiB of server memory each; while they wait, \
         GET /healthz p50 {:.2} ms, p99 {:.2} ms, POST one event p50 {:.1} ms, p99 {:.1} ms; the fleet's stop \
         reached them all: first {:.0} ms, p10 {:.0} ms, p50 {:.0} ms, p99 {:.0} ms, last {:.0} ms (from the request sent)",
        ms(percentile(&health, 0.5)),
        ms(percentile(&health, 0.99)),
        ms(percentile(&events, 0.5)),
        ms(percentile(&events, 0.99)),
        ms(reached[0]),
        ms(percentile(&reached, 0.1)),
        ms(percentile(&reached, 0.5)),
        ms(percentile(&reached, 0.99)),
        ms(*reached.last().unwrap())
    );
    drop(controls);
}

/// The check an agent makes before every action, on its local copy.
async fn bench_check() {
    let n = env_number("BENCH_CHECKS", 10_000_000);
    let s = setup_sqlite();
    let server = Server::start(&s.url, &s.tokens);
    let client = Client::new(&format!("http://{}", server.addr), &s.agent).unwrap();
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
}

fn main() {
    if let Ok(spec) = std::env::var(AGENT_PROCESS) {
        return agent_process(&spec);
    }
    let _ = BIN;
    let which: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let wants = |name: &str| which.is_empty() || which.iter().any(|w| w == name);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        if wants("refusal") {
            bench_refusal().await;
        }
        if wants("replica") {
            if std::env::var("MANDATE_TEST_PG_URL").is_ok() {
                bench_replica().await;
            } else {
                println!("stops/replica: skipped, MANDATE_TEST_PG_URL is not set (tests/pg/cluster.sh start)");
            }
        }
        if wants("check") {
            bench_check().await;
        }
        if wants("fleet") {
            bench_fleet().await;
        }
    });
}
