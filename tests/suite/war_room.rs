//! An incident at war-room scale, through the HTTP API on both databases:
//! its detail is computed once per change and served to every reader from
//! that result, a reader with the current ETag is answered 304 without a
//! computation, no change is ever answered with the detail from before it,
//! and readers long-polling the incident's version are woken by a change.

use crate::common::{ADMIN, AGENT, Db, RESPONDER, TestServer, VIEWER, as_alice, event_body, seed_catalog, start, with};
use futures_util::future::join_all;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn error(mut body: Value, code: &str, message: &str) -> Value {
    body["error_code"] = code.into();
    body["error_message"] = message.into();
    body
}

/// An incident on payments-service after a deploy to it: its id.
async fn incident(t: &TestServer) -> i64 {
    t.send(t.http.put(t.url("/api/v1/catalog")).bearer_auth(ADMIN).json(&seed_catalog())).await.succeeded();
    let deploy = event_body("deploy-1", -4.0, "deployer", "deploy", "payments-service", "ok");
    let failure = error(event_body("f-1", 0.0, "runtime", "tool_call", "payments-service", "error"), "E", "boom");
    let answer = t.post(AGENT, "/api/v1/events", &json!([deploy, failure])).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let page = t.get(VIEWER, "/api/v1/incidents").await.body;
    page["incidents"][0]["id"].as_i64().unwrap()
}

/// The detail as a reader holding `etag` is answered: status, ETag, body.
async fn read(t: &TestServer, id: i64, etag: Option<&str>) -> (u16, String, Value) {
    let mut request = t.http.get(t.url(&format!("/api/v1/incidents/{id}"))).bearer_auth(VIEWER);
    if let Some(tag) = etag {
        request = request.header("if-none-match", tag);
    }
    let answer = t.send(request).await;
    let tag = answer.headers.get("etag").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (answer.status, tag, answer.body)
}

fn computed(t: &TestServer) -> u64 {
    t.server.state.desk().cache_counts().details_computed
}

/// Fifty readers of one version share one computation; fifty more with
/// its ETag get 304 and cause none.
async fn one_computation_per_change(db: Db) {
    let t = start(db).await;
    let id = incident(&t).await;
    let (status, etag, first) = read(&t, id, None).await;
    assert_eq!(status, 200);
    assert!(etag.starts_with('"') && etag.len() == 34, "a strong ETag: {etag}");

    let before = computed(&t);
    let answers = join_all((0..50).map(|_| read(&t, id, None))).await;
    assert!(answers.iter().all(|(s, tag, body)| *s == 200 && *tag == etag && *body == first));
    let answers = join_all((0..50).map(|_| read(&t, id, Some(&etag)))).await;
    assert!(answers.iter().all(|(s, tag, body)| *s == 304 && *tag == etag && body.is_null()), "{:?}", answers[0]);
    assert_eq!(computed(&t), before, "the version did not change: nothing is computed again");

    // Gzipped to whoever accepts it: the same JSON, its own ETag.
    let gz = |tag: Option<&str>| {
        let mut request =
            t.http.get(t.url(&format!("/api/v1/incidents/{id}"))).bearer_auth(VIEWER).header("accept-encoding", "gzip");
        if let Some(tag) = tag {
            request = request.header("if-none-match", tag);
        }
        request.send()
    };
    let r = gz(None).await.unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(r.headers()["vary"], "accept-encoding");
    let gz_tag = r.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(gz_tag, etag);
    let compressed = r.bytes().await.unwrap();
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&compressed[..]), &mut plain).unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&plain).unwrap(), first);
    assert!(compressed.len() < plain.len());
    assert_eq!(gz(Some(&gz_tag)).await.unwrap().status(), 304);
    let refused = t
        .http
        .get(t.url(&format!("/api/v1/incidents/{id}")))
        .bearer_auth(VIEWER)
        .header("accept-encoding", "gzip;q=0, identity")
        .send()
        .await
        .unwrap();
    assert!(refused.headers().get("content-encoding").is_none(), "q=0 refuses gzip");
    assert_eq!(refused.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(computed(&t), before, "nor for gzip");

    // A change: fifty readers at once, one computation.
    let more = error(event_body("f-2", 0.0, "runtime", "tool_call", "payments-service", "error"), "E", "boom");
    t.post(AGENT, "/api/v1/events", &more).await.succeeded();
    let before = computed(&t);
    let answers = join_all((0..50).map(|_| read(&t, id, Some(&etag)))).await;
    let new_tag = &answers[0].1;
    assert!(answers.iter().all(|(s, tag, body)| *s == 200 && tag == new_tag && body["event_count"] == 2));
    assert_ne!(*new_tag, etag);
    assert_eq!(computed(&t) - before, 1, "fifty readers of the new version share one computation");
    t.stop().await;
}

