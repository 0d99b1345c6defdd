//! Silences and maintenance windows through the HTTP API on both databases,
//! with real local receivers and a manual paging clock: a silenced incident
//! is recorded and analysed but paged only when its silence ends or is
//! lifted; bad silences are refused naming the field; an unused one says so.

use crate::common::{self, ADMIN, Db, RESPONDER, VIEWER, as_alice};
use crate::paging::{Paging, state};
use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use serde_json::{Value, json};

fn silence(matches: Value, reason: &str, ends_in: Duration) -> Value {
    as_alice(json!({
        "match": matches, "reason": reason, "confirm": true,
        "ends_at": (Utc::now() + ends_in).to_rfc3339(),
    }))
}

fn at(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap().with_timezone(&Utc)
}

async fn silences(p: &Paging) -> Vec<Value> {
    p.t.get(VIEWER, "/api/v1/silences").await.body["silences"].as_array().cloned().unwrap()
}

/// A planned migration of payments-service: its incident is detected,
/// recorded and analysed, says it is silenced, and pages nobody until the
/// silence ends; an incident elsewhere pages as usual meanwhile.
async fn a_silenced_incident_is_analysed_and_paged_only_when_the_silence_ends(db: Db) {
    let p = Paging::start(db, &common::escalation_example("15m", true)).await;
    let made =
        p.t.post(
            RESPONDER,
            "/api/v1/silences",
            &silence(json!({"resource": "payments-*"}), "payments-db migration", Duration::hours(1)),
        )
        .await;
    assert_eq!(made.status, 201, "{:?}", made.body);
    assert!(made.body["message"].as_str().unwrap().contains("still recorded and analysed"), "{:?}", made.body);
    let until = at(&made.body["silence"]["ends_at"]);

    let id = p.fail("f1", "payments-service").await;
    let elsewhere = p.fail("f2", "reports").await;
    p.pages_until(elsewhere, "the other incident pages as usual", |ps| state(ps, "@rita", "webhook") == "sent").await;
    let d = p.t.get(VIEWER, &format!("/api/v1/incidents/{id}")).await.body;
    assert_eq!(d["event_count"], 1, "recorded");
    let radius = &d["blast_radius"]["definitely"];
    assert!(radius.as_array().unwrap().iter().any(|s| s["service"] == "payments-service"), "analysed: {radius}");
    assert!(d["analysis"]["considered"].is_number(), "its causes looked for");
    assert_eq!(d["silenced"]["owner"], "alice");
    assert_eq!(d["silenced"]["reason"], "payments-db migration");
    assert_eq!(at(&d["silenced"]["until"]), until);
    let owner = d["pages"].as_array().unwrap().iter().find(|n| n["target"] == "@alice").expect("queued, held");
    assert_eq!((owner["state"].as_str(), at(&owner["due_at"])), (Some("pending"), until), "held until the end");
    let list = p.t.get(VIEWER, "/api/v1/incidents").await.body;
    let row = list["incidents"].as_array().unwrap().iter().find(|i| i["id"] == id).unwrap();
    assert_eq!(row["silenced"]["owner"], "alice", "the list says it too");
    assert!(!p.inbox.received("webhook").iter().any(|r| r.body.contains("@alice")), "nobody woken for it");
    assert_eq!(silences(&p).await[0]["incidents"], 1);

    // The silence ends while the incident is still open: paging starts then.
    p.advance(Duration::minutes(61));
    p.pages_until(id, "paged when the silence ended", |ps| state(ps, "@alice", "webhook") == "sent").await;
    p.t.stop().await;
}

