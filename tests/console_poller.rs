//! The console's poller against a real server on loopback: it learns who the
//! operator is, receives the list, and sees a new incident appear through the
//! long poll; it reports the API going away instead of hanging.

mod common;

use common::{AGENT, Db, RESPONDER, event_body, start};
use mandate::console::app::{Action, Watch};
use mandate::console::config::Secret;
use mandate::console::poller::{Poller, Request};
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

    let who = next(&mut actions, "operator", |a| matches!(a, Action::Whoami(_))).await;
    let Action::Whoami(who) = who else { unreachable!() };
    assert_eq!(who.name, "alice");
    let first = next(&mut actions, "first list", |a| matches!(a, Action::Incidents(..))).await;
    let Action::Incidents(page, _) = first else { unreachable!() };
    assert!(page.incidents.is_empty());

    let mut e = event_body("boom", 0.0, "runtime", "tool_call", "payments-service", "error");
    e["error_code"] = "TIMEOUT".into();
    e["error_message"] = "\u{1b}[31mred\u{202e}".into();
    let posted = Instant::now();
    t.post(AGENT, "/api/v1/events", &e).await;
    let arrived =
        next(&mut actions, "the new incident", |a| matches!(a, Action::Incidents(p, _) if !p.incidents.is_empty()))
            .await;
    assert!(posted.elapsed() < Duration::from_secs(5), "the long poll answered on the change");
    let Action::Incidents(page, _) = arrived else { unreachable!() };
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
