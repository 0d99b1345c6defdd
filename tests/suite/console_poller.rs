//! The console's poller against a real server on loopback: it learns who the
//! operator is, receives the list, and sees a new incident appear through the
//! long poll; it reports the API going away instead of hanging.

use crate::common::{self, ADMIN, AGENT, Db, RESPONDER, event_body, start, tokens};
use mandate::console::app::{Action, Watch};
use mandate::console::config::Secret;
use mandate::console::poller::{Poller, Request};
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

async fn next(actions: &mut mpsc::Receiver<Action>, what: &str, mut want: impl FnMut(&Action) -> bool) -> Action {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, actions.recv()).await {
            Ok(Some(action)) if want(&action) => return action,
            Ok(Some(_)) => continue,
            _ => panic!("no {what} within 15 s"),
        }
    }
}

#[tokio::test]
async fn a_new_incident_reaches_the_console_and_a_dead_api_is_reported() {
    let t = start(Db::Sqlite).await;
    let (tx, mut actions) = mpsc::channel(64);
    let requests = Poller::spawn(&t.server.url(), Secret::new(RESPONDER), tx);

    let who = next(&mut actions, "operator", |a| matches!(a, Action::Whoami(..))).await;
    let Action::Whoami(who, server) = who else { unreachable!() };
    assert_eq!(server.as_deref(), Some(concat!(env!("CARGO_PKG_VERSION"), " (API v1)")), "the server said its version");
    assert_eq!(who.name, "alice");
    let first = next(&mut actions, "first list", |a| matches!(a, Action::Incidents(..))).await;
    let Action::Incidents(page, _) = first else { unreachable!() };
    assert!(page.incidents.is_empty());

    let mut e = event_body("boom", 0.0, "runtime", "tool_call", "payments-service", "error");
    e["error_code"] = "TIMEOUT".into();
    e["error_message"] = "\u{1b}[31mred\u{202e}".into();
    let posted = Instant::now();
    t.post(AGENT, "/api/v1/events", &e).await.succeeded();
    let arrived = next(
        &mut actions,
        "the new incident",
        |a| matches!(a, Action::IncidentChanges(p, _) if !p.incidents.is_empty()),
    )
    .await;
    assert!(posted.elapsed() < Duration::from_secs(5), "the long poll answered on the change");
    let Action::IncidentChanges(page, _) = arrived else { unreachable!() };
    assert_eq!(page.incidents[0].title, "TIMEOUT on payments-service");

    // Watching the incident brings its detail, cleaned of hostile characters.
    requests.send(Request::Watch(Watch::Incident(page.incidents[0].id))).unwrap();
    let detail = next(&mut actions, "the detail", |a| matches!(a, Action::Detail(_))).await;
    let Action::Detail(detail) = detail else { unreachable!() };
    let mentions: Vec<String> = detail
        .timeline
        .iter()
        .filter_map(|e| match e {
            mandate::api::TimelineEntry::Event { event, .. } => event.error_message.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(mentions, ["\u{FFFD}[31mred\u{FFFD}"]);

    // The API goes away: the poller says so instead of hanging.
    t.stop().await;
    let offline = next(&mut actions, "offline", |a| matches!(a, Action::Offline(_))).await;
    let Action::Offline(reason) = offline else { unreachable!() };
    assert!(!reason.is_empty());
}

/// More incidents than one page: the console gets them all, then only what
/// changes (not the whole list again).
#[tokio::test]
async fn the_whole_list_by_pages_then_only_changes() {
    let t = start(Db::Sqlite).await;
    for batch in 0..6 {
        let events: Vec<Value> = (0..100)
            .map(|i| {
                let n = batch * 100 + i;
                let mut e = event_body(
                    &format!("e{n}"),
                    -1.0,
                    &format!("agent-{n}"),
                    "tool_call",
                    &format!("svc-{n}"),
                    "error",
                );
                e["error_code"] = "E".into();
                e
            })
            .collect();
        assert_eq!(t.post(AGENT, "/api/v1/events", &Value::from(events)).await.status, 200);
    }
    let (tx, mut actions) = mpsc::channel(64);
    let _requests = Poller::spawn(&t.server.url(), Secret::new(RESPONDER), tx);
    let first = next(&mut actions, "the whole list", |a| matches!(a, Action::Incidents(..))).await;
    let Action::Incidents(page, _) = first else { unreachable!() };
    assert_eq!(page.incidents.len(), 600, "every page, not only the first 500");
    let mut ids: Vec<i64> = page.incidents.iter().map(|i| i.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 600, "no incident twice across pages");

    let mut e = event_body("late", 0.0, "late-agent", "tool_call", "late-svc", "error");
    e["error_code"] = "E".into();
    t.post(AGENT, "/api/v1/events", &e).await.succeeded();
    let changed = next(&mut actions, "the change", |a| matches!(a, Action::IncidentChanges(..))).await;
    let Action::IncidentChanges(changes, _) = changed else { unreachable!() };
    let titles: Vec<&str> = changes.incidents.iter().map(|i| i.title.as_str()).collect();
    assert_eq!(titles, ["E on late-svc"]);
    assert_eq!(changes.counts.open, 601);
    t.stop().await;
}

/// A war room: the operator has an incident open and presses nothing;
/// another operator acknowledges it and confirms its cause. Both reach the
/// open incident through its long poll, on both databases.
async fn another_operators_change_appears_on_the_open_incident(db: Db) {
    let t = start(db).await;
    let deploy = event_body("deploy-1", -3.0, "deployer", "deploy", "payments-service", "ok");
    let mut e = event_body("boom", 0.0, "runtime", "tool_call", "payments-service", "error");
    e["error_code"] = "TIMEOUT".into();
    t.post(AGENT, "/api/v1/events", &serde_json::json!([deploy, e])).await.succeeded();
    let (tx, mut actions) = mpsc::channel(64);
    let requests = Poller::spawn(&t.server.url(), Secret::new(RESPONDER), tx);
    let first = next(&mut actions, "the list", |a| matches!(a, Action::Incidents(..))).await;
    let Action::Incidents(page, _) = first else { unreachable!() };
    let id = page.incidents[0].id;
    requests.send(Request::Watch(Watch::Incident(id))).unwrap();
    next(&mut actions, "the detail", |a| matches!(a, Action::Detail(d) if d.summary.status.as_str() == "open")).await;
    // Let the watcher settle into its long poll.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut app = mandate::console::app::App::new("test", None, false, chrono::Utc::now());
    let keymap = mandate::console::keymap::Keymap::default();
    mandate::console::app::update(&mut app, Action::Incidents(page, chrono::Utc::now()), &keymap);
    mandate::console::app::update(
        &mut app,
        Action::Key(ratatui::crossterm::event::KeyEvent::new(
            ratatui::crossterm::event::KeyCode::Enter,
            ratatui::crossterm::event::KeyModifiers::NONE,
        )),
        &keymap,
    );
    // The other operator: root-admin, through the API.
    let as_root = |mut body: Value| {
        body = common::as_alice(body);
        body["actor_id"] = "root-admin".into();
        body
    };
    let interventions = format!("/api/v1/incidents/{id}/interventions");
    let started = Instant::now();
    let ack = t.post(ADMIN, &interventions, &as_root(serde_json::json!({"kind": "acknowledge"}))).await;
    assert_eq!(ack.status, 200, "{:?}", ack.body);
    let seen = next(
        &mut actions,
        "the acknowledgement",
        |a| matches!(a, Action::Detail(d) if d.summary.status.as_str() == "acknowledged"),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(5), "by long poll, not a period: {:?}", started.elapsed());
    mandate::console::app::update(&mut app, seen, &keymap);
    let verdict = as_root(serde_json::json!({"event_id": "deploy-1", "verdict": "confirmed"}));
    let started = Instant::now();
    assert_eq!(t.post(ADMIN, &format!("/api/v1/incidents/{id}/verdicts"), &verdict).await.status, 200);
    let seen = next(&mut actions, "the verdict", |a| {
        matches!(a, Action::Detail(d) if d.analysis.candidates.first()
            .is_some_and(|c| c.verdict.is_some() && c.verdict_by.as_deref() == Some("root-admin")))
    })
    .await;
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    mandate::console::app::update(&mut app, seen, &keymap);
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
    let theme = mandate::console::theme::Theme::builtin("mono").unwrap();
    terminal.draw(|f| mandate::console::view::render(&app, &theme, &keymap, f)).unwrap();
    let screen: String = terminal.backend().buffer().content().iter().map(|c| c.symbol()).collect();
    assert!(screen.contains("ACKNOWLEDGED") && screen.contains("root-admin acknowledged"), "{screen}");
    t.stop().await;
}

on_both_databases!(another_operators_change_appears_on_the_open_incident);

/// The API dies mid-session and comes back on the same address: the poller
/// reports OFFLINE, an intervention attempted meanwhile fails visibly and is
/// not applied later, and the list is live again once the API returns.
#[tokio::test]
async fn the_api_dies_and_returns() {
    let guard = common::sqlite_store().await;
    let url = guard.url.clone();
    let first = mandate::server::start(guard.store.clone(), tokens(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = first.addr;
    let t = common::TestServer::wrap(first);
    let mut e = event_body("boom", -1.0, "deployer", "deploy", "payments-service", "error");
    e["error_code"] = "E".into();
    t.post(AGENT, "/api/v1/events", &e).await.succeeded();

    let (tx, mut actions) = mpsc::channel(64);
    let requests = Poller::spawn(&t.server.url(), Secret::new(RESPONDER), tx);
    let Action::Incidents(page, _) = next(&mut actions, "the list", |a| matches!(a, Action::Incidents(..))).await
    else {
        unreachable!()
    };
    let id = page.incidents[0].id;

    t.stop().await;
    let Action::Offline(reason) = next(&mut actions, "offline", |a| matches!(a, Action::Offline(_))).await else {
        unreachable!()
    };
    assert!(!reason.is_empty());
    // An acknowledgement while the API is down: it fails and says so.
    let intent = mandate::console::intent::Intent {
        key: "offline-ack".into(),
        label: "acknowledge".into(),
        path: format!("/api/v1/incidents/{id}/interventions"),
        body: common::as_alice(serde_json::json!({"kind": "acknowledge"})),
    };
    requests.send(Request::Send(intent)).unwrap();
    let Action::Sent { outcome, .. } = next(&mut actions, "the failure", |a| matches!(a, Action::Sent { .. })).await
    else {
        unreachable!()
    };
    let failure = outcome.expect_err("nothing was sent");
    assert!(failure.contains("gave up"), "{failure}");

    // The API returns on the same address, with the same database.
    let store = mandate::store::Store::connect(&url).await.unwrap();
    let second = mandate::server::start(store, tokens(), addr).await.unwrap();
    let back = Instant::now();
    let Action::Incidents(page, _) = next(&mut actions, "live again", |a| matches!(a, Action::Incidents(..))).await
    else {
        unreachable!()
    };
    println!("live again {:?} after the API returned", back.elapsed());
    assert_eq!(page.incidents[0].id, id, "the same data");
    assert_eq!(
        page.incidents[0].status,
        mandate::api::IncidentStatus::Open,
        "the failed acknowledgement was not applied"
    );
    let t = common::TestServer::wrap(second);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let audit = t.get(common::ADMIN, "/api/v1/audit").await;
    let acks = audit.body["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "acknowledge").count();
    assert_eq!(acks, 0, "never sent later behind the operator's back");
    t.stop().await;
    drop(guard);
}
