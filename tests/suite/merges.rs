//! A duplicate incident merged into another by a person, through the HTTP
//! API on both databases with real local receivers: its events,
//! interventions and pages become the survivor's, its own paging stops (its
//! receivers are told where it went), it points to the survivor, and what
//! would have joined it joins the survivor, also after a restart.

use crate::common::{self, ADMIN, AGENT, Db, RESPONDER, VIEWER, as_alice, event_body};
use crate::paging::{Paging, state};
use serde_json::{Value, json};

fn path(id: i64) -> String {
    format!("/api/v1/incidents/{id}/interventions")
}

async fn detail(p: &Paging, id: i64) -> Value {
    p.t.get(VIEWER, &format!("/api/v1/incidents/{id}")).await.body
}

fn merge(into: Value) -> Value {
    as_alice(json!({"kind": "merge", "into_incident": into, "confirm": true, "reason": "same outage, seen twice"}))
}

/// An error on `resource` by an agent of its own, `minutes` from now.
fn error(id: &str, resource: &str) -> Value {
    let mut e = event_body(id, -0.2, &format!("agent-{id}"), "tool_call", resource, "error");
    e["error_code"] = "E_TIMEOUT".into();
    e
}

async fn merging_a_duplicate_moves_its_events_interventions_and_paging(db: Db) {
    let p = Paging::start(db, &common::escalation_example("15m", true)).await;
    let survivor = p.fail("s1", "payments-service").await;
    let duplicate = p.fail("d1", "reports").await;
    assert_ne!(survivor, duplicate);
    p.pages_until(duplicate, "the duplicate's owner paged", |ps| state(ps, "@rita", "webhook") == "sent").await;
    assert_eq!(state(&p.pages(duplicate).await, "@reports-oncall", "webhook"), "pending", "its next level waits");
    let note = as_alice(json!({"kind": "note", "reason": "reports job retried twice"}));
    assert_eq!(p.t.post(RESPONDER, &path(duplicate), &note).await.status, 200);

    // Refused, naming the field, recording nothing.
    let refused = [
        (as_alice(json!({"kind": "merge", "confirm": true, "reason": "dup"})), 400, "into_incident"),
        (merge(json!(0)), 400, "into_incident"),
        (merge(json!("x")), 400, "into_incident"),
        (merge(json!(duplicate)), 400, "into_incident"),
        (as_alice(json!({"kind": "merge", "into_incident": survivor, "reason": "dup"})), 422, "confirm"),
        (as_alice(json!({"kind": "merge", "into_incident": survivor, "confirm": true})), 400, "reason"),
        (as_alice(json!({"kind": "note", "reason": "x", "into_incident": survivor})), 400, "into_incident"),
    ];
    for (body, status, field) in refused {
        let answer = p.t.post(RESPONDER, &path(duplicate), &body).await;
        assert_eq!((answer.status, answer.body["field"].as_str()), (status, Some(field)), "{body}: {:?}", answer.body);
    }
    let unknown = p.t.post(RESPONDER, &path(duplicate), &merge(json!(9999))).await;
    assert_eq!(
        (unknown.status, unknown.body["code"].as_str()),
        (404, Some("INCIDENT_NOT_FOUND")),
        "{:?}",
        unknown.body
    );
    assert_eq!(detail(&p, duplicate).await["status"], "open", "nothing refused is recorded");

    let merged = p.t.post(RESPONDER, &path(duplicate), &merge(json!(survivor))).await;
    assert_eq!(merged.status, 200, "{:?}", merged.body);
    let message = merged.body["message"].as_str().unwrap();
    assert!(message.contains(&format!("#{duplicate} merged into #{survivor}")), "{message}");
    assert_eq!(merged.body["incident"]["merged_into"], survivor);

    // The duplicate points to the survivor and is no longer open.
    let d = detail(&p, duplicate).await;
    assert_eq!((d["merged_into"].as_i64(), d["status"].as_str()), (Some(survivor), Some("resolved")));
    // The survivor has both: events, resources, interventions, pages.
    let s = detail(&p, survivor).await;
    assert_eq!(s["merged_from"], json!([duplicate]));
    assert_eq!(s["event_count"], 2);
    let resources: Vec<&str> = s["resources"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    assert!(resources.contains(&"payments-service") && resources.contains(&"reports"), "{resources:?}");
    let timeline: Vec<&str> =
        s["timeline"].as_array().unwrap().iter().filter_map(|e| e["event"]["event_id"].as_str()).collect();
    assert!(timeline.contains(&"s1") && timeline.contains(&"d1"), "{timeline:?}");
    let kinds: Vec<&str> = s["interventions"].as_array().unwrap().iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"note") && kinds.contains(&"merge"), "{kinds:?}");
    let the_merge = s["interventions"].as_array().unwrap().iter().find(|i| i["kind"] == "merge").unwrap();
    assert_eq!(the_merge["detail"], format!("#{duplicate} into #{survivor}"));
    assert!(s["pages"].as_array().unwrap().iter().any(|pg| pg["target"] == "@rita"), "the duplicate's pages follow");

    // The duplicate's paging stopped; who was paged is told where it went.
    let pages = p
        .pages_until(duplicate, "next level cancelled", |ps| state(ps, "@reports-oncall", "webhook") == "cancelled")
        .await;
    let notice = pages.iter().find(|n| n["kind"] == "resolved" && n["target"] == "@rita").expect("rita told");
    assert!(notice["reason"].as_str().unwrap().contains(&format!("merged into #{survivor}")), "{notice}");

    // Audited under the person's HUMAN attribution.
    let audit = p.t.get(ADMIN, "/api/v1/audit").await.body;
    let entry = audit["entries"].as_array().unwrap().iter().find(|e| e["action"] == "merge").expect("audited");
    assert_eq!((entry["actor"].as_str(), entry["details"]["into"].as_i64()), (Some("alice"), Some(survivor)));
    assert_eq!(entry["details"]["attribution"]["actor_type"], "HUMAN");

    // Once only; a survivor that was itself merged is named.
    let again = p.t.post(RESPONDER, &path(duplicate), &merge(json!(survivor))).await;
    assert_eq!((again.status, again.body["code"].as_str()), (409, Some("INCIDENT_MERGED")), "{:?}", again.body);
    let third = p.fail("t1", "search").await;
    let into_merged = p.t.post(RESPONDER, &path(third), &merge(json!(duplicate))).await;
    assert_eq!(into_merged.status, 409, "{:?}", into_merged.body);
    assert!(into_merged.body["message"].as_str().unwrap().contains(&format!("merge #{third} into #{survivor}")));

    // What would have joined the duplicate joins the survivor.
    let report = p.t.post(AGENT, "/api/v1/events", &error("d2", "reports")).await;
    assert_eq!(report.body["incidents"], json!([survivor]), "{:?}", report.body);
    assert_eq!(detail(&p, survivor).await["event_count"], 3);
    p.t.stop().await;
}