/// Lifting a silence pages what it held at once; it cannot be lifted twice.
/// Both are in the audit log under the person's HUMAN attribution.
async fn lifting_a_silence_pages_what_it_held_at_once(db: Db) {
    let p = Paging::start(db, &common::escalation_example("15m", true)).await;
    let made =
        p.t.post(
            RESPONDER,
            "/api/v1/silences",
            &silence(json!({"resource": "payments-service"}), "failover drill", Duration::hours(2)),
        )
        .await;
    let sid = made.body["silence"]["id"].as_i64().unwrap();
    let id = p.fail("f1", "payments-service").await;
    assert_eq!(state(&p.pages(id).await, "@alice", "webhook"), "pending");
    let lift =
        p.t.post(RESPONDER, &format!("/api/v1/silences/{sid}/lift"), &as_alice(json!({"reason": "drill over"}))).await;
    assert_eq!(lift.status, 200, "{:?}", lift.body);
    assert!(lift.body["message"].as_str().unwrap().contains(&format!("#{id}")), "{:?}", lift.body);
    assert_eq!(lift.body["silence"]["state"], "lifted");
    p.pages_until(id, "paged at once", |ps| state(ps, "@alice", "webhook") == "sent").await;
    let d = p.t.get(VIEWER, &format!("/api/v1/incidents/{id}")).await.body;
    assert!(at(&d["silenced"]["until"]) <= Utc::now(), "the mark says the silence ended: {}", d["silenced"]);
    let again = p.t.post(RESPONDER, &format!("/api/v1/silences/{sid}/lift"), &as_alice(json!({}))).await;
    assert_eq!((again.status, again.body["code"].as_str()), (409, Some("SILENCE_ENDED")), "{:?}", again.body);
    let missing = p.t.post(RESPONDER, "/api/v1/silences/999/lift", &as_alice(json!({}))).await;
    assert_eq!(missing.status, 404);
    let audit = p.t.get(ADMIN, "/api/v1/audit").await.body;
    let actions: Vec<&str> = audit["entries"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"silence") && actions.contains(&"lift_silence"), "{actions:?}");
    let entry = audit["entries"].as_array().unwrap().iter().find(|e| e["action"] == "silence").unwrap();
    assert_eq!(
        (entry["actor"].as_str(), entry["details"]["attribution"]["actor_type"].as_str()),
        (Some("alice"), Some("HUMAN"))
    );
    p.t.stop().await;
}

/// Each bad silence is a clear 4xx naming the field, and nothing is made.
async fn a_bad_silence_is_refused_naming_the_field(db: Db) {
    let p = Paging::start(db, &common::escalation_example("15m", true)).await;
    let soon = (Utc::now() + Duration::hours(1)).to_rfc3339();
    let body = |v: Value| as_alice(v);
    let refused = [
        (body(json!({"match": {"resource": "db"}, "reason": "x", "confirm": true})), 400, "ends_at"),
        (
            body(
                json!({"match": {"resource": "db"}, "reason": "x", "confirm": true, "ends_at": (Utc::now() - Duration::minutes(1)).to_rfc3339()}),
            ),
            400,
            "ends_at",
        ),
        (
            body(
                json!({"match": {"resource": "db"}, "reason": "x", "confirm": true, "ends_at": (Utc::now() + Duration::days(8)).to_rfc3339()}),
            ),
            400,
            "ends_at",
        ),
        (body(json!({"match": {}, "reason": "x", "confirm": true, "ends_at": soon})), 400, "match"),
        (body(json!({"reason": "x", "confirm": true, "ends_at": soon})), 400, "match"),
        (
            body(json!({"match": {"resource": "*"}, "reason": "x", "confirm": true, "ends_at": soon})),
            400,
            "match.resource",
        ),
        (body(json!({"match": {"agent": "a*b"}, "reason": "x", "confirm": true, "ends_at": soon})), 400, "match.agent"),
        (
            body(json!({"match": {"resourse": "db"}, "reason": "x", "confirm": true, "ends_at": soon})),
            400,
            "match.resourse",
        ),
        (body(json!({"match": {"resource": "db"}, "confirm": true, "ends_at": soon})), 400, "reason"),
        (body(json!({"match": {"resource": "db"}, "reason": "x", "ends_at": soon})), 422, "confirm"),
        (
            body(json!({"match": {"resource": "db", "severity": "critical"}, "reason": "x", "ends_at": soon})),
            422,
            "confirm",
        ),
        (
            body(json!({"match": {"resource": "db"}, "reason": "x", "confirm": true, "ends_at": soon,
            "weekly": {"days": ["saturday"], "start": "02:00", "minutes": 60}})),
            400,
            "weekly.days",
        ),
        (
            body(json!({"match": {"resource": "db"}, "reason": "x", "confirm": true, "ends_at": soon,
            "weekly": {"days": ["sat"], "start": "2am", "minutes": 60}})),
            400,
            "weekly.start",
        ),
        (
            body(json!({"match": {"resource": "db"}, "reason": "x", "confirm": true, "ends_at": soon,
            "weekly": {"days": ["sat"], "start": "02:00", "minutes": 1500}})),
            400,
            "weekly.minutes",
        ),
        (
            body(json!({"match": {"resource": "db"}, "reason": "x", "confirm": true,
            "ends_at": (Utc::now() + Duration::days(91)).to_rfc3339(),
            "weekly": {"days": ["sat"], "start": "02:00", "minutes": 60}})),
            400,
            "ends_at",
        ),
        (
            body(
                json!({"match": {"resource": "db"}, "reason": "x", "confirm": true, "ends_at": soon, "incident_id": 404}),
            ),
            404,
            "incident_id",
        ),
    ];
    for (b, status, field) in refused {
        let answer = p.t.post(RESPONDER, "/api/v1/silences", &b).await;
        assert_eq!(answer.status, status, "{b}: {:?}", answer.body);
        if status != 404 {
            assert_eq!(answer.body["field"].as_str(), Some(field), "{b}: {:?}", answer.body);
        }
    }
    let viewer =
        p.t.post(VIEWER, "/api/v1/silences", &silence(json!({"resource": "db"}), "x", Duration::hours(1))).await;
    assert_eq!(viewer.status, 403);
    assert!(silences(&p).await.is_empty(), "nothing refused was made");
    // Below critical, no confirmation is asked.
    let low = as_alice(json!({"match": {"resource": "db", "severity": "low"}, "reason": "x", "ends_at": soon}));
    assert_eq!(p.t.post(RESPONDER, "/api/v1/silences", &low).await.status, 201);
    p.t.stop().await;
}

