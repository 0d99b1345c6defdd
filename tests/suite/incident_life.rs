//! An incident's life in a person's hands, through the HTTP API on both
//! databases with real local receivers: resolved by hand with a resolution
//! (paging stops, the receivers are told), reopened (paged again), a note on
//! its timeline, its severity changed (it holds, routing decides again).

use crate::common::{self, ADMIN, AGENT, Db, RESPONDER, VIEWER, as_alice, event_body};
use crate::paging::{Paging, WAIT, state};
use serde_json::{Value, json};

fn path(id: i64) -> String {
    format!("/api/v1/incidents/{id}/interventions")
}

async fn detail(p: &Paging, id: i64) -> Value {
    p.t.get(VIEWER, &format!("/api/v1/incidents/{id}")).await.body
}

/// The audit entries of one action, oldest first.
async fn audited(p: &Paging, action: &str) -> Vec<Value> {
    let audit = p.t.get(ADMIN, "/api/v1/audit").await.body;
    let mut entries: Vec<Value> =
        audit["entries"].as_array().unwrap().iter().filter(|e| e["action"] == action).cloned().collect();
    entries.reverse();
    entries
}

/// Refused bodies name the field and record nothing; a resolution by hand
/// stops paging, tells PagerDuty and the webhook, is audited under the
/// person's HUMAN attribution, replays by Idempotency-Key, and cannot be
/// given twice.
async fn resolving_by_hand_stops_paging_and_tells_the_receivers(db: Db) {
    let p = Paging::start(db, &common::escalation_example("15m", true)).await;
    let id = p.fail("f1", "payments-service").await;
    p.pages_until(id, "owner paged", |ps| state(ps, "@alice", "webhook") == "sent").await;
    assert_eq!(state(&p.pages(id).await, "@payments-oncall", "webhook"), "pending", "the next level waits");

    let refused = [
        (json!({"kind": "resolve", "reason": "fixed"}), "resolution"),
        (json!({"kind": "resolve", "resolution": "cause_undetermined"}), "reason"),
        (json!({"kind": "resolve", "resolution": "fixed", "reason": "x"}), "resolution"),
        (json!({"kind": "resolve", "resolution": "cause_confirmed", "reason": "x"}), "event_id"),
        (
            json!({"kind": "resolve", "resolution": "cause_confirmed", "event_id": "no-such-event", "reason": "x"}),
            "event_id",
        ),
        (json!({"kind": "resolve", "resolution": "not_an_incident", "event_id": "f1", "reason": "x"}), "event_id"),
        (json!({"kind": "acknowledge", "resolution": "not_an_incident"}), "resolution"),
    ];
    for (body, field) in refused {
        let answer = p.t.post(RESPONDER, &path(id), &as_alice(body.clone())).await;
        assert_eq!((answer.status, answer.body["field"].as_str()), (400, Some(field)), "{body}: {:?}", answer.body);
    }
    assert!(audited(&p, "resolve").await.is_empty(), "nothing refused is recorded");
    assert_eq!(detail(&p, id).await["status"], "open");

    let body = as_alice(
        json!({"kind": "resolve", "resolution": "cause_undetermined", "reason": "pool restarted; cause unknown"}),
    );
    let send = || {
        p.t.send(p.t.http.post(p.t.url(&path(id))).bearer_auth(RESPONDER).header("Idempotency-Key", "r-1").json(&body))
    };
    let first = send().await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let message = first.body["message"].as_str().unwrap();
    assert!(message.contains("resolved (cause undetermined): paging stopped"), "{message}");
    let replay = send().await;
    assert_eq!((replay.status, &replay.body), (200, &first.body), "a retry is answered the same");
    let entries = audited(&p, "resolve").await;
    assert_eq!(entries.len(), 1, "one resolution, however many retries");
    assert_eq!(entries[0]["actor"], "alice");
    assert_eq!(entries[0]["details"]["attribution"]["actor_type"], "HUMAN");
    assert_eq!(entries[0]["details"]["resolution"], "cause_undetermined");

    let d = detail(&p, id).await;
    assert_eq!(d["status"], "resolved");
    assert!(d["resolved_at"].is_string());
    assert_eq!(d["resolution"]["kind"], "cause_undetermined");
    assert_eq!(
        (d["resolution"]["by"].as_str(), d["resolution"]["reason"].as_str()),
        (Some("alice"), Some("pool restarted; cause unknown"))
    );
    let note = d["interventions"].as_array().unwrap().iter().find(|i| i["kind"] == "resolve").expect("on the timeline");
    assert_eq!(note["detail"], "(cause undetermined)");

    // Paging stopped: the next level's timer is cancelled, and the
    // receivers that support it are told (PagerDuty resolves its alert).
    let pages =
        p.pages_until(id, "next level cancelled", |ps| state(ps, "@payments-oncall", "webhook") == "cancelled").await;
    assert!(pages.iter().any(|n| n["kind"] == "resolved"), "{pages:#?}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    p.advance(chrono::Duration::seconds(61));
    let pd = p.inbox.accepted("pagerduty", 2, WAIT).await;
    assert_eq!(pd[1].json()["event_action"], "resolve", "{:?}", pd.iter().map(|r| r.json()).collect::<Vec<_>>());
    assert_eq!(p.inbox.accepted("webhook", 2, WAIT).await[1].json()["type"], "incident.resolved");
    // Much later, nobody else is paged.
    p.advance(chrono::Duration::hours(2));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(state(&p.pages(id).await, "@payments-lead", "webhook"), "cancelled");

    let again =
        p.t.post(
            RESPONDER,
            &path(id),
            &as_alice(json!({"kind": "resolve", "resolution": "not_an_incident", "reason": "x"})),
        )
        .await;
    assert_eq!((again.status, again.body["code"].as_str()), (409, Some("INCIDENT_RESOLVED")), "{:?}", again.body);
    assert!(again.body["message"].as_str().unwrap().contains("by alice (cause_undetermined)"), "{:?}", again.body);
    p.t.stop().await;
}

/// Reopening needs a resolved incident and a reason; it routes the incident
/// afresh and pages its owner again. A confirmed cause names a stored event.
async fn reopening_by_hand_pages_again(db: Db) {
    let p = Paging::start(db, &common::escalation_example("15m", true)).await;
    let id = p.fail("f1", "payments-service").await;
    p.pages_until(id, "owner paged", |ps| state(ps, "@alice", "webhook") == "sent").await;
    let open = p.t.post(RESPONDER, &path(id), &as_alice(json!({"kind": "reopen", "reason": "back"}))).await;
    assert_eq!((open.status, open.body["code"].as_str()), (409, Some("INCIDENT_NOT_RESOLVED")), "{:?}", open.body);

    let confirmed = as_alice(
        json!({"kind": "resolve", "resolution": "cause_confirmed", "event_id": "f1", "reason": "the timeout itself"}),
    );
    p.t.post(RESPONDER, &path(id), &confirmed).await.succeeded();
    assert_eq!(detail(&p, id).await["resolution"]["event_id"], "f1");
    let no_reason = p.t.post(RESPONDER, &path(id), &as_alice(json!({"kind": "reopen"}))).await;
    assert_eq!((no_reason.status, no_reason.body["field"].as_str()), (400, Some("reason")));

    let before = p.inbox.received("webhook").len();
    let reopen =
        p.t.post(RESPONDER, &path(id), &as_alice(json!({"kind": "reopen", "reason": "customers still see errors"})))
            .await;
    assert_eq!(reopen.status, 200, "{:?}", reopen.body);
    let d = detail(&p, id).await;
    assert_eq!(d["status"], "open");
    assert!(d.get("resolution").is_none(), "a reopened incident has no resolution: {d:#}");
    assert!(d["resolved_at"].is_null());
    // Paged again from now (grouping holds it until group_interval passes).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    p.advance(chrono::Duration::seconds(61));
    let hooks = p.inbox.accepted("webhook", before + 1, WAIT).await;
    assert!(
        hooks[before..].iter().any(|h| h.json()["type"] == "incident.page"),
        "{:?}",
        hooks.iter().map(|h| h.json()["type"].clone()).collect::<Vec<_>>()
    );
    assert_eq!(audited(&p, "reopen").await[0]["details"]["reason"], "customers still see errors");
    p.t.stop().await;
}

/// A note lands on the timeline in the responder's words (a hostile string
/// is stored as given; the console makes it inert). A severity set by hand
/// holds against new events, and routing decides again.
async fn notes_and_a_severity_set_by_hand(db: Db) {
    let p = Paging::start(db, &common::escalation_example("15m", true)).await;
    let id = p.fail("f1", "reports").await;
    let empty = p.t.post(RESPONDER, &path(id), &as_alice(json!({"kind": "note", "reason": "   "}))).await;
    assert_eq!((empty.status, empty.body["field"].as_str()), (400, Some("reason")), "{:?}", empty.body);
    assert!(empty.body["message"].as_str().unwrap().contains("a note's text goes in reason"));
    let text = "restarted the pool, no change \u{1b}[2J";
    p.t.post(RESPONDER, &path(id), &as_alice(json!({"kind": "note", "reason": text}))).await.succeeded();
    let d = detail(&p, id).await;
    let note = d["interventions"].as_array().unwrap().iter().find(|i| i["kind"] == "note").unwrap();
    assert_eq!((note["actor_id"].as_str(), note["reason"].as_str()), (Some("alice"), Some(text)));
    assert_eq!(d["status"], "open", "a note changes nothing else");

    let was = d["severity"].as_str().unwrap().to_owned();
    assert_ne!(was, "critical");
    let missing = p.t.post(RESPONDER, &path(id), &as_alice(json!({"kind": "change_severity", "reason": "x"}))).await;
    assert_eq!((missing.status, missing.body["field"].as_str()), (400, Some("severity")));
    let raise = as_alice(json!({"kind": "change_severity", "severity": "critical", "reason": "the CFO's report"}));
    let answer = p.t.post(RESPONDER, &path(id), &raise).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(
        answer.body["message"].as_str().unwrap().contains(&format!("severity {was} → critical: routing decided again"))
    );
    let same = p.t.post(RESPONDER, &path(id), &raise).await;
    assert!(same.body["message"].as_str().unwrap().contains("already critical"), "{:?}", same.body);
    assert_eq!(audited(&p, "change_severity").await.len(), 1, "nothing to do is not recorded");

    let mut more = event_body("f2", -0.2, "agent-f1", "tool_call", "reports", "error");
    more["error_code"] = "E_TIMEOUT".into();
    p.t.post(AGENT, "/api/v1/events", &more).await.succeeded();
    let d = detail(&p, id).await;
    assert_eq!(d["event_count"], 2);
    assert_eq!(d["severity"], "critical", "a new event does not undo a person's severity");
    let note = d["interventions"].as_array().unwrap().iter().find(|i| i["kind"] == "change_severity").unwrap();
    assert_eq!(note["detail"], format!("{was} → critical"));
    assert_eq!(d["routing"]["rule_matched"], "critical", "routing reads the new severity: {:#}", d["routing"]);
    // The critical rule pages on PagerDuty too; the low one did not.
    let pages =
        p.pages_until(id, "paged by the critical rule", |ps| ps.iter().any(|n| n["channel"] == "pagerduty")).await;
    assert!(pages.iter().any(|n| n["target"] == "@rita" && n["channel"] == "pagerduty"), "{pages:#?}");
    p.t.stop().await;
}

/// The draft postmortem: refused before the incident is resolved; then
/// every part from the record (the first error, each page with its delay,
/// the acknowledgement, a note, the confirmed cause with its verdict, the
/// suggestions and whether they were acted on), a note's line breaks and
/// pipes kept from breaking the Markdown, and blanks left to fill.
async fn a_resolved_incident_drafts_its_postmortem_from_the_record(db: Db) {
    let p = Paging::start(db, &common::escalation_example("15m", true)).await;
    let mut deploy = event_body("d1", -2.0, "deployer", "deploy", "payments-service", "ok");
    deploy["tool"] = "kubectl".into();
    p.t.post(AGENT, "/api/v1/events", &deploy).await.succeeded();
    let id = p.fail("f1", "payments-service").await;
    p.pages_until(id, "owner paged", |ps| state(ps, "@alice", "webhook") == "sent").await;
    let early = p.t.get(VIEWER, &format!("/api/v1/incidents/{id}/postmortem")).await;
    assert_eq!((early.status, early.body["code"].as_str()), (409, Some("INCIDENT_NOT_RESOLVED")), "{:?}", early.body);
    p.t.post(RESPONDER, &path(id), &as_alice(json!({"kind": "acknowledge"}))).await.succeeded();
    let note = "rolled back | pool still at 5\nsecond line";
    p.t.post(RESPONDER, &path(id), &as_alice(json!({"kind": "note", "reason": note}))).await.succeeded();
    let verdict = as_alice(json!({"event_id": "d1", "verdict": "confirmed", "reason": "the deploy shrank the pool"}));
    p.t.post(RESPONDER, &format!("/api/v1/incidents/{id}/verdicts"), &verdict).await.succeeded();
    let resolve = as_alice(
        json!({"kind": "resolve", "resolution": "cause_confirmed", "event_id": "d1", "reason": "rolled back"}),
    );
    p.t.post(RESPONDER, &path(id), &resolve).await.succeeded();

    let answer =
        p.t.send(p.t.http.get(p.t.url(&format!("/api/v1/incidents/{id}/postmortem"))).bearer_auth(VIEWER)).await;
    assert_eq!(answer.status, 200);
    assert!(answer.headers["content-type"].to_str().unwrap().starts_with("text/markdown"));
    let md = answer.body.as_str().expect("Markdown, not JSON").to_owned();
    for part in [
        &format!("# Postmortem draft: incident #{id}"),
        "DRAFT, written by Mandate from its record",
        "- Resolved by alice at",
        "cause confirmed (event d1) — rolled back",
        "## Impact and blast radius",
        "| time | what |",
        "first error E_TIMEOUT on payments-service by agent agent-f1",
        "detected: the first error reached Mandate",
        "paged @alice via webhook (level primary),",
        "after detection",
        "alice — acknowledge",
        "alice — note: rolled back \\| pool still at 5 second line",
        "alice — resolve (cause confirmed: d1): rolled back",
        "## Root cause",
        "Confirmed by alice at resolution: event d1.",
        "deploy d1 on payments-service by deployer",
        "confirmed as the cause by alice",
        "## Suggestions shown",
        "## Action items",
        "- [ ] _(to fill",
    ] {
        assert!(md.contains(part), "missing {part:?} in:\n{md}");
    }
    assert!(!md.contains("## Open questions"), "the cause is known:\n{md}");
    let table: Vec<&str> =
        md.lines().skip_while(|l| !l.starts_with("| time")).take_while(|l| l.starts_with('|')).collect();
    assert!(
        table.iter().all(|row| row.matches(" | ").count() == 1 || row.starts_with("|---")),
        "one cell per side: {table:#?}"
    );

    // Undetermined: the open questions are asked.
    let other = p.fail("f2", "reports").await;
    let undetermined =
        as_alice(json!({"kind": "resolve", "resolution": "cause_undetermined", "reason": "gone by itself"}));
    p.t.post(RESPONDER, &path(other), &undetermined).await.succeeded();
    let md =
        p.t.send(p.t.http.get(p.t.url(&format!("/api/v1/incidents/{other}/postmortem"))).bearer_auth(VIEWER)).await;
    let md = md.body.as_str().unwrap();
    assert!(md.contains("## Open questions") && md.contains("What caused it?"), "{md}");
    assert_eq!(p.t.get(VIEWER, "/api/v1/incidents/999/postmortem").await.status, 404);
    p.t.stop().await;
}

/// "Metrics look fine but customers are complaining": a person's report
/// names a resource and when it began, and gets the blast radius of that
/// resource, the candidate actions in its window, and the error-driven
/// incidents on the same resource near it.
async fn a_reported_incident_is_investigated_like_an_error(db: Db) {
    let p = Paging::start(db, &common::escalation_example("15m", true)).await;
    let mut deploy = event_body("d1", -12.0, "deployer", "deploy", "payments-service", "ok");
    deploy["tool"] = "kubectl".into();
    p.t.post(AGENT, "/api/v1/events", &deploy).await.succeeded();
    let errors = p.fail("f1", "payments-service").await;
    let began = (chrono::Utc::now() - chrono::Duration::minutes(10)).to_rfc3339();
    let report = |extra: Value| {
        let mut body = as_alice(
            json!({"kind": "create_incident", "confirm": true, "reason": "customers complain of failed payments",
            "title": "checkout failing for customers"}),
        );
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let refused = [
        (report(json!({})), "resource"),
        (
            report(
                json!({"resource": "payments-service", "started_at": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339()}),
            ),
            "started_at",
        ),
        (as_alice(json!({"kind": "acknowledge", "started_at": began})), "started_at"),
    ];
    for (body, field) in refused {
        let answer = p.t.post(RESPONDER, &path(errors), &body).await;
        assert_eq!((answer.status, answer.body["field"].as_str()), (400, Some(field)), "{body}: {:?}", answer.body);
    }
    let made =
        p.t.post(RESPONDER, &path(errors), &report(json!({"resource": "payments-service", "started_at": began}))).await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    let id = made.body["incident"]["id"].as_i64().unwrap();
    assert_ne!(id, errors);
    let d = p.t.get(VIEWER, &format!("/api/v1/incidents/{id}")).await.body;
    assert_eq!(d["reported_by"], "alice", "tagged user-reported");
    assert_eq!(d["title"], "checkout failing for customers");
    let radius = d["blast_radius"]["definitely"].as_array().unwrap();
    assert!(radius.iter().any(|s| s["service"] == "payments-service"), "{radius:?}");
    let candidates = d["analysis"]["candidates"].as_array().unwrap();
    assert!(candidates.iter().any(|c| c["event_id"] == "d1"), "the deploy before it is a candidate: {candidates:#?}");
    assert_eq!(d["related_incidents"], json!([errors]), "the error-driven incident near it");
    let timeline = d["timeline"].as_array().unwrap();
    assert!(
        timeline.iter().any(|e| e["event"]["error_message"] == "reported by alice"),
        "the report starts the timeline: {timeline:#?}"
    );
    p.t.stop().await;
}

/// A named person paged now on the incident's channels, and a hand-over:
/// the new owner is paged and coordinates; doing it twice changes nothing.
async fn a_responder_is_paged_by_name_and_the_incident_handed_over(db: Db) {
    let p = Paging::start(db, &common::escalation_example("15m", true)).await;
    let id = p.fail("f1", "payments-service").await;
    p.pages_until(id, "owner paged", |ps| state(ps, "@alice", "webhook") == "sent").await;
    for (body, field) in [
        (json!({"kind": "add_responder"}), "responder"),
        (json!({"kind": "add_responder", "responder": "dba-*"}), "responder"),
        (json!({"kind": "hand_over", "responder": "carol"}), "reason"),
        (json!({"kind": "note", "reason": "x", "responder": "bob"}), "responder"),
    ] {
        let answer = p.t.post(RESPONDER, &path(id), &as_alice(body.clone())).await;
        assert_eq!((answer.status, answer.body["field"].as_str()), (400, Some(field)), "{body}: {:?}", answer.body);
    }
    let add = as_alice(json!({"kind": "add_responder", "responder": "@bob", "reason": "the DBA on call"}));
    let answer = p.t.post(RESPONDER, &path(id), &add).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(answer.body["message"].as_str().unwrap().contains("@bob paged now on webhook"), "{:?}", answer.body);
    p.pages_until(id, "bob paged", |ps| ps.iter().any(|n| n["target"] == "@bob" && n["state"] == "sent")).await;
    let hooks = p.inbox.received("webhook");
    assert!(
        hooks.iter().any(|h| h.body.contains("@bob") && h.body.contains("added as a responder by alice")),
        "{hooks:#?}"
    );
    let again = p.t.post(RESPONDER, &path(id), &add).await;
    assert!(again.body["message"].as_str().unwrap().contains("already a responder"), "{:?}", again.body);

    let hand = as_alice(json!({"kind": "hand_over", "responder": "carol", "reason": "end of my shift"}));
    let answer = p.t.post(RESPONDER, &path(id), &hand).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(answer.body["message"].as_str().unwrap().contains("handed over from"), "{:?}", answer.body);
    let d = p.t.get(VIEWER, &format!("/api/v1/incidents/{id}")).await.body;
    assert_eq!(d["coordinator"], "carol");
    let responders: Vec<&str> = d["responders"].as_array().unwrap().iter().filter_map(|r| r.as_str()).collect();
    assert!(responders.contains(&"bob") && responders.contains(&"carol"), "{responders:?}");
    p.pages_until(id, "carol paged", |ps| ps.iter().any(|n| n["target"] == "@carol" && n["state"] == "sent")).await;
    let twice = p.t.post(RESPONDER, &path(id), &hand).await;
    assert!(twice.body["message"].as_str().unwrap().contains("already carol's"), "{:?}", twice.body);
    let entries = audited(&p, "hand_over").await;
    assert_eq!((entries.len(), entries[0]["details"]["responder"].as_str()), (1, Some("carol")));
    p.t.stop().await;
}

on_both_databases!(
    resolving_by_hand_stops_paging_and_tells_the_receivers,
    reopening_by_hand_pages_again,
    notes_and_a_severity_set_by_hand,
    a_resolved_incident_drafts_its_postmortem_from_the_record,
    a_reported_incident_is_investigated_like_an_error,
    a_responder_is_paged_by_name_and_the_incident_handed_over,
);
