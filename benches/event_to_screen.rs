//! Event to screen: from `POST /api/v1/events` to the new incident on the
//! console's screen, through the console's own parts: the poller's long poll
//! on loopback, decoding and cleaning, `update`, and a frame drawn at
//! 120×40 (into memory: the terminal write itself is not timed).
//!
//!   cargo bench --bench event_to_screen           # BENCH_EVENTS (default 300)

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
use mandate::server;
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

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("bench.db").display())).await.unwrap();
    let tokens =
        TokenTable::default().with_token(AGENT, "fleet", Role::Agent).with_token(RESPONDER, "alice", Role::Responder);
    let server = server::start(store, tokens, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let url = format!("{}/api/v1/events", server.url());

    let (tx, mut actions) = mpsc::channel(64);
    let _requests = Poller::spawn(&server.url(), Secret::new(RESPONDER), tx);
    let keymap = Keymap::default();
    let theme = Theme::builtin("dark").unwrap();
    let mut app = App::new("bench", None, false, chrono::Utc::now());
    app.sort = SortKey::Newest;
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    // The first list, before the clock starts.
    while let Some(action) = actions.recv().await {
        if matches!(action, Action::Incidents(..)) {
            update(&mut app, action, &keymap);
            break;
        }
    }

    let events = env_number("BENCH_EVENTS", 300);
    let mut latencies = Vec::with_capacity(events as usize);
    for n in 0..events {
        // A new failing resource: a new incident, newest first on screen.
        let title = format!("TIMEOUT on svc-{n:04}");
        let event = json!({
            "event_id": format!("e{n}"), "agent_id": format!("agent-{n}"), "actor_type": "SYSTEM",
            "origin_system_id": "bench", "action_type": "tool_call", "resource": format!("svc-{n:04}"),
            "outcome": "error", "error_code": "TIMEOUT", "occurred_at": chrono::Utc::now().to_rfc3339(),
        });
        // The operator filters for it: the selection (kept on its incident)
        // never scrolls it out of view.
        app.filter = format!("svc-{n:04}");
        let posted = Instant::now();
        let response = http.post(&url).bearer_auth(AGENT).json(&event).send().await.unwrap();
        assert_eq!(response.status(), 200);
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
    latencies.sort();
    println!(
        "event to screen, {events} events, SQLite, loopback: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().unwrap()),
    );
    server.stop().await;
}