/// A weekly window holds only while open; a silence that ended having held
/// nothing is listed as unused.
async fn a_weekly_window_holds_while_open_and_an_unused_silence_says_so(db: Db) {
    let p = Paging::start(db, &common::escalation_example("15m", true)).await;
    let now = Utc::now();
    let opened = now - Duration::minutes(5);
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][opened.weekday().num_days_from_monday() as usize];
    let other =
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][(opened.weekday().num_days_from_monday() as usize + 3) % 7];
    let window = |days: &str, resource: &str| {
        as_alice(json!({
            "match": {"resource": resource}, "reason": "weekly maintenance", "confirm": true,
            "ends_at": (now + Duration::days(30)).to_rfc3339(),
            "weekly": {"days": [days], "start": format!("{:02}:{:02}", opened.hour(), opened.minute()), "minutes": 60},
        }))
    };
    let open = p.t.post(RESPONDER, "/api/v1/silences", &window(day, "payments-service")).await;
    assert_eq!((open.status, open.body["silence"]["state"].as_str()), (201, Some("active")), "{:?}", open.body);
    let closed = p.t.post(RESPONDER, "/api/v1/silences", &window(other, "reports")).await;
    assert_eq!(closed.body["silence"]["state"], "scheduled", "{:?}", closed.body);

    let held = p.fail("f1", "payments-service").await;
    let d = p.t.get(VIEWER, &format!("/api/v1/incidents/{held}")).await.body;
    let until = at(&d["silenced"]["until"]);
    assert!(until > now && until <= opened + Duration::minutes(61), "held until the window closes: {until}");
    let paged = p.fail("f2", "reports").await;
    p.pages_until(paged, "outside its window, paged at once", |ps| state(ps, "@rita", "webhook") == "sent").await;
    assert!(p.t.get(VIEWER, &format!("/api/v1/incidents/{paged}")).await.body.get("silenced").is_none());

    let brief = silence(json!({"resource": "ledger"}), "nobody needed this", Duration::milliseconds(1500));
    p.t.post(RESPONDER, "/api/v1/silences", &brief).await.succeeded();
    tokio::time::sleep(std::time::Duration::from_millis(1700)).await;
    let all = silences(&p).await;
    let unused = all.iter().find(|s| s["reason"] == "nobody needed this").unwrap();
    assert_eq!((unused["state"].as_str(), unused["unused"].as_bool()), (Some("expired"), Some(true)), "{unused:#}");
    let used = all.iter().find(|s| s["match"]["resource"] == "payments-service").unwrap();
    assert_eq!((used["incidents"].as_i64(), used["unused"].as_bool()), (Some(1), Some(false)));
    p.t.stop().await;
}