/// What a detail must show after a change.
type Shows = Box<dyn Fn(&Value) -> bool>;

/// Every kind of change, read back at once with the ETag from before it:
/// the answer is the new detail, never the one from before.
async fn no_stale_detail_after_any_change(db: Db) {
    let t = start(db).await;
    let id = incident(&t).await;
    let (_, mut etag, detail) = read(&t, id, None).await;
    let mut version = detail["version"].as_i64().unwrap();
    let interventions = format!("/api/v1/incidents/{id}/interventions");
    let changes: Vec<(&str, Value, Shows)> = vec![
        (
            "/api/v1/events",
            error(event_body("f-2", 0.0, "runtime", "tool_call", "payments-service", "error"), "E", "boom"),
            Box::new(|d: &Value| d["event_count"] == 2),
        ),
        (
            interventions.as_str(),
            as_alice(json!({"kind": "acknowledge"})),
            Box::new(|d: &Value| d["status"] == "acknowledged"),
        ),
        (
            "verdicts",
            as_alice(json!({"event_id": "deploy-1", "verdict": "confirmed"})),
            Box::new(|d: &Value| d["analysis"]["candidates"][0]["band"] == "CONFIRMED"),
        ),
        (
            "/api/v1/disputes",
            json!({"event_id": "deploy-1", "incident_id": id, "claim": "not_this_agent", "reason": "not our deploy"}),
            Box::new(|d: &Value| !d["analysis"]["candidates"][0]["dispute"].is_null()),
        ),
        (
            interventions.as_str(),
            as_alice(json!({"kind": "pause_agent", "target_agent": "deployer", "reason": "stop deploys"})),
            Box::new(|d: &Value| d["interventions"].as_array().unwrap().iter().any(|i| i["kind"] == "pause_agent")),
        ),
    ];
    for (path, body, shows) in changes {
        let path = if path == "verdicts" { format!("/api/v1/incidents/{id}/verdicts") } else { path.to_owned() };
        let token = if path == "/api/v1/events" { AGENT } else { RESPONDER };
        let answer = t.post(token, &path, &body).await;
        assert!(answer.status == 200 || answer.status == 201, "{path}: {:?}", answer.body);
        let (status, tag, detail) = read(&t, id, Some(&etag)).await;
        assert_eq!(status, 200, "{path}: the change is served at once");
        assert!(detail["version"].as_i64().unwrap() > version, "{path}: {detail}");
        assert!(shows(&detail), "{path}: the detail shows the change: {detail}");
        (etag, version) = (tag, detail["version"].as_i64().unwrap());
    }

    // The catalog is not the incident's, but its detail reads it: a new
    // owner shows at once.
    let mut catalog = seed_catalog();
    catalog["service"][1]["escalation"] = json!(["@new-lead"]);
    let put = t.send(t.http.put(t.url("/api/v1/catalog")).bearer_auth(ADMIN).json(&catalog)).await;
    assert_eq!(put.status, 200, "{:?}", put.body);
    let (status, _, detail) = read(&t, id, Some(&etag)).await;
    assert_eq!(status, 200, "a new catalog is a new detail");
    assert!(detail["escalation_path"].to_string().contains("@new-lead"), "{}", detail["escalation_path"]);
    t.stop().await;
}

