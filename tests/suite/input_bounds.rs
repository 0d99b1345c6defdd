//! Inputs with bounds, on both databases: identifiers refuse control
//! characters (NUL included, which PostgreSQL cannot store), free text
//! refuses NUL, in bodies, queries and paths, each with `400
//! FIELD_INVALID_VALUE` naming the field; in a batch only the bad event is
//! refused. `occurred_at` far from the server's clock has its own code.

use crate::common::{self, ADMIN, AGENT, Db, RESPONDER, as_alice, event_body, run_body};
use serde_json::json;

const IDENTIFIERS: [&str; 11] = [
    "event_id",
    "agent_id",
    "origin_system_id",
    "run_id",
    "parent_event_id",
    "action_type",
    "tool",
    "resource",
    "error_code",
    "trace_id",
    "actor_id",
];

async fn control_characters_are_refused_naming_the_field(db: Db) {
    let t = common::start(db).await;
    for field in IDENTIFIERS {
        for bad in ["a\u{0}b", "agent\u{1b}[31m", "x\u{9b}y", "line\nbreak"] {
            let mut e = event_body("ctl", -0.1, "agent-a", "deploy", "svc-a", "error");
            if field == "actor_id" {
                e["actor_type"] = "HUMAN".into();
                e = as_alice(e);
                e["actor_id"] = bad.into();
            } else {
                e[field] = bad.into();
            }
            let answer = t.post(AGENT, "/api/v1/events", &e).await;
            assert_eq!(answer.status, 400, "{field}={bad:?}: {}", answer.body);
            let errors = answer.body["errors"].as_array().cloned().unwrap_or_else(|| vec![answer.body.clone()]);
            assert!(
                errors.iter().any(|d| d["code"] == "FIELD_INVALID_VALUE" && d["field"] == field),
                "{field}={bad:?} is named: {}",
                answer.body
            );
        }
    }
    // A list of identifiers, and free text: NUL only.
    let mut e = event_body("scope", -0.1, "agent-a", "deploy", "svc-a", "ok");
    e["scope"] = json!(["ok", "bad\u{0}"]);
    assert_eq!(t.post(AGENT, "/api/v1/events", &e).await.status, 400);
    let mut e = event_body("text", -0.1, "agent-a", "deploy", "svc-a", "error");
    e["error_message"] = "stack\ttrace\nline 2".into();
    assert_eq!(t.post(AGENT, "/api/v1/events", &e).await.status, 200, "tabs and newlines are fine in free text");
    e["event_id"] = "text-2".into();
    e["error_message"] = "nul\u{0}here".into();
    let answer = t.post(AGENT, "/api/v1/events", &e).await;
    assert_eq!(
        (answer.status, answer.body["errors"][0]["field"].as_str()),
        (400, Some("error_message")),
        "{}",
        answer.body
    );
    t.stop().await;
}

async fn one_bad_event_in_a_batch_loses_none_beside_it(db: Db) {
    let t = common::start(db).await;
    let mut bad = event_body("b2", -0.1, "agent\u{0}x", "deploy", "svc-a", "error");
    bad["error_code"] = "E".into();
    let good = |id: &str| {
        let mut e = event_body(id, -0.1, "agent-a", "deploy", "svc-a", "error");
        e["error_code"] = "E".into();
        e
    };
    let batch = json!([good("b1"), bad, good("b3")]);
    let answer = t.post(AGENT, "/api/v1/events", &batch).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["accepted"], 2);
    let rejected = &answer.body["rejected"];
    assert_eq!(rejected.as_array().unwrap().len(), 1, "{answer:?}", answer = answer.body);
    assert_eq!((rejected[0]["index"].as_i64(), rejected[0]["event_id"].as_str()), (Some(1), Some("b2")));
    assert_eq!(rejected[0]["error"]["errors"][0]["field"], "agent_id", "{}", answer.body);
    let list = t.get(ADMIN, "/api/v1/incidents").await;
    assert_eq!(list.body["incidents"][0]["event_count"], 2, "both good events stored");
    t.stop().await;
}

async fn runs_queries_and_paths_refuse_nul(db: Db) {
    let t = common::start(db).await;
    let mut run = run_body();
    run["agent_id"] = "agent\u{0}".into();
    let answer = t.post(AGENT, "/api/v1/runs", &run).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    let mut run = run_body();
    run["goal"] = "goal\u{0}".into();
    let answer = t.post(AGENT, "/api/v1/runs", &run).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(answer.body.to_string().contains("goal"), "{}", answer.body);

    for path in
        ["/api/v1/runs?agent_id=%00", "/api/v1/runs?agent_id=a%1Bb", "/api/v1/runs/%00", "/api/v1/agents?x%00=1"]
    {
        let answer = t.get(ADMIN, path).await;
        assert_eq!(
            (answer.status, answer.body["code"].as_str()),
            (400, Some("FIELD_INVALID_VALUE")),
            "{path}: {}",
            answer.body
        );
    }
    let answer =
        t.post(RESPONDER, "/api/v1/agents/a%00b/interventions", &as_alice(json!({"kind": "pause_agent"}))).await;
    assert_eq!((answer.status, answer.body["field"].as_str()), (400, Some("agent_id")), "{}", answer.body);
    let answer = t
        .post(
            RESPONDER,
            "/api/v1/agents/deployer/interventions",
            &as_alice(json!({"kind": "pause_agent", "reason": "r\u{0}"})),
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    t.stop().await;
}

async fn occurred_at_far_from_the_clock_is_refused(db: Db) {
    let t = common::start(db).await;
    for (id, at) in [("future", "9999-12-31T00:00:00Z"), ("ancient", "0001-01-01T00:00:00Z")] {
        let mut e = event_body(id, 0.0, "agent-a", "deploy", "svc-a", "ok");
        e["occurred_at"] = at.into();
        let answer = t.post(AGENT, "/api/v1/events", &e).await;
        assert_eq!(answer.status, 400, "{}", answer.body);
        let detail = &answer.body["errors"][0];
        assert_eq!(
            (detail["code"].as_str(), detail["field"].as_str()),
            (Some("OCCURRED_AT_OUT_OF_RANGE"), Some("occurred_at"))
        );
        assert!(detail["message"].as_str().unwrap().contains("30 days"), "{detail}");
    }
    // Inside the window: a week ago, and a minute ahead (clocks drift).
    for (id, minutes) in [("week", -7.0 * 24.0 * 60.0), ("ahead", 1.0)] {
        let e = event_body(id, minutes, "agent-a", "deploy", "svc-a", "ok");
        assert_eq!(t.post(AGENT, "/api/v1/events", &e).await.status, 200, "{id}");
    }
    t.stop().await;
}

on_both_databases!(
    control_characters_are_refused_naming_the_field,
    one_bad_event_in_a_batch_loses_none_beside_it,
    runs_queries_and_paths_refuse_nul,
    occurred_at_far_from_the_clock_is_refused,
);
