//! The learning loop through HTTP, on SQLite and PostgreSQL: verdicts change
//! the next incident's scores and the calibration figures; suggestions are
//! tracked to what became of them; repeat incidents become a stored pattern
//! whose third occurrence proposes a rule that, approved and activated,
//! gates the fourth; a cause left undetermined three times is escalated;
//! quick confirmations are pointed out.

use crate::common::{self, ADMIN, AGENT, Db, RESPONDER, TestServer, VIEWER, as_alice, event_body, seed_catalog, start};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const WEEK: f64 = 7.0 * 24.0 * 60.0;

fn error(mut body: Value, code: &str) -> Value {
    body["error_code"] = code.into();
    body["error_message"] = "upstream timeout".into();
    body
}

/// The newest incident's id.
async fn newest(t: &TestServer) -> i64 {
    let page = t.get(VIEWER, "/api/v1/incidents").await.body;
    page["incidents"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).max().unwrap()
}

/// Waits (10 s at most) until `check` holds of `GET path`.
async fn until(t: &TestServer, path: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body = t.get(ADMIN, path).await.body;
        if check(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{what}: {body:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The background work has stored what incident `id` teaches.
async fn learned(t: &TestServer, id: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let record = t.server.state.store().get_incident(id).await.unwrap().unwrap();
        if record.signature.is_some() && t.server.state.store().analysis_due(10).await.unwrap().is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "incident #{id} was not analysed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A deploy to payments-service two minutes before it times out, `at`
/// minutes from now; the incident's id.
async fn deploy_then_timeout(t: &TestServer, n: usize, at: f64) -> i64 {
    let deploy = event_body(&format!("d{n}"), at - 2.0, "deployer", "deploy", "payments-service", "ok");
    let failure =
        error(event_body(&format!("f{n}"), at, "runtime", "tool_call", "payments-service", "error"), "TIMEOUT");
    let report = t.post(AGENT, "/api/v1/events", &json!([deploy, failure])).await;
    assert_eq!(report.status, 200, "{:?}", report.body);
    let id = newest(t).await;
    learned(t, id).await;
    id
}

fn candidate<'a>(detail: &'a Value, event_id: &str) -> &'a Value {
    detail["analysis"]["candidates"].as_array().unwrap().iter().find(|c| c["event_id"] == event_id).unwrap()
}

async fn verdict(t: &TestServer, id: i64, event_id: &str, verdict: &str) {
    let path = format!("/api/v1/incidents/{id}/verdicts");
    let answer = t.post(RESPONDER, &path, &as_alice(json!({"event_id": event_id, "verdict": verdict}))).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
}

/// Seed 3.7 and 11.2: two rejections of deploys to payments-service lower
/// the next one by 10, said as its own evidence line; calibration counts
/// each verdict with the score it judged.
async fn rejections_lower_the_next_score_and_calibration_counts_them(db: Db) {
    let t = start(db).await;
    t.send(t.http.put(t.url("/api/v1/catalog")).bearer_auth(ADMIN).json(&seed_catalog())).await.succeeded();
    let first = deploy_then_timeout(&t, 0, -3.0 * WEEK).await;
    let d = t.get(VIEWER, &format!("/api/v1/incidents/{first}")).await.body;
    let c = candidate(&d, "d0");
    assert_eq!(
        (c["confidence"].as_i64(), c["band"].as_str(), c["scored"].as_i64()),
        (Some(70), Some("LIKELY"), Some(70))
    );
    verdict(&t, first, "d0", "rejected").await;
    let second = deploy_then_timeout(&t, 1, -2.0 * WEEK).await;
    let d = t.get(VIEWER, &format!("/api/v1/incidents/{second}")).await.body;
    assert_eq!(candidate(&d, "d1")["confidence"], 70, "one rejection teaches nothing yet");
    verdict(&t, second, "d1", "rejected").await;

    let third = deploy_then_timeout(&t, 2, -WEEK).await;
    let d = t.get(VIEWER, &format!("/api/v1/incidents/{third}")).await.body;
    let c = candidate(&d, "d2");
    assert_eq!((c["confidence"].as_i64(), c["band"].as_str()), (Some(60), Some("SUSPECTED")), "{c}");
    assert!(c["evidence"].as_array().unwrap().contains(&json!({"kind": "past_rejections", "times": 2})), "{c}");

    let cal = t.get(VIEWER, "/api/v1/calibration?days=30").await.body;
    assert_eq!((cal["judged"].as_i64(), cal["confirmed"].as_i64()), (Some(2), Some(0)), "{cal:#}");
    assert!((cal["brier"].as_f64().unwrap() - 0.49).abs() < 1e-9, "0.7 judged wrong twice: {cal:#}");
    let likely = cal["bands"].as_array().unwrap().iter().find(|b| b["band"] == "LIKELY").unwrap();
    assert_eq!((likely["judged"].as_i64(), likely["flag"].as_str()), (Some(2), Some("too_few")));
    assert_eq!(cal["reliability"][7]["judged"], 2, "the 70–79 decile");
    assert_eq!(cal["cause_types"][0]["cause_type"], "deploy");

    // Confirmed now, at the 60 it was shown with.
    verdict(&t, third, "d2", "confirmed").await;
    let cal = t.get(VIEWER, "/api/v1/calibration").await.body;
    let suspected = cal["bands"].as_array().unwrap().iter().find(|b| b["band"] == "SUSPECTED").unwrap();
    assert_eq!((suspected["judged"].as_i64(), suspected["confirmed"].as_i64()), (Some(1), Some(1)), "{cal:#}");
    assert_eq!(cal["reliability"][6]["observed"], 1.0);
    let bad = t.get(VIEWER, "/api/v1/calibration?days=0").await;
    assert_eq!((bad.status, bad.body["field"].as_str()), (400, Some("days")), "{:?}", bad.body);
    t.stop().await;
}

/// Seed 2.2 and 9.4: a suggestion acted on records the intervention, who
/// and how long after it was first shown; one shown until the incident
/// resolved was ignored.
async fn suggestions_are_tracked_to_what_became_of_them(db: Db) {
    let t = start(db).await;
    t.send(t.http.put(t.url("/api/v1/catalog")).bearer_auth(ADMIN).json(&seed_catalog())).await.succeeded();
    // The deployer keeps deploying after the failure: pausing it is suggested.
    let deploy = event_body("d", -10.0, "deployer", "deploy", "payments-service", "ok");
    let failure = error(event_body("f", -8.0, "runtime", "tool_call", "payments-service", "error"), "TIMEOUT");
    let again = event_body("d2", -5.0, "deployer", "deploy", "payments-db", "ok");
    let still = error(event_body("f2", -3.0, "runtime", "tool_call", "payments-service", "error"), "TIMEOUT");
    t.post(AGENT, "/api/v1/events", &json!([deploy, failure, again, still])).await.succeeded();
    let id = newest(&t).await;
    learned(&t, id).await;
    let d = t.get(VIEWER, &format!("/api/v1/incidents/{id}")).await.body;
    assert!(
        d["suggestions"].as_array().unwrap().iter().any(|s| s["title"] == "Pause agent deployer"),
        "{:#}",
        d["suggestions"]
    );
    let pause = as_alice(json!({"kind": "pause_agent", "target_agent": "deployer"}));
    let done = t.post(RESPONDER, &format!("/api/v1/incidents/{id}/interventions"), &pause).await;
    assert_eq!(done.status, 200, "{:?}", done.body);

    // Another incident that recovers by itself: its suggestions were ignored.
    let failure = error(event_body("g", -30.0, "runtime", "tool_call", "billing-service", "error"), "HTTP_500");
    let deploy = event_body("b", -33.0, "billing-bot", "config_change", "billing-service", "ok");
    let recovered = event_body("ok", -20.0, "runtime", "tool_call", "billing-service", "ok");
    t.post(AGENT, "/api/v1/events", &json!([deploy, failure])).await.succeeded();
    let other = newest(&t).await;
    learned(&t, other).await;
    t.post(AGENT, "/api/v1/events", &json!([recovered])).await.succeeded();
    learned(&t, other).await;

    let stats = until(&t, "/api/v1/suggestions/stats", "an ignored suggestion", |s| {
        s["kinds"].as_array().unwrap().iter().any(|k| k["ignored"].as_i64() > Some(0))
    })
    .await;
    let contain = stats["kinds"].as_array().unwrap().iter().find(|k| k["kind"] == "contain").unwrap();
    assert_eq!(contain["acted"], 1, "{stats:#}");
    assert_eq!(contain["acted_with"], json!([{"intervention": "pause_agent", "by": "alice", "count": 1}]));
    assert!(contain["time_to_action_p50_s"].as_i64().is_some_and(|s| (0..60).contains(&s)), "{contain}");
    let ignored: i64 = stats["kinds"].as_array().unwrap().iter().map(|k| k["ignored"].as_i64().unwrap()).sum();
    let acceptance = contain["acceptance"].as_f64().unwrap();
    assert!(ignored >= 1 && acceptance > 0.0 && acceptance < 1.0, "{stats:#}");
    t.stop().await;
}

/// Seed 10.1–10.6: the second weekly repeat stores a pattern, the third
/// proposes a rule; an admin approves and activates it; the fourth
/// occurrence fires it on the deploy and gates the incident, recorded with
/// the rule's name and counted against the friction budget.
async fn the_third_occurrence_proposes_a_rule_that_gates_the_fourth(db: Db) {
    let t = start(db).await;
    t.send(t.http.put(t.url("/api/v1/catalog")).bearer_auth(ADMIN).json(&seed_catalog())).await.succeeded();
    let first = deploy_then_timeout(&t, 0, -3.0 * WEEK).await;
    assert_eq!(t.get(VIEWER, "/api/v1/patterns").await.body["patterns"], json!([]), "one incident is no pattern");
    deploy_then_timeout(&t, 1, -2.0 * WEEK).await;
    let third = deploy_then_timeout(&t, 2, -WEEK).await;

    let patterns = t.get(VIEWER, "/api/v1/patterns").await.body;
    let p = &patterns["patterns"][0];
    assert_eq!((p["frequency"].as_i64(), p["name"].as_str()), (Some(3), Some("PAT-001")), "{patterns:#}");
    let levels: Vec<(i64, &str)> = p["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["incident_id"].as_i64().unwrap(), i["level"].as_str().unwrap()))
        .collect();
    assert_eq!(levels[0], (first, "exact"));
    assert_eq!(levels.len(), 3);
    let weights: Vec<(&str, &str)> = p["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["weight"].as_str().unwrap()))
        .collect();
    assert_eq!(weights.len(), 6);
    assert!(weights.contains(&("sequence_pattern", "medium")) && weights.contains(&("time_pattern", "low")));
    let rule = &p["rule"];
    assert_eq!(
        (rule["state"].as_str(), rule["proposed_by"].as_str()),
        (Some("proposed"), Some("mandate-learning")),
        "{p:#}"
    );
    assert_eq!(rule["match"]["action_type"], "deploy");
    assert_eq!(rule["match"]["resource"], "payments-*");
    let d = t.get(VIEWER, &format!("/api/v1/incidents/{third}")).await.body;
    assert_eq!(
        (d["pattern"]["pattern_id"].as_i64(), d["pattern"]["rule"]["id"].clone()),
        (p["id"].as_i64(), rule["id"].clone())
    );

    let rule_id = rule["id"].as_i64().unwrap();
    let path = format!("/api/v1/rules/{rule_id}/transition");
    let by_responder = t.post(RESPONDER, &path, &json!({"to": "approved"})).await;
    assert_eq!(by_responder.status, 403, "admins approve");
    let too_soon = t.post(ADMIN, &path, &json!({"to": "active"})).await;
    assert_eq!((too_soon.status, too_soon.body["code"].as_str()), (409, Some("RULE_STATE")), "{:?}", too_soon.body);
    assert!(too_soon.body["message"].as_str().unwrap().contains("only from approved"), "{:?}", too_soon.body);
    let approved = t.post(ADMIN, &path, &json!({"to": "approved", "reason": "third time"})).await;
    assert_eq!((approved.status, approved.body["state"].as_str()), (200, Some("approved")), "{:?}", approved.body);
    // Approved is not active: nothing fires yet.
    let active = t.post(ADMIN, &path, &json!({"to": "active"})).await;
    assert_eq!(active.body["state"], "active", "{:?}", active.body);

    // The fourth, now (the same weekday and hour as the others).
    let fourth = deploy_then_timeout(&t, 3, 0.0).await;
    let d =
        until(&t, &format!("/api/v1/incidents/{fourth}"), "the rule gates", |d| d["routing"]["decision"] == "gated")
            .await;
    assert!(d["routing"]["rule_matched"].as_str().unwrap().starts_with("learned: Gate"), "{:#}", d["routing"]);
    let rules = t.get(VIEWER, "/api/v1/rules?state=active").await.body;
    let r = &rules["rules"][0];
    assert_eq!(
        (r["fired"].as_i64(), r["interruptions_7d"].as_i64()),
        (Some(2), Some(1)),
        "the deploy and the incident: {r}"
    );
    assert_eq!(rules["friction"]["interruptions"], 1);
    assert_eq!(rules["friction"]["over_budget"], false);

    let audit = t.get(ADMIN, "/api/v1/audit?limit=200").await.body;
    let actions: Vec<&str> = audit["entries"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for a in ["rule_proposed", "rule_approved", "rule_active"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    let sunset = t.post(ADMIN, &path, &json!({"to": "sunset"})).await;
    assert_eq!(sunset.body["state"], "sunset");
    assert_eq!(t.get(VIEWER, "/api/v1/rules?state=active").await.body["rules"], json!([]));
    t.stop().await;
}

/// `W` on an incident: the text a person wrote becomes a proposed rule
/// matching the incident's suspected action; the API refuses a rule that
/// would match everything.
async fn a_proposed_rule_from_an_incident_or_the_api(db: Db) {
    let t = start(db).await;
    t.send(t.http.put(t.url("/api/v1/catalog")).bearer_auth(ADMIN).json(&seed_catalog())).await.succeeded();
    let id = deploy_then_timeout(&t, 0, -5.0).await;
    let body = as_alice(
        json!({"kind": "update_rule", "rule": "require approval for deploys to payments", "reason": "third deploy timeout", "confirm": true}),
    );
    let done = t.post(RESPONDER, &format!("/api/v1/incidents/{id}/interventions"), &body).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert!(done.body["message"].as_str().unwrap().contains("proposed"), "{:?}", done.body);
    let rules = t.get(VIEWER, "/api/v1/rules").await.body;
    let r = &rules["rules"][0];
    assert_eq!(
        (r["name"].as_str(), r["proposed_by"].as_str()),
        (Some("require approval for deploys to payments"), Some("alice"))
    );
    assert_eq!((r["match"]["action_type"].as_str(), r["decision"].as_str()), (Some("deploy"), Some("gated")));

    let empty =
        t.post(RESPONDER, "/api/v1/rules", &json!({"name": "everything", "match": {}, "decision": "flagged"})).await;
    assert_eq!((empty.status, empty.body["code"].as_str()), (400, Some("RULE_MATCH_EMPTY")), "{:?}", empty.body);
    let hostile = t
        .post(
            RESPONDER,
            "/api/v1/rules",
            &json!({"name": "x", "match": {"resource": "a\u{1b}[2J"}, "decision": "flagged"}),
        )
        .await;
    assert_eq!((hostile.status, hostile.body["field"].as_str()), (400, Some("match.resource")), "{:?}", hostile.body);
    let auto = t
        .post(RESPONDER, "/api/v1/rules", &json!({"name": "x", "match": {"action_type": "deploy"}, "decision": "auto"}))
        .await;
    assert_eq!((auto.status, auto.body["field"].as_str()), (400, Some("automation")), "{:?}", auto.body);
    let ok = t
        .post(
            RESPONDER,
            "/api/v1/rules",
            &json!({"name": "flag schema changes", "match": {"action_type": "migration", "business_hours": false}, "decision": "flagged"}),
        )
        .await;
    assert_eq!((ok.status, ok.body["state"].as_str()), (201, Some("proposed")), "{:?}", ok.body);
    assert_eq!(ok.body["match"]["business_hours"], false);
    let viewer = t
        .post(VIEWER, "/api/v1/rules", &json!({"name": "x", "match": {"action_type": "a"}, "decision": "flagged"}))
        .await;
    assert_eq!(viewer.status, 403);
    t.stop().await;
}

/// A person's resolution counts as the analysis's would: three incidents of
/// one pattern that never recovered by themselves, each resolved by hand
/// with its cause undetermined, open the investigation; a resolution that
/// says it was not an incident does not count.
async fn undetermined_by_hand_counts_toward_investigation(db: Db) {
    let t = start(db).await;
    let mut ids = Vec::new();
    for (n, base) in [-4.0 * WEEK, -3.0 * WEEK, -2.0 * WEEK, -WEEK].into_iter().enumerate() {
        let failure =
            error(event_body(&format!("h{n}"), base, "runtime", "tool_call", "billing-service", "error"), "TIMEOUT");
        t.post(AGENT, "/api/v1/events", &json!([failure])).await.succeeded();
        ids.push(newest(&t).await);
    }
    learned(&t, ids[3]).await;
    let investigation = |page: &Value| {
        page["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["title"].as_str().unwrap_or("").starts_with("investigate"))
    };
    let resolve = |id: i64, resolution: &str| {
        let body =
            as_alice(json!({"kind": "resolve", "resolution": resolution, "reason": "recovered after a restart"}));
        let t = &t;
        async move { t.post(RESPONDER, &format!("/api/v1/incidents/{id}/interventions"), &body).await.succeeded() }
    };
    resolve(ids[0], "not_an_incident").await;
    resolve(ids[1], "cause_undetermined").await;
    resolve(ids[2], "cause_undetermined").await;
    learned(&t, ids[2]).await;
    assert!(!investigation(&t.get(VIEWER, "/api/v1/incidents").await.body), "two undetermined and one not an incident");
    resolve(ids[3], "cause_undetermined").await;
    let page = until(&t, "/api/v1/incidents", "the investigation incident", investigation).await;
    let opened =
        page["incidents"].as_array().unwrap().iter().find(|i| investigation(&json!({"incidents": [i]}))).unwrap();
    assert_eq!(opened["title"], "investigate PAT-001: cause undetermined 3 times");
    t.stop().await;
}

/// Seed 10.7: the third incident of one pattern resolved with its cause
/// undetermined opens an incident to investigate, with the history.
async fn undetermined_three_times_is_escalated(db: Db) {
    let t = start(db).await;
    let mut ids = Vec::new();
    for (n, base) in [-3.0 * WEEK, -2.0 * WEEK, -WEEK].into_iter().enumerate() {
        let failure =
            error(event_body(&format!("u{n}"), base, "runtime", "tool_call", "billing-service", "error"), "TIMEOUT");
        let recovered = event_body(&format!("r{n}"), base + 10.0, "runtime", "tool_call", "billing-service", "ok");
        t.post(AGENT, "/api/v1/events", &json!([failure, recovered])).await.succeeded();
        let id = newest(&t).await;
        learned(&t, id).await;
        ids.push(id);
    }
    let page = until(&t, "/api/v1/incidents", "the investigation incident", |p| {
        p["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["title"].as_str().unwrap_or("").starts_with("investigate PAT-"))
    })
    .await;
    let opened = page["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"].as_str().unwrap().starts_with("investigate"))
        .unwrap();
    assert_eq!(opened["title"], "investigate PAT-001: cause undetermined 3 times");
    let d = t.get(VIEWER, &format!("/api/v1/incidents/{}", opened["id"])).await.body;
    let created = d["interventions"].as_array().unwrap().iter().find(|i| i["kind"] == "create_incident");
    // The request was recorded on the last undetermined incident, with the history.
    let last = t.get(VIEWER, &format!("/api/v1/incidents/{}", ids[2])).await.body;
    let note =
        last["interventions"].as_array().unwrap().iter().find(|i| i["kind"] == "create_incident").or(created).unwrap();
    assert_eq!(note["actor_id"], "mandate-learning");
    let reason = note["reason"].as_str().unwrap();
    for id in &ids {
        assert!(reason.contains(&format!("#{id} ")), "{reason}");
    }
    let pattern = &t.get(VIEWER, "/api/v1/patterns").await.body["patterns"][0];
    assert_eq!(pattern["escalated_incident"], opened["id"]);
    assert!(pattern["incidents"].as_array().unwrap().iter().all(|i| i["undetermined"] == true), "{pattern:#}");
    // Seed 2.2: what was suggested each time and never done, said of the pattern.
    let ignored = pattern["suggestions"].as_array().unwrap();
    assert!(
        ignored.iter().any(|h| h["suggested"] == 3 && h["ignored"] == 3 && h["incidents"] == 3),
        "suggested 3 times, ignored 3 times, 3 incidents: {pattern:#}"
    );
    t.stop().await;
}

/// Seed 11.3: confirming four causes seconds after opening the incident is
/// pointed out to the one who did it, not to others.
async fn quick_confirmations_are_pointed_out(db: Db) {
    let t = start(db).await;
    t.send(t.http.put(t.url("/api/v1/catalog")).bearer_auth(ADMIN).json(&seed_catalog())).await.succeeded();
    let mut batch: Vec<Value> = (0..4)
        .map(|i| event_body(&format!("c{i}"), -20.0 + f64::from(i), "deployer", "deploy", "payments-service", "ok"))
        .collect();
    batch.push(error(event_body("f", -5.0, "runtime", "tool_call", "payments-service", "error"), "TIMEOUT"));
    t.post(AGENT, "/api/v1/events", &json!(batch)).await.succeeded();
    let id = newest(&t).await;
    learned(&t, id).await;
    // Opened, then every candidate confirmed within a second or two.
    assert_eq!(t.get(RESPONDER, &format!("/api/v1/incidents/{id}")).await.status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    for i in 0..4 {
        verdict(&t, id, &format!("c{i}"), "confirmed").await;
    }
    let mine = t.get(RESPONDER, "/api/v1/calibration/reliance").await.body;
    assert_eq!(
        (mine["person"].as_str(), mine["timed"].as_i64(), mine["quick"].as_i64()),
        (Some("alice"), Some(4), Some(4)),
        "{mine:#}"
    );
    assert!(mine["prompts"][0].as_str().unwrap().contains("4 of your last 4 confirmations"), "{mine:#}");
    let others = t.get(ADMIN, "/api/v1/calibration/reliance").await.body;
    assert_eq!(others["prompts"], json!([]));
    t.stop().await;
}

/// Seed 10.3: two incidents whose analysis puts the same change first say so.
async fn a_cause_shared_by_incidents_is_shown(db: Db) {
    let t = start(db).await;
    t.send(t.http.put(t.url("/api/v1/catalog")).bearer_auth(ADMIN).json(&seed_catalog())).await.succeeded();
    let change = event_body("pool", -30.0, "db-tuner", "config_change", "payments-db", "ok");
    t.post(AGENT, "/api/v1/events", &json!([change])).await.succeeded();
    let a = error(event_body("a", -25.0, "runtime", "tool_call", "payments-service", "error"), "POOL_EXHAUSTED");
    t.post(AGENT, "/api/v1/events", &json!([a])).await.succeeded();
    let first = newest(&t).await;
    learned(&t, first).await;
    let b = error(event_body("b", -24.0, "billing", "tool_call", "billing-service", "error"), "POOL_EXHAUSTED");
    t.post(AGENT, "/api/v1/events", &json!([b])).await.succeeded();
    let second = newest(&t).await;
    assert_ne!(first, second, "two incidents");
    learned(&t, second).await;
    let d =
        until(&t, &format!("/api/v1/incidents/{second}"), "the shared cause", |d| !d["shared_cause"].is_null()).await;
    assert_eq!(d["shared_cause"], json!({"event_id": "pool", "incidents": [first]}));
    t.stop().await;
}

/// A server over `db` with its own desk settings; the desk, to drive its
/// background duties by hand.
async fn start_with(
    db: Db,
    config: mandate::desk::DeskConfig,
) -> (TestServer, std::sync::Arc<mandate::desk::Desk>, common::StoreGuard) {
    let guard = common::store(db).await;
    let desk = mandate::desk::Desk::open(guard.store.clone(), None, config).await.unwrap();
    let server =
        mandate::server::start_desk(desk.clone(), common::tokens(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let t = TestServer::wrap(server);
    t.send(t.http.put(t.url("/api/v1/catalog")).bearer_auth(ADMIN).json(&seed_catalog())).await.succeeded();
    (t, desk, guard)
}

/// Proposes, approves and activates a rule; its id.
async fn adopt(t: &TestServer, rule: Value) -> i64 {
    let proposed = t.post(RESPONDER, "/api/v1/rules", &rule).await;
    assert_eq!(proposed.status, 201, "{:?}", proposed.body);
    let id = proposed.body["id"].as_i64().unwrap();
    for to in ["approved", "active"] {
        let moved = t.post(ADMIN, &format!("/api/v1/rules/{id}/transition"), &json!({"to": to})).await;
        assert_eq!(moved.status, 200, "{:?}", moved.body);
    }
    id
}

/// Seed 2.1 and 10.5: an `auto` rule pauses the suspected agent by itself,
/// recorded as SYSTEM in the rule's name, only on a server that allows it;
/// elsewhere it gates, and a human decides.
async fn auto_rules_act_only_where_allowed(db: Db) {
    let rule = json!({
        "name": "pause deployers that break payments",
        "match": {"action_type": "deploy", "resource": "payments-*"},
        "decision": "auto",
        "automation": "pause_agent",
    });
    for allowed in [true, false] {
        let config = mandate::desk::DeskConfig { allow_auto_rules: allowed, ..Default::default() };
        let (t, _desk, _guard) = start_with(db, config).await;
        adopt(&t, rule.clone()).await;
        let id = deploy_then_timeout(&t, 0, -3.0).await;
        let path = format!("/api/v1/incidents/{id}");
        if allowed {
            let d = until(&t, &path, "the automatic pause", |d| {
                d["interventions"].as_array().unwrap().iter().any(|i| i["kind"] == "pause_agent")
            })
            .await;
            assert_eq!(d["routing"]["decision"], "auto");
            let pause = d["interventions"].as_array().unwrap().iter().find(|i| i["kind"] == "pause_agent").unwrap();
            assert_eq!(pause["actor_id"], "mandate routing");
            assert!(pause["reason"].as_str().unwrap().contains("learned: pause deployers"), "{pause}");
            let agents = t.get(VIEWER, "/api/v1/agents").await.body;
            let deployer = agents.as_array().unwrap().iter().find(|a| a["agent_id"] == "deployer").unwrap();
            assert_eq!(deployer["status"], "paused");
        } else {
            let d = until(&t, &path, "gated instead", |d| d["routing"]["decision"] == "gated").await;
            learned(&t, id).await;
            let d2 = t.get(VIEWER, &path).await.body;
            assert!(
                !d2["interventions"].as_array().unwrap().iter().any(|i| i["kind"] == "pause_agent"),
                "{:#}",
                d["interventions"]
            );
            let rules = t.get(VIEWER, "/api/v1/rules").await.body;
            assert_eq!(rules["friction"]["auto_allowed"], false);
        }
        t.stop().await;
    }
}

/// Seed 10.6: an active rule that has not fired for the idle period is
/// proposed for sunset by the record keeper; a firing would have kept it.
async fn idle_rules_are_proposed_for_sunset(db: Db) {
    let clock = mandate::paging::Clock::manual(chrono::Utc::now());
    let config = mandate::desk::DeskConfig { clock: clock.clone(), ..Default::default() };
    let (t, desk, _guard) = start_with(db, config).await;
    let idle =
        adopt(&t, json!({"name": "flag schema changes", "match": {"action_type": "migration"}, "decision": "flagged"}))
            .await;
    assert!(desk.keep_records().await.unwrap().sunsets.is_empty(), "active for a moment is not idle");
    clock.advance(chrono::Duration::days(31));
    assert_eq!(desk.keep_records().await.unwrap().sunsets, [idle]);
    let rule = &t.get(VIEWER, "/api/v1/rules").await.body["rules"][0];
    assert_eq!(rule["state"], "active", "proposed, not retired: an admin decides");
    assert!(rule["sunset_proposed_at"].is_string(), "{rule}");
    assert!(desk.keep_records().await.unwrap().sunsets.is_empty(), "proposed once");
    t.stop().await;
}

on_both_databases!(
    auto_rules_act_only_where_allowed,
    idle_rules_are_proposed_for_sunset,
    rejections_lower_the_next_score_and_calibration_counts_them,
    suggestions_are_tracked_to_what_became_of_them,
    the_third_occurrence_proposes_a_rule_that_gates_the_fourth,
    a_proposed_rule_from_an_incident_or_the_api,
    undetermined_three_times_is_escalated,
    undetermined_by_hand_counts_toward_investigation,
    quick_confirmations_are_pointed_out,
    a_cause_shared_by_incidents_is_shown,
);
