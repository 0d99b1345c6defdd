//! Flash incidents through the HTTP API on both databases, with real local
//! receivers and a manual paging clock: a blip that recovers within the
//! flash hold is never paged and is counted in the next day's digest; a
//! critical incident is never held; flash incidents tripling in a week open
//! an incident of their own.

use crate::common::{AGENT, Db, VIEWER, event_body};
use crate::paging::{Paging, state};
use chrono::{Duration, Utc};
use serde_json::Value;

const ROUTING: &str = r#"
fallback = "@platform-admin"

[[level]]
name = "primary"
targets = ["resource.owner"]
channels = ["webhook"]

[storm]
flash_hold = "30s"
"#;

/// A failure on `resource` by its own agent `minutes` from now, and its
/// recovery `recovered_after` seconds later: the incident.
async fn blip(p: &Paging, tag: &str, resource: &str, minutes: f64, recovered_after: f64) -> i64 {
    let mut failure = event_body(&format!("{tag}-e"), minutes, &format!("agent-{tag}"), "tool_call", resource, "error");
    failure["error_code"] = "E_TIMEOUT".into();
    let report = p.t.post(AGENT, "/api/v1/events", &failure).await;
    let id = report.body["incidents"][0].as_i64().unwrap();
    let ok = event_body(
        &format!("{tag}-ok"),
        minutes + recovered_after / 60.0,
        &format!("agent-{tag}"),
        "tool_call",
        resource,
        "ok",
    );
    p.t.post(AGENT, "/api/v1/events", &ok).await.succeeded();
    id
}

/// Moves the paging clock to ten past midnight tomorrow: the digest's hour.
fn to_tomorrow(p: &Paging) {
    let tomorrow = (Utc::now() + Duration::days(1)).date_naive().and_hms_opt(0, 10, 0).unwrap().and_utc();
    p.advance(tomorrow - Utc::now());
}

fn messages(p: &Paging) -> Vec<String> {
    ["webhook", "email", "slack"].iter().flat_map(|c| p.inbox.received(c)).map(|r| r.body).collect()
}

async fn a_flash_incident_is_held_never_paged_and_in_the_next_digest(db: Db) {
    let p = Paging::start(db, ROUTING).await;
    let id = blip(&p, "f1", "reports", -0.5, 20.0).await;
    let d = p.t.get(VIEWER, &format!("/api/v1/incidents/{id}")).await.body;
    assert_eq!((d["status"].as_str(), d["auto_recovered"].as_bool()), (Some("resolved"), Some(true)), "{d:#}");
    let pages = d["pages"].as_array().unwrap();
    assert!(!pages.is_empty() && pages.iter().all(|n| n["state"] == "cancelled"), "held, then cancelled: {pages:#?}");
    p.advance(Duration::seconds(61));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!messages(&p).iter().any(|m| m.contains("@rita")), "nobody woken for a blip");

    // A critical incident is never held.
    let mut critical = event_body("c1", -0.1, "agent-c1", "tool_call", "payments-service", "error");
    critical["error_code"] = "E_TIMEOUT".into();
    let critical = p.t.post(AGENT, "/api/v1/events", &critical).await.body["incidents"][0].as_i64().unwrap();
    p.pages_until(critical, "paged at once", |ps| state(ps, "@alice", "webhook") == "sent").await;

    // The next day's digest counts it.
    to_tomorrow(&p);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let digest = loop {
        if let Some(m) = messages(&p).into_iter().find(|m| m.contains("flash incident")) {
            break m;
        }
        assert!(std::time::Instant::now() < deadline, "no flash digest: {:#?}", messages(&p));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(digest.contains("1 flash incident on ") && digest.contains("reports: 1"), "{digest}");
    assert!(!digest.contains("payments-service"), "a paged incident is no flash: {digest}");
    p.t.stop().await;
}

async fn flash_incidents_tripling_in_a_week_open_an_incident(db: Db) {
    let p = Paging::start(db, ROUTING).await;
    for (n, minutes) in [-50.0, -33.0, -16.0].into_iter().enumerate() {
        blip(&p, &format!("r{n}"), "search-service", minutes, 30.0).await;
    }
    to_tomorrow(&p);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let rising = loop {
        let list = p.t.get(VIEWER, "/api/v1/incidents").await.body;
        let found = list["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["title"] == "Flash incidents rising on search-service")
            .cloned();
        if let Some(found) = found {
            break found;
        }
        assert!(std::time::Instant::now() < deadline, "no rising incident: {list:#}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!((rising["status"].as_str(), rising["resources"][0].as_str()), (Some("open"), Some("search-service")));
    let audit = p.t.get(crate::common::ADMIN, "/api/v1/audit").await.body;
    let entry: &Value = audit["entries"].as_array().unwrap().iter().find(|e| e["action"] == "flash_rising").unwrap();
    assert_eq!((entry["details"]["this_week"].as_i64(), entry["details"]["week_before"].as_i64()), (Some(3), Some(0)));
    p.t.stop().await;
}

on_both_databases!(
    a_flash_incident_is_held_never_paged_and_in_the_next_digest,
    flash_incidents_tripling_in_a_week_open_an_incident,
);