/// A server started after the merge rebuilds grouping from stored events,
/// which still name the duplicate: the link leads them to the survivor.
async fn after_a_restart_errors_still_join_the_survivor(db: Db) {
    let p = Paging::start(db, &common::escalation_example("15m", true)).await;
    let survivor = p.fail("s1", "payments-service").await;
    let duplicate = p.fail("d1", "reports").await;
    assert_eq!(p.t.post(RESPONDER, &path(duplicate), &merge(json!(survivor))).await.status, 200);
    let store = p.t.server.state.store().clone();
    let fresh = mandate::desk::Desk::open(store, None, Default::default()).await.unwrap();
    let mut event = error("d2", "reports");
    event["received_at"] = event["occurred_at"].clone();
    for (field, empty) in [("scope", json!([])), ("metadata", json!({})), ("flags", json!([]))] {
        event[field] = empty;
    }
    let event: mandate::api::Event = serde_json::from_value(event).unwrap();
    let report = fresh.ingest(vec![event]).await.unwrap();
    assert_eq!(report.incidents, vec![survivor], "a fresh server follows the merge");
    p.t.stop().await;
}

/// An open duplicate cannot disappear into a resolved incident: the
/// survivor is reopened first, or merged the other way.
async fn an_open_duplicate_is_not_merged_into_a_resolved_incident(db: Db) {
    let p = Paging::start(db, &common::escalation_example("15m", true)).await;
    let resolved = p.fail("s1", "payments-service").await;
    let open = p.fail("d1", "reports").await;
    let resolve = as_alice(json!({"kind": "resolve", "resolution": "not_an_incident", "reason": "test traffic"}));
    assert_eq!(p.t.post(RESPONDER, &path(resolved), &resolve).await.status, 200);
    let answer = p.t.post(RESPONDER, &path(open), &merge(json!(resolved))).await;
    assert_eq!((answer.status, answer.body["code"].as_str()), (409, Some("INCIDENT_RESOLVED")), "{:?}", answer.body);
    assert!(answer.body["message"].as_str().unwrap().contains(&format!("reopen #{resolved} first")));
    assert_eq!(detail(&p, open).await["status"], "open");
    p.t.stop().await;
}

on_both_databases!(
    merging_a_duplicate_moves_its_events_interventions_and_paging,
    after_a_restart_errors_still_join_the_survivor,
    an_open_duplicate_is_not_merged_into_a_resolved_incident,
);