/// `since`/`wait` on the detail: held while the incident stays at
/// `since`, answered by a change made by someone else, 304 at the deadline.
async fn readers_wait_on_the_incident_version(db: Db) {
    let t = start(db).await;
    let id = incident(&t).await;
    let (_, etag, detail) = read(&t, id, None).await;
    let since = detail["version"].as_i64().unwrap();
    let path = format!("/api/v1/incidents/{id}?since={since}&wait=20");

    // Another incident changing does not answer this one's waiters.
    let waiters = join_all((0..20).map(|_| {
        let request = t.http.get(t.url(&path)).bearer_auth(VIEWER).header("if-none-match", &etag);
        async {
            let started = Instant::now();
            let answer = t.send(request).await;
            (answer.status, answer.body, started.elapsed())
        }
    }));
    let changes = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let other = error(event_body("o-1", 0.0, "db-runtime", "tool_call", "user-db", "error"), "E", "other");
        t.post(AGENT, "/api/v1/events", &other).await.succeeded();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let changed = Instant::now();
        let path = format!("/api/v1/incidents/{id}/interventions");
        let ack = t.post(RESPONDER, &path, &as_alice(json!({"kind": "acknowledge"}))).await;
        assert_eq!(ack.status, 200, "{:?}", ack.body);
        changed
    };
    let (answers, changed) = tokio::join!(waiters, changes);
    for (status, body, took) in answers {
        assert_eq!(status, 200);
        assert_eq!(body["status"], "acknowledged", "woken by this incident's change");
        assert!(took >= Duration::from_millis(700), "held past the other incident's change: {took:?}");
        assert!(
            took < Duration::from_secs(10),
            "answered by the change, not the deadline: {took:?} ({:?})",
            changed.elapsed()
        );
    }

    // Nothing changes: 304 at the deadline.
    let (_, etag, detail) = read(&t, id, None).await;
    let since = detail["version"].as_i64().unwrap();
    let started = Instant::now();
    let request = t
        .http
        .get(t.url(&format!("/api/v1/incidents/{id}?since={since}&wait=1")))
        .bearer_auth(VIEWER)
        .header("if-none-match", &etag);
    let answer = t.send(request).await;
    assert_eq!(answer.status, 304);
    assert!(started.elapsed() >= Duration::from_millis(900));
    // Not an incident, not a version: said clearly.
    assert_eq!(t.get(VIEWER, "/api/v1/incidents/999?since=1&wait=1").await.status, 404);
    let bad = t.get(VIEWER, &format!("/api/v1/incidents/{id}?since=soon")).await;
    assert_eq!((bad.status, bad.body["field"].as_str()), (400, Some("since")), "{:?}", bad.body);
    let bad = t.get(VIEWER, &format!("/api/v1/incidents/{id}?since={since}&wait=99")).await;
    assert_eq!((bad.status, bad.body["field"].as_str()), (400, Some("wait")), "{:?}", bad.body);
    t.stop().await;
}

/// What a detail's analysis shows of its root causes, in a form to compare.
fn causes(detail: &Value) -> Value {
    json!({
        "candidates": detail["analysis"]["candidates"],
        "considered": detail["analysis"]["considered"],
        "contributing": detail["analysis"]["contributing"],
        "concurrent": detail["analysis"]["concurrent_modifications"],
        "blast_radius": detail["blast_radius"],
        // Rollbacks read the change history; how long ago is the clock's.
        "suggestions": without_ages(&detail["suggestions"].to_string()),
    })
}

/// `text` with the word before every " ago" read as "…".
fn without_ages(text: &str) -> String {
    let parts: Vec<&str> = text.split(" ago").collect();
    let last = parts.len() - 1;
    let age = |part: &str| format!("{}… ago", &part[..part.rfind(' ').map_or(0, |space| space + 1)]);
    parts.iter().enumerate().map(|(i, part)| if i == last { (*part).to_owned() } else { age(part) }).collect()
}