/// A weekly maintenance window written in the routing file: applying the
/// file makes it (owned by the person it names), applying it again keeps
/// it, and removing it from the file ends it and pages what it held.
async fn a_window_in_the_routing_file_is_kept_while_unchanged_and_ended_when_removed(db: Db) {
    let p = Paging::start(db, &common::escalation_example("15m", true)).await;
    let plain = p.t.get(VIEWER, "/api/v1/routing").await.body;
    let opened = Utc::now() - Duration::hours(1);
    let mut with = plain.clone();
    with["silence"] = json!([{
        "name": "reports-nightly", "owner": "@rita", "reason": "the reports batch restarts its workers",
        "resource": "reports",
        "weekly": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                   "start": format!("{:02}:{:02}", opened.hour(), opened.minute()), "minutes": 180},
        "until": (Utc::now() + Duration::days(30)).to_rfc3339(),
    }]);
    let put = |doc: &Value| p.t.send(p.t.http.put(p.t.url("/api/v1/routing")).bearer_auth(ADMIN).json(doc));
    assert_eq!(put(&with).await.status, 200);
    let listed = silences(&p).await;
    assert_eq!(listed.len(), 1, "{listed:#?}");
    let made = &listed[0];
    assert_eq!(
        (made["routing_name"].as_str(), made["owner"].as_str(), made["state"].as_str()),
        (Some("reports-nightly"), Some("rita"), Some("active")),
        "{made:#}"
    );

    let held = p.fail("f1", "reports").await;
    let d = p.t.get(VIEWER, &format!("/api/v1/incidents/{held}")).await.body;
    assert_eq!(d["silenced"]["owner"], "rita", "held by the file's window");
    assert_eq!(state(&p.pages(held).await, "@rita", "webhook"), "pending");

    assert_eq!(put(&with).await.status, 200, "the same file again");
    let again = silences(&p).await;
    assert_eq!((again.len(), &again[0]["id"]), (1, &made["id"]), "an unchanged silence is kept: {again:#?}");

    let mut bad = with.clone();
    bad["silence"][0].as_object_mut().unwrap().remove("resource");
    let refused = put(&bad).await;
    assert_eq!(
        (refused.status, refused.body["field"].as_str()),
        (400, Some("silence[0].resource")),
        "{:?}",
        refused.body
    );

    assert_eq!(put(&plain).await.status, 200, "the window removed from the file");
    let ended = silences(&p).await;
    assert_eq!(
        (ended[0]["state"].as_str(), ended[0]["lifted_by"].as_str()),
        (Some("lifted"), Some("root-admin")),
        "{ended:#?}"
    );
    p.pages_until(held, "what it held is paged now", |ps| state(ps, "@rita", "webhook") == "sent").await;
    let audit = p.t.get(ADMIN, "/api/v1/audit").await.body;
    let lift = audit["entries"].as_array().unwrap().iter().find(|e| e["action"] == "lift_silence").expect("audited");
    assert_eq!(lift["details"]["reason"], "removed from the routing file");
    p.t.stop().await;
}

on_both_databases!(
    a_silenced_incident_is_analysed_and_paged_only_when_the_silence_ends,
    lifting_a_silence_pages_what_it_held_at_once,
    a_bad_silence_is_refused_naming_the_field,
    a_weekly_window_holds_while_open_and_an_unused_silence_says_so,
    a_window_in_the_routing_file_is_kept_while_unchanged_and_ended_when_removed,
);
