//! Event to screen: from `POST /api/v1/events` to the new incident on the
//! console's screen, on loopback, two ways:
//!
//! - `parts`: the console's own parts in this process: the poller's long
//!   poll, decoding and cleaning, `update`, a frame drawn at 120×40 into
//!   memory;
//! - `terminal`: the real `mandate` binary in tmux, the incident's title
//!   read back from tmux's screen (polled every 2 ms or so, by running
//!   `tmux capture-pane`, which itself costs a few ms of the two cores).
//!
//!   cargo bench --bench event_to_screen [-- parts | terminal]   # BENCH_EVENTS (default 300)

#[path = "support/mod.rs"]
mod support;
use support::{env_number, ms, percentile};

use mandate::api::Role;
use mandate::auth::TokenTable;
use mandate::console::app::{Action, App, SortKey, update};
use mandate::console::config::Secret;
use mandate::console::keymap::Keymap;
use mandate::console::poller::Poller;
use mandate::console::theme::Theme;
use mandate::console::view::render;
use mandate::server::{self, RunningServer};
use mandate::store::Store;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const AGENT: &str = "mdt_bench_agent";
const RESPONDER: &str = "mdt_bench_responder";

fn on_screen(terminal: &Terminal<TestBackend>, needle: &str) -> bool {
    let text: String = terminal.backend().buffer().content().iter().map(|c| c.symbol()).collect();
    text.contains(needle)
}

/// A new failing resource: a new incident. Its title, once posted.
async fn post_failure(http: &reqwest::Client, server: &RunningServer, name: &str) -> String {
    let event = json!({
        "event_id": format!("e-{name}"), "agent_id": format!("agent-{name}"), "actor_type": "SYSTEM",
        "origin_system_id": "bench", "action_type": "tool_call", "resource": name,
        "outcome": "error", "error_code": "TIMEOUT", "occurred_at": chrono::Utc::now().to_rfc3339(),
    });
    let url = format!("{}/api/v1/events", server.url());
    let response = http.post(&url).bearer_auth(AGENT).json(&event).send().await.unwrap();
    assert_eq!(response.status(), 200);
    format!("TIMEOUT on {name}")
}

fn report(what: &str, mut latencies: Vec<Duration>) {
    latencies.sort();
    println!(
        "event to screen, {what}, {} events, SQLite, loopback: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().unwrap()),
    );
}

#[tokio::main]
async fn main() {
    let which: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let wants = |name: &str| which.is_empty() || which.iter().any(|w| w == name);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("bench.db").display())).await.unwrap();
    let tokens =
        TokenTable::default().with_token(AGENT, "fleet", Role::Agent).with_token(RESPONDER, "alice", Role::Responder);
    let server = server::start(store, tokens, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let events = env_number("BENCH_EVENTS", 300);
    if wants("parts") {
        report("console parts", parts(&server, events).await);
    }
    if wants("terminal") {
        report("real console in tmux", real_terminal(&server, events).await);
    }
    server.stop().await;
}

/// The console's parts in this process, drawing into memory.
async fn parts(server: &RunningServer, events: u64) -> Vec<Duration> {
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let (tx, mut actions) = mpsc::channel(64);
    let _requests = Poller::spawn(&server.url(), Secret::new(RESPONDER), tx);
    let keymap = Keymap::default();
    let theme = Theme::builtin("dark").unwrap();
    let mut app = App::new("bench", None, false, chrono::Utc::now());
    app.list.sort = SortKey::Newest;
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    // The first list, before the clock starts.
    while let Some(action) = actions.recv().await {
        if matches!(action, Action::Incidents(..)) {
            update(&mut app, action, &keymap);
            break;
        }
    }
    let mut latencies = Vec::with_capacity(events as usize);
    for n in 0..events {
        // The operator filters for it: the selection (kept on its incident)
        // never scrolls it out of view.
        app.list.filter = format!("svc-{n:04}");
        let posted = Instant::now();
        let title = post_failure(&http, server, &format!("svc-{n:04}")).await;
        loop {
            let Ok(Some(action)) = tokio::time::timeout(Duration::from_secs(10), actions.recv()).await else {
                panic!("{title} not on screen within 10 s:\n{:?}", terminal.backend());
            };
            let (changed, _) = update(&mut app, action, &keymap);
            if changed {
                terminal.draw(|f| render(&app, &theme, &keymap, f)).unwrap();
                if on_screen(&terminal, &title) {
                    break;
                }
            }
        }
        latencies.push(posted.elapsed());
    }
    latencies
}

/// The real binary in tmux, tall enough that every new incident is on screen.
async fn real_terminal(server: &RunningServer, events: u64) -> Vec<Duration> {
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let home = tempfile::tempdir().unwrap();
    let socket = format!("mandate-bench-{}", std::process::id());
    let tmux = |args: &[&str]| -> String {
        let out = std::process::Command::new("tmux").arg("-L").arg(&socket).args(args).output().expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let command = format!(
        "env MANDATE_API_URL={} MANDATE_TOKEN={RESPONDER} XDG_CONFIG_HOME={dir}/config XDG_STATE_HOME={dir}/state \
         TERM=xterm-256color {}",
        server.url(),
        env!("CARGO_BIN_EXE_mandate"),
        dir = home.path().display(),
    );
    let rows = (events + 20).to_string();
    tmux(&["new-session", "-d", "-s", "s", "-x", "160", "-y", &rows, &command]);
    let screen = || tmux(&["capture-pane", "-p", "-t", "s"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !screen().contains("LIVE") {
        assert!(Instant::now() < deadline, "the console did not go LIVE:\n{}", screen());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut latencies = Vec::with_capacity(events as usize);
    for n in 0..events {
        let posted = Instant::now();
        let title = post_failure(&http, server, &format!("tty-{n:04}")).await;
        while !screen().contains(&title) {
            assert!(posted.elapsed() < Duration::from_secs(10), "{title} not on screen within 10 s:\n{}", screen());
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        latencies.push(posted.elapsed());
    }
    tmux(&["kill-server"]);
    latencies
}