/// A busy incident's actions are read whole once and then extended by
/// what was stored since: after every kind of change that can add to them
/// (a late action, nested calls in any order, a new trace, a new resource,
/// a window that reaches further), the detail is the one a server that
/// just started, reading everything, computes.
async fn the_actions_read_since_are_the_actions_read_whole(db: Db) {
    let t = start(db).await;
    let id = incident(&t).await;
    read(&t, id, None).await;
    let desk = t.server.state.desk();
    let before = desk.cache_counts();
    let (whole, extended) = (before.windows_read_whole, before.windows_extended);
    let (refolded, reused) = (before.scorings_refolded, before.scorings_reused);
    let (events_whole, events_since) = (before.incident_events_whole, before.incident_events_since);
    let failure = |n: usize, fields: Value| {
        let body = event_body(&format!("f-more-{n}"), 0.0, "runtime", "tool_call", "payments-service", "error");
        with(error(body, "E", "boom after v9.1 calling notifications"), fields)
    };
    let action = |id: &str, minutes: f64, resource: &str, fields: Value| {
        with(event_body(id, minutes, "deployer", "config_change", resource, "ok"), fields)
    };
    let steps: Vec<(&str, Vec<Value>)> = vec![
        (
            "a late action, stored now, from half an hour ago",
            vec![action("late", -30.0, "payments-service", json!({}))],
        ),
        (
            "calls nested under a known action, the grandchild sent before its parent",
            vec![
                action("grandchild", -2.0, "notifications", json!({"parent_event_id": "child"})),
                action("child", -3.0, "billing-service", json!({"parent_event_id": "deploy-1"})),
            ],
        ),
        (
            "an action on another service, unrelated",
            vec![action("elsewhere", -1.0, "api-gateway", json!({"metadata": {"version": "v9.1"}}))],
        ),
        (
            "an action named by the error message",
            vec![action("named", -6.0, "payments-db", json!({"metadata": {"version": "v9.1"}}))],
        ),
        (
            "calls whose parent is not stored yet, one a cause by itself until it is",
            vec![
                action("orphan", -8.0, "notifications", json!({"parent_event_id": "late-parent"})),
                action("orphan-on-db", -8.5, "payments-db", json!({"parent_event_id": "late-parent"})),
            ],
        ),
        (
            "its parent, stored a change later: the call folds under it",
            vec![action("late-parent", -9.0, "payments-db", json!({}))],
        ),
        (
            "an action carrying a version no error names yet",
            vec![action("quiet", -7.0, "payments-db", json!({"metadata": {"version": "v7.7"}}))],
        ),
        (
            "an error that names it: what was scored before is scored again",
            vec![with(
                error(
                    event_body("f-named", 0.0, "runtime", "tool_call", "payments-service", "error"),
                    "E",
                    "pool exhausted since v7.7",
                ),
                json!({}),
            )],
        ),
        (
            "deploys of earlier versions: the change history rollbacks read",
            vec![
                with(
                    action("v9.0", -600.0, "payments-service", json!({"metadata": {"version": "v9.0"}})),
                    json!({"action_type": "deploy"}),
                ),
                with(
                    action("v8.9", -900.0, "payments-service", json!({"metadata": {"version": "v8.9"}})),
                    json!({"action_type": "deploy"}),
                ),
            ],
        ),
    ];
    let mut n = 0;
    let mut check = |what: String| {
        n += 1;
        let failure = failure(n, json!({}));
        let t = &t;
        async move {
            let answer = t.post(AGENT, "/api/v1/events", &failure).await;
            assert_eq!(answer.status, 200, "{what}: {:?}", answer.body);
            let (status, _, followed) = read(t, id, None).await;
            assert_eq!(status, 200);
            let fresh =
                mandate::desk::Desk::open(t.server.state.store().clone(), None, Default::default()).await.unwrap();
            let whole = fresh.incident_detail(id).await.unwrap().unwrap();
            let whole = serde_json::to_value(&whole.detail).unwrap();
            assert_eq!(causes(&followed), causes(&whole), "{what}: extended is not what a full read gives");
            followed
        }
    };
    for (what, events) in steps {
        let answer = t.post(AGENT, "/api/v1/events", &json!(events)).await;
        assert_eq!(answer.status, 200, "{what}: {:?}", answer.body);
        check(what.to_owned()).await;
    }
    // An action after the last error, read while the window ends before
    // it (a change that is not an error); the next error brings it in.
    let listed =
        |d: &Value, id: &str| d["analysis"]["candidates"].as_array().unwrap().iter().any(|c| c["event_id"] == id);
    t.post(AGENT, "/api/v1/events", &action("after", 0.0, "payments-db", json!({}))).await.succeeded();
    let ack = t
        .post(RESPONDER, &format!("/api/v1/incidents/{id}/interventions"), &as_alice(json!({"kind": "acknowledge"})))
        .await;
    assert_eq!(ack.status, 200, "{:?}", ack.body);
    let (_, _, detail) = read(&t, id, None).await;
    assert!(!listed(&detail, "after"), "after the last error: not a cause yet");
    let detail = check("an action that the window newly covers".into()).await;
    assert!(listed(&detail, "after"), "{}", detail["analysis"]);
    assert!(listed(&detail, "late") && listed(&detail, "named") && !listed(&detail, "elsewhere"));
    let deploy =
        detail["analysis"]["candidates"].as_array().unwrap().iter().find(|c| c["event_id"] == "deploy-1").unwrap();
    assert!(!listed(&detail, "child") && !listed(&detail, "grandchild"), "nested calls are folded into their root");
    assert!(
        deploy["evidence"].as_array().unwrap().iter().any(|e| e["text"] == "notifications"),
        "the grandchild's resource, named by the error, counts for the deploy it was called from: {deploy}"
    );
    assert!(
        !listed(&detail, "orphan") && !listed(&detail, "orphan-on-db") && listed(&detail, "late-parent"),
        "calls fold under a parent stored later"
    );
    let parent =
        detail["analysis"]["candidates"].as_array().unwrap().iter().find(|c| c["event_id"] == "late-parent").unwrap();
    assert!(parent["evidence"].as_array().unwrap().iter().any(|e| e["text"] == "notifications"), "{parent}");
    let quiet = detail["analysis"]["candidates"].as_array().unwrap().iter().find(|c| c["event_id"] == "quiet").unwrap();
    assert!(quiet["evidence"].as_array().unwrap().iter().any(|e| e["text"] == "v7.7"), "{quiet}");

    // A trace new to the incident, carried by an action stored long before;
    // a resource new to it: a service that depends on the failing one fails
    // too, and one of its own dependencies was changed.
    let traced = action("traced", -10.0, "user-db", json!({"trace_id": "trace-7"}));
    let on_user_db = action("on-user-db", -20.0, "user-db", json!({}));
    t.post(AGENT, "/api/v1/events", &json!([traced, on_user_db])).await.succeeded();
    t.post(AGENT, "/api/v1/events", &failure(200, json!({"trace_id": "trace-7"}))).await.succeeded();
    let detail = check("a new trace".into()).await;
    assert!(listed(&detail, "traced"), "{}", detail["analysis"]);
    let downstream = failure(300, json!({"resource": "user-service"}));
    t.post(AGENT, "/api/v1/events", &downstream).await.succeeded();
    let detail = check("a new resource".into()).await;
    assert!(listed(&detail, "on-user-db"), "{}", detail["analysis"]);

    let after = desk.cache_counts();
    let (whole_after, extended_after) = (after.windows_read_whole, after.windows_extended);
    assert!(extended_after - extended >= 8, "the changes were read as additions: {extended} → {extended_after}");
    assert!(whole_after - whole <= 1, "not whole again: {whole} → {whole_after}");
    // Scoring kept what it folded, but for the parent stored after its call.
    let (refolded_after, reused_after) = (after.scorings_refolded, after.scorings_reused);
    assert!(reused_after - reused >= 8, "scoring reused what it kept: {reused} → {reused_after}");
    assert!(refolded_after - refolded <= 2, "folded again: {refolded} → {refolded_after}");
    let (events_whole_after, events_since_after) = (after.incident_events_whole, after.incident_events_since);
    assert!(events_since_after - events_since >= 8, "{events_since} → {events_since_after}");
    assert_eq!(events_whole_after, events_whole, "the incident's events are read whole once");

    // An error from before the first: the window begins earlier, read whole.
    t.post(
        AGENT,
        "/api/v1/events",
        &failure(400, json!({"occurred_at": (chrono::Utc::now() - chrono::Duration::minutes(3)).to_rfc3339()})),
    )
    .await
    .succeeded();
    check("an earlier first error".into()).await;
    assert!(desk.cache_counts().windows_read_whole > whole_after, "read whole");
    t.stop().await;
}

on_both_databases!(
    one_computation_per_change,
    no_stale_detail_after_any_change,
    readers_wait_on_the_incident_version,
    the_actions_read_since_are_the_actions_read_whole
);
