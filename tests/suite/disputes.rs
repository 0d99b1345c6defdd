//! Disputed attribution (seed 13.2) through the HTTP API on both databases:
//! a person disputes, the candidate and the run show DISPUTED, a verdict
//! given meanwhile says so, an admin resolves once, and every step is in
//! the audit log.

use crate::common::{ADMIN, AGENT, Db, RESPONDER, VIEWER, as_alice, event_body, run_body, start};
use serde_json::{Value, json};

async fn disputed_attribution_from_claim_to_resolution(db: Db) {
    let t = start(db).await;
    let run = t.post(AGENT, "/api/v1/runs", &run_body()).await;
    let run_id = run.body["run_id"].as_str().unwrap().to_owned();
    let mut deploy = event_body("deploy-42", -3.0, "agent-deployer", "deploy", "payments-service", "ok");
    deploy["run_id"] = run_id.clone().into();
    let mut failure = event_body("f-1", 0.0, "runtime", "tool_call", "payments-service", "error");
    failure["error_code"] = "E_TIMEOUT".into();
    let report = t.post(AGENT, "/api/v1/events", &json!([deploy, failure])).await;
    let incident = report.body["incidents"][0].as_i64().unwrap();
    let detail = format!("/api/v1/incidents/{incident}");
    let candidate = |d: &Value| {
        d["analysis"]["candidates"].as_array().unwrap().iter().find(|c| c["event_id"] == "deploy-42").cloned().unwrap()
    };
    assert!(candidate(&t.get(VIEWER, &detail).await.body).get("dispute").is_none());
    let version_before = t.get(VIEWER, "/api/v1/incidents").await.body["version"].as_i64().unwrap();

    // Refusals first: each names what was wrong.
    let body = |event: &str, claim: &str| json!({"event_id": event, "incident_id": incident, "claim": claim, "reason": "I was asleep; the pipeline ran under my name"});
    let agent = t.post(AGENT, "/api/v1/disputes", &body("deploy-42", "not_this_agent")).await;
    assert_eq!(agent.status, 403, "agents do not dispute: {:?}", agent.body);
    let missing = t.post(VIEWER, "/api/v1/disputes", &body("no-such-event", "not_me")).await;
    assert_eq!((missing.status, missing.body["code"].as_str()), (404, Some("EVENT_NOT_FOUND")));
    let bad = t.post(VIEWER, "/api/v1/disputes", &body("deploy-42", "not_my_fault")).await;
    assert_eq!((bad.status, bad.body["field"].as_str()), (400, Some("claim")), "{:?}", bad.body);
    let no_reason = t.post(VIEWER, "/api/v1/disputes", &json!({"event_id": "deploy-42", "claim": "not_me"})).await;
    assert_eq!((no_reason.status, no_reason.body["field"].as_str()), (400, Some("reason")), "{:?}", no_reason.body);

    // A viewer disputes: the candidate, the run and the list show it.
    let opened = t.post(VIEWER, "/api/v1/disputes", &body("deploy-42", "not_this_agent")).await;
    assert_eq!(opened.status, 201, "{:?}", opened.body);
    assert_eq!(opened.body["state"], "disputed");
    assert_eq!(opened.body["opened_by"], "victor");
    assert_eq!(opened.body["run_id"], run_id.as_str());
    assert_eq!(opened.body["incident_id"], incident);
    let id = opened.body["id"].as_i64().unwrap();
    let again = t.post(RESPONDER, "/api/v1/disputes", &body("deploy-42", "not_me")).await;
    assert_eq!((again.status, again.body["code"].as_str()), (409, Some("DISPUTE_OPEN")));
    let c = candidate(&t.get(VIEWER, &detail).await.body);
    assert_eq!((c["dispute"]["state"].as_str(), c["dispute"]["id"].as_i64()), (Some("disputed"), Some(id)));
    let r = t.get(VIEWER, &format!("/api/v1/runs/{run_id}")).await;
    assert_eq!(r.body["dispute"]["state"], "disputed", "{:?}", r.body);
    let open = t.get(VIEWER, "/api/v1/disputes?state=open").await;
    assert_eq!(open.body["disputes"].as_array().unwrap().len(), 1);
    let version_after = t.get(VIEWER, "/api/v1/incidents").await.body["version"].as_i64().unwrap();
    assert!(version_after > version_before, "consoles watching the incident are told");

    // A verdict on it says it was given on a disputed attribution.
    let verdict = t
        .post(
            RESPONDER,
            &format!("/api/v1/incidents/{incident}/verdicts"),
            &as_alice(json!({"event_id": "deploy-42", "verdict": "confirmed"})),
        )
        .await;
    assert_eq!(verdict.status, 200, "{:?}", verdict.body);
    let c = candidate(&t.get(VIEWER, &detail).await.body);
    assert_eq!((c["verdict"].as_str(), c["verdict_while_disputed"].as_bool()), (Some("confirmed"), Some(true)));

    // Only an admin resolves, and only once.
    let path = format!("/api/v1/disputes/{id}/resolution");
    let responder = t.post(RESPONDER, &path, &json!({"resolution": "overturned"})).await;
    assert_eq!(responder.status, 403);
    let resolved =
        t.post(ADMIN, &path, &json!({"resolution": "overturned", "note": "pipeline token was shared"})).await;
    assert_eq!(resolved.status, 200, "{:?}", resolved.body);
    assert_eq!(
        (resolved.body["state"].as_str(), resolved.body["resolved_by"].as_str()),
        (Some("overturned"), Some("root-admin"))
    );
    let twice = t.post(ADMIN, &path, &json!({"resolution": "upheld"})).await;
    assert_eq!((twice.status, twice.body["code"].as_str()), (409, Some("DISPUTE_RESOLVED")));
    let nowhere = t.post(ADMIN, "/api/v1/disputes/999999/resolution", &json!({"resolution": "upheld"})).await;
    assert_eq!((nowhere.status, nowhere.body["code"].as_str()), (404, Some("DISPUTE_NOT_FOUND")));
    let c = candidate(&t.get(VIEWER, &detail).await.body);
    assert_eq!(c["dispute"]["state"], "overturned");

    // Both steps, and the verdict's note of the dispute, are in the audit log.
    let audit = t.get(ADMIN, "/api/v1/audit").await.body;
    let entries = audit["entries"].as_array().unwrap();
    let find = |action: &str| entries.iter().find(|e| e["action"] == action).cloned().unwrap();
    let opened = find("dispute_opened");
    assert_eq!((opened["actor"].as_str(), opened["target"].as_str()), (Some("victor"), Some("event:deploy-42")));
    assert_eq!(find("dispute_resolved")["details"]["resolution"], "overturned");
    assert_eq!(find("verdict")["details"]["while_disputed"]["dispute"], id);
    assert_eq!(audit["chain"]["verified"], true);

    // Resolved, the event may be disputed afresh.
    let anew = t.post(RESPONDER, "/api/v1/disputes", &body("deploy-42", "not_me")).await;
    assert_eq!(anew.status, 201, "{:?}", anew.body);
    t.stop().await;
}

on_both_databases!(disputed_attribution_from_claim_to_resolution);
