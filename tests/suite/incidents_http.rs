//! Events to incidents through HTTP: grouping, gaps, degradation, the seed's
//! causal scenarios, interventions exactly once, the change feed, the audit
//! chain — on SQLite and PostgreSQL.

use crate::common::{self, ADMIN, AGENT, Db, RESPONDER, VIEWER, as_alice, event_body, run_body, seed_catalog, start};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn error(mut body: Value, code: &str, message: &str) -> Value {
    body["error_code"] = code.into();
    body["error_message"] = message.into();
    body
}

async fn ids(t: &common::TestServer) -> Vec<i64> {
    let page = t.get(VIEWER, "/api/v1/incidents").await;
    page.body["incidents"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect()
}

/// Seed 7.1: T+0, +1, +5 join one incident; +20 opens another. A replayed
/// event_id is a no-op.
async fn the_fifteen_minute_window_and_replays(db: Db) {
    let t = start(db).await;
    let batch: Vec<Value> = [-60.0, -59.0, -55.0, -40.0]
        .iter()
        .enumerate()
        .map(|(i, m)| {
            error(
                event_body(&format!("e{i}"), *m, "payments-runtime", "tool_call", "payments-service", "error"),
                "TIMEOUT",
                "upstream timeout",
            )
        })
        .collect();
    let report = t.post(AGENT, "/api/v1/events", &json!(batch)).await;
    assert_eq!(report.status, 200, "{:?}", report.body);
    assert_eq!(report.body["accepted"], 4);
    let incidents = ids(&t).await;
    assert_eq!(incidents.len(), 2, "{incidents:?}");
    let first = t.get(VIEWER, &format!("/api/v1/incidents/{}", incidents[1])).await;
    assert_eq!(first.body["event_count"], 3);
    let replay = t.post(AGENT, "/api/v1/events", &batch[0]).await;
    assert_eq!(
        (replay.status, replay.body["duplicates"].as_u64(), replay.body["accepted"].as_u64()),
        (200, Some(1), Some(0))
    );
    let again = t.get(VIEWER, &format!("/api/v1/incidents/{}", incidents[1])).await;
    assert_eq!(again.body["event_count"], 3, "a replay adds no row");
    t.stop().await;
}

/// Seed 13.3: a jump in an agent's sequence numbers shows on the timeline.
async fn sequence_gaps_are_marked(db: Db) {
    let t = start(db).await;
    let mut events = Vec::new();
    for (i, (seq, minutes, outcome)) in [(1, -10.0, "ok"), (2, -9.0, "ok"), (6, -5.0, "error")].into_iter().enumerate()
    {
        let mut e = event_body(&format!("s{i}"), minutes, "report-generator", "tool_call", "reports-db", outcome);
        e["seq"] = seq.into();
        events.push(e);
    }
    t.post(AGENT, "/api/v1/events", &json!(events)).await.succeeded();
    let id = ids(&t).await[0];
    let detail = t.get(VIEWER, &format!("/api/v1/incidents/{id}")).await;
    let gap = detail.body["timeline"].as_array().unwrap().iter().find(|e| e["entry"] == "gap").expect("a gap marker");
    assert_eq!((gap["gap"]["first_missing"].as_i64(), gap["gap"]["last_missing"].as_i64()), (Some(3), Some(5)));
    assert_eq!(gap["gap"]["agent_id"], "report-generator");
    t.stop().await;
}

/// Seed 13.4: missing fields degrade with flags; broken attribution is refused
/// (and counted); the rest of a batch is stored.
async fn partial_data_degrades_and_bad_attribution_is_refused(db: Db) {
    let t = start(db).await;
    let anonymous = json!({"event_id": "anon", "outcome": "error", "resource": "user-db", "occurred_at": chrono::Utc::now().to_rfc3339()});
    let no_resource = event_body("nores", -1.0, "agent-a", "tool_call", "x", "ok");
    let mut no_resource = no_resource;
    no_resource.as_object_mut().unwrap().remove("resource");
    let legacy = event_body("legacy", -1.0, "legacy-unknown", "tool_call", "user-db", "ok");
    let report = t.post(AGENT, "/api/v1/events", &json!([anonymous, no_resource, legacy])).await;
    assert_eq!(report.status, 200);
    assert_eq!(report.body["accepted"], 2);
    let rejected = &report.body["rejected"][0];
    assert_eq!((rejected["index"].as_u64(), rejected["error"]["code"].as_str()), (Some(2), Some("ATTR_AGENT_MISSING")));
    let single = t
        .post(
            AGENT,
            "/api/v1/events",
            &event_body("bad", -1.0, "a", "x", "y", "ok")
                .as_object()
                .map(|m| {
                    let mut m = m.clone();
                    m.insert("actor_type".into(), "HUMAN".into());
                    Value::Object(m)
                })
                .unwrap(),
        )
        .await;
    assert_eq!((single.status, single.body["code"].as_str()), (400, Some("ATTR_ACTOR_ID_REQUIRED")));
    let id = ids(&t).await[0];
    let detail = t.get(VIEWER, &format!("/api/v1/incidents/{id}")).await;
    let flags = &detail.body["timeline"][0]["event"]["flags"];
    assert_eq!(flags, &json!(["actor_unknown", "action_type_unknown"]), "{:?}", detail.body["timeline"]);
    let stats = t.get(VIEWER, "/api/v1/attribution/stats").await;
    assert_eq!(stats.body["events_rejected"], 2);
    assert_eq!(stats.body["legacy_bucket"], 0);
    let codes: Vec<_> = stats.body["violations_by_code"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        codes.contains(&"ATTR_AGENT_MISSING".to_owned()) && codes.contains(&"ATTR_ACTOR_ID_REQUIRED".to_owned()),
        "{codes:?}"
    );
    // Rejected runs are counted too, and never stored.
    let mut run = run_body();
    run["agent_id"] = "legacy-unknown".into();
    let refused = t.post(AGENT, "/api/v1/runs", &run).await;
    assert_eq!(
        (refused.status, refused.body["code"].as_str()),
        (400, Some("ATTR_AGENT_MISSING")),
        "{:?}",
        refused.body
    );
    t.post(AGENT, "/api/v1/runs", &run_body()).await.succeeded();
    let stats = t.get(VIEWER, "/api/v1/attribution/stats").await;
    assert_eq!((stats.body["runs_rejected"].as_i64(), stats.body["runs_accepted"].as_i64()), (Some(1), Some(1)));
    assert_eq!(stats.body["validation_success_rate"], 0.5);
    let batch_too_big: Vec<Value> =
        (0..1001).map(|i| event_body(&format!("b{i}"), -1.0, "a", "x", "y", "ok")).collect();
    let big = t.post(AGENT, "/api/v1/events", &json!(batch_too_big)).await;
    assert_eq!((big.status, big.body["code"].as_str()), (400, Some("BATCH_TOO_LARGE")));
    t.stop().await;
}

/// Seed 3.4 and 8.1 over HTTP: the chain, its roles, the blast radius.
async fn the_deploy_chain_with_blast_radius(db: Db) {
    let t = start(db).await;
    assert_eq!(t.send(t.http.put(t.url("/api/v1/catalog")).bearer_auth(ADMIN).json(&seed_catalog())).await.status, 200);
    let mut approval = event_body("approve", -10.0, "change-portal", "approval", "payments-service", "ok");
    approval["actor_type"] = "HUMAN".into();
    approval["actor_id"] = "alice".into();
    let mut deploy = event_body("deploy", -9.0, "deployer", "deploy", "payments-service", "ok");
    deploy["metadata"] = json!({"version": "v2.3.1"});
    let mut config = event_body("config", -5.0, "config-gen", "config_change", "payments-service", "ok");
    config["metadata"] = json!({"config_key": "pool_size"});
    let failure = error(
        event_body("boom", 0.0, "payments-runtime", "tool_call", "payments-service", "error"),
        "CONFIG_INVALID",
        "invalid pool_size in generated config",
    );
    t.post(AGENT, "/api/v1/events", &json!([approval, deploy, config, failure])).await.succeeded();
    let id = ids(&t).await[0];
    let d = t.get(VIEWER, &format!("/api/v1/incidents/{id}")).await.body;
    assert_eq!(d["severity"], "critical");
    let ranked: Vec<(&str, &str)> = d["analysis"]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["event_id"].as_str().unwrap(), c["band"].as_str().unwrap()))
        .collect();
    assert_eq!(ranked, [("config", "LIKELY"), ("deploy", "SUSPECTED")]);
    let roles: Vec<(&str, &str)> = d["analysis"]["contributing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["event_id"].as_str().unwrap(), c["role"].as_str().unwrap()))
        .collect();
    assert_eq!(roles, [("approve", "context"), ("deploy", "suspected"), ("config", "likely"), ("boom", "confirmed")]);
    let names = |tier: &str| -> Vec<String> {
        d["blast_radius"][tier].as_array().unwrap().iter().map(|a| a["service"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(names("definitely"), ["payments-service"]);
    assert_eq!(names("likely"), ["billing-service", "user-service"]);
    assert_eq!(names("possibly"), ["api-gateway", "notifications"]);
    assert_eq!(d["blast_radius"]["owners_to_notify"], json!(["@alice", "@bea", "@umar"]));
    assert_eq!(d["escalation_path"], json!(["@alice", "@payments-oncall", "@payments-lead", "@vp-engineering"]));
    assert_eq!(d["top3"][0]["kind"], "contain");
    assert!(d["top3"][0]["title"].as_str().unwrap().starts_with("Revert config pool_size"), "{}", d["top3"]);
    let timeline_related = d["timeline"].as_array().unwrap().iter().filter(|e| e["related"] == true).count();
    assert_eq!(timeline_related, 3, "the related actions are on the timeline");
    t.stop().await;
}

/// Seed 3.7, 11.2: only a human confirms; rejections are recorded.
async fn humans_confirm_and_reject_candidates(db: Db) {
    let t = start(db).await;
    t.send(t.http.put(t.url("/api/v1/catalog")).bearer_auth(ADMIN).json(&seed_catalog())).await.succeeded();
    let a = event_body("a", -3.0, "deployer", "deploy", "payments-service", "ok");
    let b = event_body("b", -60.0, "config-gen", "config_change", "payments-service", "ok");
    let failure = error(event_body("f", 0.0, "runtime", "tool_call", "payments-service", "error"), "E", "boom");
    t.post(AGENT, "/api/v1/events", &json!([a, b, failure])).await.succeeded();
    let id = ids(&t).await[0];
    let path = format!("/api/v1/incidents/{id}/verdicts");
    let confirm = t.post(RESPONDER, &path, &as_alice(json!({"event_id": "b", "verdict": "confirmed"}))).await;
    assert_eq!(confirm.status, 200, "{:?}", confirm.body);
    t.post(
        RESPONDER,
        &path,
        &as_alice(json!({"event_id": "a", "verdict": "rejected", "reason": "deploy was a no-op"})),
    )
    .await
    .succeeded();
    let d = t.get(VIEWER, &format!("/api/v1/incidents/{id}")).await.body;
    let c = &d["analysis"]["candidates"];
    assert_eq!(
        (c[0]["event_id"].as_str(), c[0]["band"].as_str(), c[0]["confidence"].as_i64()),
        (Some("b"), Some("CONFIRMED"), Some(100))
    );
    assert_eq!(
        (c[1]["event_id"].as_str(), c[1]["verdict"].as_str(), c[1]["confidence"].as_i64()),
        (Some("a"), Some("rejected"), Some(0))
    );
    assert_eq!(c[0]["verdict_by"], "alice");
    let audit = t.get(VIEWER, "/api/v1/audit").await.body;
    let actions: Vec<&str> =
        audit["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "verdict").count(), 2);
    assert_eq!(audit["chain"]["verified"], true);
    t.stop().await;
}

/// Seed 3.9: two agents write one resource within seconds.
async fn concurrent_writes_are_flagged(db: Db) {
    let t = start(db).await;
    let now = chrono::Utc::now();
    let at = |s: i64| (now - chrono::Duration::seconds(s)).to_rfc3339();
    let mut w1 = event_body("w1", 0.0, "sync-agent", "db_write", "user-db", "ok");
    w1["occurred_at"] = at(62).into();
    let mut w2 = event_body("w2", 0.0, "cleanup-agent", "db_write", "user-db", "ok");
    w2["occurred_at"] = at(59).into();
    let mut failure =
        error(event_body("f", 0.0, "users-runtime", "tool_call", "user-db", "error"), "CONSTRAINT", "duplicate key");
    failure["occurred_at"] = at(30).into();
    t.post(AGENT, "/api/v1/events", &json!([w1, w2, failure])).await.succeeded();
    let id = ids(&t).await[0];
    let d = t.get(VIEWER, &format!("/api/v1/incidents/{id}")).await.body;
    assert_eq!(d["analysis"]["concurrent_modifications"].as_array().unwrap().len(), 1);
    for c in d["analysis"]["candidates"].as_array().unwrap() {
        assert_eq!(c["band"], "SUSPECTED", "{c}");
    }
    t.stop().await;
}

/// Seed 7.4: an error that recovers within two minutes by itself.
async fn flash_incidents_auto_recover(db: Db) {
    let t = start(db).await;
    let e = error(event_body("e", -1.0, "notifier", "tool_call", "notifications", "error"), "HTTP_503", "busy");
    let ok = event_body("ok", -0.5, "notifier", "tool_call", "notifications", "ok");
    t.post(AGENT, "/api/v1/events", &json!([e, ok])).await.succeeded();
    let page = t.get(VIEWER, "/api/v1/incidents").await.body;
    let incident = &page["incidents"][0];
    assert_eq!((incident["auto_recovered"].as_bool(), incident["status"].as_str()), (Some(true), Some("resolved")));
    assert_eq!(page["counts"]["resolved"], 1);
    // A longer incident resolves on recovery too, but is no flash; errors
    // within the window open it again.
    let e2 = error(event_body("e2", -30.0, "notifier", "tool_call", "billing-service", "error"), "HTTP_500", "x");
    let ok2 = event_body("ok2", -28.0, "notifier", "tool_call", "billing-service", "ok");
    t.post(AGENT, "/api/v1/events", &json!([e2, ok2])).await.succeeded();
    let list = t.get(VIEWER, "/api/v1/incidents").await.body;
    let long = list["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["resources"] == json!(["billing-service"]))
        .unwrap()
        .clone();
    assert_eq!((long["auto_recovered"].as_bool(), long["status"].as_str()), (Some(false), Some("resolved")));
    assert_eq!(long["duration_seconds"], 120);
    let e3 = error(event_body("e3", -20.0, "notifier", "tool_call", "billing-service", "error"), "HTTP_500", "x");
    t.post(AGENT, "/api/v1/events", &e3).await.succeeded();
    let reopened = t.get(VIEWER, &format!("/api/v1/incidents/{}", long["id"])).await.body;
    assert_eq!(reopened["status"], "open");
    t.stop().await;
}

/// Seed 10.4 and 10.6: the third occurrence of one signature suggests a rule.
async fn repeat_incidents_reach_a_suggested_rule(db: Db) {
    let t = start(db).await;
    t.send(t.http.put(t.url("/api/v1/catalog")).bearer_auth(ADMIN).json(&seed_catalog())).await.succeeded();
    // A week apart: the same weekday and hour, so the same time pattern
    // whatever the time of day the test runs at.
    const WEEK: f64 = 7.0 * 24.0 * 60.0;
    for (n, base) in [-3.0 * WEEK, -2.0 * WEEK, -WEEK].into_iter().enumerate() {
        let deploy = event_body(&format!("d{n}"), base - 2.0, "deployer", "deploy", "payments-service", "ok");
        let failure = error(
            event_body(&format!("f{n}"), base, "runtime", "tool_call", "payments-service", "error"),
            "TIMEOUT",
            "timeout",
        );
        t.post(AGENT, "/api/v1/events", &json!([deploy, failure])).await.succeeded();
        let id = ids(&t).await[0];
        // Signatures are stored by the background work, not by reads.
        signature_stored(&t, id).await;
        let d = t.get(VIEWER, &format!("/api/v1/incidents/{id}")).await.body;
        if n == 2 {
            assert_eq!(d["pattern"]["level"], "exact", "{}", d["pattern"]);
            assert_eq!(d["pattern"]["occurrence"], 3);
            assert_eq!(d["pattern"]["previous"].as_array().unwrap().len(), 2);
            assert!(d["pattern"]["suggested_rule"].as_str().unwrap().contains("action_type: \"deploy\""));
        }
    }
    t.stop().await;
}

/// Waits (10 s at most) until the background work has stored incident
/// `id`'s pattern signature.
async fn signature_stored(t: &common::TestServer, id: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let record = t.server.state.store().get_incident(id).await.unwrap().unwrap();
        if record.signature.is_some() {
            return;
        }
        assert!(Instant::now() < deadline, "no signature stored for #{id}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Serving an incident's detail writes nothing: a signature the background
/// work has not (re)computed stays as it is through any number of reads.
async fn reads_do_not_write(db: Db) {
    let t = start(db).await;
    let failure = error(event_body("f1", -1.0, "runtime", "tool_call", "payments-service", "error"), "E", "boom");
    t.post(AGENT, "/api/v1/events", &json!([failure])).await.succeeded();
    let id = ids(&t).await[0];
    signature_stored(&t, id).await;
    // As if it had never been computed: nothing marks it for recomputation.
    sqlx::query("UPDATE incidents SET signature = NULL WHERE id = $1")
        .bind(id)
        .execute(t.server.state.store().pool())
        .await
        .unwrap();
    for _ in 0..3 {
        let detail = t.get(VIEWER, &format!("/api/v1/incidents/{id}")).await;
        assert_eq!(detail.status, 200);
    }
    let record = t.server.state.store().get_incident(id).await.unwrap().unwrap();
    assert!(record.signature.is_none(), "a GET stored the signature");
    t.stop().await;
}

/// Seed 4.1: every intervention's effect, exactly once under retry, with no
/// spoofing, confirmation for the irreversible, 403 for viewers.
async fn interventions_take_effect_exactly_once(db: Db) {
    let t = start(db).await;
    t.post(
        AGENT,
        "/api/v1/events",
        &error(event_body("e", -1.0, "deployer", "deploy", "payments-service", "error"), "E", "x"),
    )
    .await
    .succeeded();
    let id = ids(&t).await[0];
    let path = format!("/api/v1/incidents/{id}/interventions");
    let ack = as_alice(json!({"kind": "acknowledge"}));
    let send = |body: &Value, key: &str| {
        t.http.post(t.url(&path)).bearer_auth(RESPONDER).header("idempotency-key", key).json(body)
    };
    let first = t.send(send(&ack, "k-1")).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.body["incident"]["status"], "acknowledged");
    let retry = t.send(send(&ack, "k-1")).await;
    assert_eq!((retry.status, retry.body.clone()), (200, first.body.clone()), "a retry answers the first result");
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    let reused = t.send(send(&as_alice(json!({"kind": "escalate"})), "k-1")).await;
    assert_eq!((reused.status, reused.body["code"].as_str()), (409, Some("IDEMPOTENCY_KEY_REUSED")));
    let audit = t.get(VIEWER, "/api/v1/audit").await.body;
    assert_eq!(
        audit["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "acknowledge").count(),
        1,
        "acted once"
    );

    // No acting in someone else's name; viewers may not intervene.
    let mut spoof = as_alice(json!({"kind": "acknowledge"}));
    spoof["actor_id"] = "bob".into();
    let spoofed = t.post(RESPONDER, &path, &spoof).await;
    assert_eq!((spoofed.status, spoofed.body["code"].as_str()), (403, Some("ACTOR_MISMATCH")));
    let mut system = as_alice(json!({"kind": "acknowledge"}));
    system["actor_type"] = "SYSTEM".into();
    system.as_object_mut().unwrap().remove("actor_id");
    assert_eq!(t.post(RESPONDER, &path, &system).await.body["code"], "HUMAN_ATTRIBUTION_REQUIRED");
    assert_eq!(t.post(VIEWER, &path, &ack).await.status, 403);

    // Pause stops new runs until resumed.
    let agent_path = "/api/v1/agents/agent-deployer/interventions";
    assert_eq!(t.post(RESPONDER, agent_path, &as_alice(json!({"kind": "pause_agent"}))).await.status, 200);
    let refused = t.post(AGENT, "/api/v1/runs", &run_body()).await;
    assert_eq!((refused.status, refused.body["code"].as_str()), (409, Some("AGENT_PAUSED")));
    assert_eq!(t.post(RESPONDER, agent_path, &as_alice(json!({"kind": "resume_agent"}))).await.status, 200);
    assert_eq!(t.post(AGENT, "/api/v1/runs", &run_body()).await.status, 201);

    // Irreversible: confirmation and a reason.
    let disable = as_alice(json!({"kind": "disable_tool", "tool": "helm"}));
    let unconfirmed = t.post(RESPONDER, agent_path, &disable).await;
    assert_eq!((unconfirmed.status, unconfirmed.body["code"].as_str()), (422, Some("CONFIRMATION_REQUIRED")));
    let mut confirmed = disable.clone();
    confirmed["confirm"] = true.into();
    assert_eq!(t.post(RESPONDER, agent_path, &confirmed).await.body["code"], "FIELD_MISSING", "a reason is required");
    confirmed["reason"] = "helm keeps failing".into();
    let disabled = t.post(RESPONDER, agent_path, &confirmed).await;
    assert_eq!(disabled.body["agent"]["disabled_tools"], json!(["helm"]));
    let mut with_tool = event_body("t1", -0.1, "agent-deployer", "deploy", "payments-service", "ok");
    with_tool["tool"] = "helm".into();
    let blocked = t.post(AGENT, "/api/v1/events", &with_tool).await;
    assert_eq!((blocked.status, blocked.body["code"].as_str()), (409, Some("TOOL_DISABLED")));
    let critical = t
        .post(
            RESPONDER,
            agent_path,
            &as_alice(json!({"kind": "disable_tool", "tool": "kubectl", "confirm": true, "reason": "r"})),
        )
        .await;
    assert_eq!(critical.status, 200, "kubectl is not critical until a catalog says so: {:?}", critical.body);

    // Escalate, rollback (advisory), flag, rule, create.
    let escalated = t.post(RESPONDER, &path, &as_alice(json!({"kind": "escalate"}))).await;
    assert_eq!(escalated.body["incident"]["escalation_level"], 1);
    let rollback = t
        .post(
            RESPONDER,
            &path,
            &as_alice(json!({"kind": "trigger_rollback", "confirm": true, "reason": "bad deploy",
        "command": "kubectl rollout undo deployment/payments-service"})),
        )
        .await;
    assert!(rollback.body["message"].as_str().unwrap().contains("does not execute"), "{:?}", rollback.body);
    assert_eq!(
        t.post(RESPONDER, &path, &as_alice(json!({"kind": "flag_for_review"}))).await.body["incident"]["flagged_for_review"],
        true
    );
    assert_eq!(
        t.post(
            RESPONDER,
            &path,
            &as_alice(json!({"kind": "update_rule", "confirm": true, "reason": "r", "rule": "gate deploys"}))
        )
        .await
        .status,
        200
    );
    let created = t.post(RESPONDER, agent_path, &as_alice(json!({"kind": "create_incident", "confirm": true, "reason": "odd writes", "title": "agent-deployer writes"}))).await;
    assert_eq!(created.body["incident"]["title"], "agent-deployer writes");
    let not_here = t.post(RESPONDER, agent_path, &as_alice(json!({"kind": "acknowledge"}))).await;
    assert_eq!((not_here.status, not_here.body["code"].as_str()), (422, Some("INTERVENTION_NOT_APPLICABLE")));
    let agents = t.get(VIEWER, "/api/v1/agents").await.body;
    let deployer = agents.as_array().unwrap().iter().find(|a| a["agent_id"] == "agent-deployer").unwrap();
    assert_eq!((deployer["status"].as_str(), deployer["live_runs"].as_i64()), (Some("active"), Some(1)));
    let erring = agents.as_array().unwrap().iter().find(|a| a["agent_id"] == "deployer").unwrap();
    assert_eq!(erring["failure_rate"], 1.0, "its one event was an error");
    let run_id = t.post(AGENT, "/api/v1/runs", &run_body()).await.body["run_id"].as_str().unwrap().to_owned();
    t.post(AGENT, &format!("/api/v1/runs/{run_id}/complete"), &json!({"status": "failed"})).await.succeeded();
    let agents = t.get(VIEWER, "/api/v1/agents").await.body;
    let deployer = agents.as_array().unwrap().iter().find(|a| a["agent_id"] == "agent-deployer").unwrap();
    assert_eq!(deployer["failure_rate"], 1.0, "its one completed run failed");
    let audit = t.get(VIEWER, "/api/v1/audit").await.body;
    assert_eq!(audit["chain"]["verified"], true);
    assert!(audit["entries"].as_array().unwrap().len() >= 10);
    let catalog = t.get(VIEWER, "/api/v1/interventions").await.body;
    assert_eq!(catalog.as_array().unwrap().len(), 16, "every kind, the seven of an incident's life included");
    t.stop().await;
}

/// ETag and If-None-Match; the long poll answers on change, 304 at the deadline.
async fn the_change_feed(db: Db) {
    let t = start(db).await;
    t.post(AGENT, "/api/v1/events", &error(event_body("e0", -1.0, "a", "tool_call", "svc", "error"), "E", "x"))
        .await
        .succeeded();
    let first = t.get(VIEWER, "/api/v1/incidents").await;
    let etag = first.headers["etag"].to_str().unwrap().to_owned();
    let unchanged =
        t.send(t.http.get(t.url("/api/v1/incidents")).bearer_auth(VIEWER).header("if-none-match", &etag)).await;
    assert_eq!(unchanged.status, 304);
    let version = first.body["version"].as_i64().unwrap();

    let started = Instant::now();
    let idle = t.get(VIEWER, &format!("/api/v1/incidents?since={version}&wait=1")).await;
    assert_eq!(idle.status, 304);
    assert!(started.elapsed() >= Duration::from_millis(900), "it waited for the deadline");

    let url = t.url(&format!("/api/v1/incidents?since={version}&wait=20"));
    let http = t.http.clone();
    let waiter = tokio::spawn(async move {
        let response = http.get(url).bearer_auth(VIEWER).send().await.unwrap();
        (response.status().as_u16(), response.json::<Value>().await.unwrap())
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let posted = Instant::now();
    t.post(AGENT, "/api/v1/events", &error(event_body("e1", 0.0, "b", "tool_call", "other", "error"), "E", "y"))
        .await
        .succeeded();
    let (status, body) = waiter.await.unwrap();
    assert_eq!(status, 200);
    assert!(body["version"].as_i64().unwrap() > version);
    assert_eq!(body["incidents"].as_array().unwrap().len(), 2);
    assert!(posted.elapsed() < Duration::from_secs(5), "answered on the change, not at the deadline");
    assert_eq!(t.get(VIEWER, "/api/v1/incidents?wait=31&since=0").await.status, 400);
    let started = Instant::now();
    let ahead = t.get(VIEWER, "/api/v1/incidents?since=999999&wait=20").await;
    assert_eq!(ahead.status, 200, "a client ahead of the server (its history was reset) is answered at once");
    assert!(started.elapsed() < Duration::from_secs(5));

    // Shutting down ends waiting long polls at once (a restart is not held up).
    let version = t.get(VIEWER, "/api/v1/incidents").await.body["version"].as_i64().unwrap();
    let url = t.url(&format!("/api/v1/incidents?since={version}&wait=30"));
    let http = t.http.clone();
    let waiter =
        tokio::spawn(async move { http.get(url).bearer_auth(VIEWER).send().await.map(|r| r.status().as_u16()) });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopping = Instant::now();
    t.stop().await;
    assert!(stopping.elapsed() < Duration::from_secs(5), "stop took {:?}", stopping.elapsed());
    assert_eq!(waiter.await.unwrap().unwrap(), 503);
}

/// `changed_after`: only what changed, oldest change first, in pages that
/// never split one version; it rides the long poll.
async fn the_changes_only_feed(db: Db) {
    let t = start(db).await;
    let v0 = t.get(VIEWER, "/api/v1/incidents").await.body["version"].as_i64().unwrap();
    let fail =
        |id: &str, resource: &str| error(event_body(id, -1.0, resource, "tool_call", resource, "error"), "E", "x");
    // One batch: three incidents in one version. Then two batches of one.
    t.post(AGENT, "/api/v1/events", &json!([fail("b0", "r0"), fail("b1", "r1"), fail("b2", "r2")])).await.succeeded();
    t.post(AGENT, "/api/v1/events", &fail("b3", "r3")).await.succeeded();
    t.post(AGENT, "/api/v1/events", &fail("b4", "r4")).await.succeeded();
    let titles = |a: &common::Answer| -> Vec<String> {
        a.body["incidents"].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap().to_owned()).collect()
    };

    // A page of 2 cannot split the three-incident version: it holds all three.
    let first = t.get(VIEWER, &format!("/api/v1/incidents?changed_after={v0}&limit=2")).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(titles(&first), ["E on r0", "E on r1", "E on r2"]);
    let v1 = first.body["version"].as_i64().unwrap();
    let second = t.get(VIEWER, &format!("/api/v1/incidents?changed_after={v1}&limit=1")).await;
    assert_eq!(titles(&second), ["E on r3"]);
    let v2 = second.body["version"].as_i64().unwrap();
    let third = t.get(VIEWER, &format!("/api/v1/incidents?changed_after={v2}&limit=1")).await;
    assert_eq!(titles(&third), ["E on r4"]);
    let v3 = third.body["version"].as_i64().unwrap();
    assert_eq!(third.body["counts"]["open"], 5, "counts are always the whole store's");
    let none = t.get(VIEWER, &format!("/api/v1/incidents?changed_after={v3}")).await;
    assert_eq!((titles(&none).len(), none.body["version"].as_i64().unwrap()), (0, v3));

    // A change to one incident: the long poll brings only that one.
    let url = t.url(&format!("/api/v1/incidents?since={v3}&wait=20&changed_after={v3}"));
    let http = t.http.clone();
    let waiter =
        tokio::spawn(async move { http.get(url).bearer_auth(VIEWER).send().await.unwrap().json::<Value>().await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r3 = second.body["incidents"][0]["id"].as_i64().unwrap();
    let ack = t
        .send(
            t.http
                .post(t.url(&format!("/api/v1/incidents/{r3}/interventions")))
                .bearer_auth(RESPONDER)
                .header("idempotency-key", "ack-r3")
                .json(&as_alice(json!({"kind": "acknowledge"}))),
        )
        .await;
    assert_eq!(ack.status, 200, "{:?}", ack.body);
    let changed = waiter.await.unwrap().unwrap();
    let list = changed["incidents"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!((list[0]["title"].as_str(), list[0]["status"].as_str()), (Some("E on r3"), Some("acknowledged")));

    let refused = t.get(VIEWER, "/api/v1/incidents?changed_after=x").await;
    assert_eq!((refused.status, refused.body["field"].as_str()), (400, Some("changed_after")));
    // Status and cursor narrow what the changes page lists; its version
    // still says how far the changes were read.
    let everything = t.get(VIEWER, "/api/v1/incidents?changed_after=0").await.body;
    let acked = t.get(VIEWER, "/api/v1/incidents?changed_after=0&status=acknowledged").await.body;
    let titles: Vec<&str> =
        acked["incidents"].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["E on r3"]);
    assert_eq!(acked["version"], everything["version"]);
    let none_before = t.get(VIEWER, "/api/v1/incidents?changed_after=0&cursor=0.0").await.body;
    assert!(none_before["incidents"].as_array().unwrap().is_empty(), "nothing started before 1970");

    // A client that read a newer version from another server sharing the
    // database, which this one has not heard of yet (a change committed
    // behind its back stands in for it): the page never reaches less far
    // than the client already had.
    let ahead = changed["version"].as_i64().unwrap() + 50;
    sqlx::query("UPDATE incidents SET version = $1 WHERE title = 'E on r4'")
        .bind(ahead)
        .execute(t.server.state.store().pool())
        .await
        .unwrap();
    let failed_over = t.get(VIEWER, &format!("/api/v1/incidents?changed_after={ahead}")).await;
    assert_eq!(failed_over.status, 200, "{:?}", failed_over.body);
    assert!(failed_over.body["version"].as_i64().unwrap() >= ahead, "the feed went back: {:?}", failed_over.body);
    t.stop().await;
}

on_both_databases!(
    the_fifteen_minute_window_and_replays,
    sequence_gaps_are_marked,
    partial_data_degrades_and_bad_attribution_is_refused,
    the_deploy_chain_with_blast_radius,
    humans_confirm_and_reject_candidates,
    concurrent_writes_are_flagged,
    flash_incidents_auto_recover,
    repeat_incidents_reach_a_suggested_rule,
    interventions_take_effect_exactly_once,
    the_change_feed,
    the_changes_only_feed,
    reads_do_not_write,
);
