//! Layer 2 of the attribution contract and the run lifecycle, through HTTP.

use crate::common::{ADMIN, AGENT, Db, VIEWER, run_body, start, with};
use serde_json::{Value, json};

/// Every canonical code, through the API, as the contract's JSON.
async fn every_attribution_code_is_rejected_with_the_contract_json(db: Db) {
    let t = start(db).await;
    let cases = [
        (json!({"agent_id": null}), "ATTR_AGENT_MISSING", "agent_id"),
        (json!({"agent_id": "  "}), "ATTR_AGENT_MISSING", "agent_id"),
        (json!({"agent_id": "legacy-unknown"}), "ATTR_AGENT_MISSING", "agent_id"),
        (json!({"actor_type": null}), "ATTR_ACTOR_TYPE_MISSING", "actor_type"),
        (json!({"actor_type": "BOT"}), "ATTR_ACTOR_TYPE_INVALID", "actor_type"),
        (json!({"actor_type": "HUMAN"}), "ATTR_ACTOR_ID_REQUIRED", "actor_id"),
        (json!({"actor_type": "SERVICE", "actor_id": "user-12345"}), "ATTR_ACTOR_ID_FORBIDDEN", "actor_id"),
        (json!({"origin_system_id": null}), "ATTR_ORIGIN_SYSTEM_MISSING", "origin_system_id"),
        (json!({"origin_system_id": "legacy-migration"}), "ATTR_ORIGIN_SYSTEM_MISSING", "origin_system_id"),
    ];
    for (changes, code, field) in cases {
        let a = t.post(AGENT, "/api/v1/runs", &with(run_body(), changes.clone())).await;
        assert_eq!(a.status, 400, "{changes}: {:?}", a.body);
        assert_eq!(a.body["error_type"], "attribution_validation", "{changes}");
        assert_eq!(a.body["code"], code, "{changes}");
        assert_eq!(a.body["field"], field, "{changes}");
        assert!(a.body["message"].as_str().unwrap().contains(field), "{changes}");
        assert_eq!(a.body["errors"][0]["code"], code);
    }
    let runs = t.get(ADMIN, "/api/v1/runs").await;
    assert_eq!(runs.body["runs"], json!([]), "no rejected run was stored");
    t.stop().await;
}

/// The first violation is on top; `errors` lists them all, in rule order.
async fn all_violations_are_listed(db: Db) {
    let t = start(db).await;
    let body = json!({"goal": "g", "agent_id": "legacy-unknown", "actor_type": "human", "origin_system_id": "",
                      "source": "SDK", "provider_type": "internal", "risk_level": "low"});
    let a = t.post(AGENT, "/api/v1/runs", &body).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["code"], "ATTR_AGENT_MISSING");
    let codes: Vec<_> = a.body["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["ATTR_AGENT_MISSING", "ATTR_ORIGIN_SYSTEM_MISSING", "ATTR_ACTOR_ID_REQUIRED"]);
    t.stop().await;
}

/// Valid runs of each actor type are stored normalised: actor type upper-case,
/// a blank actor_id on a machine actor stored as NULL.
async fn valid_runs_are_created_and_normalised(db: Db) {
    let t = start(db).await;
    let human = t
        .post(
            AGENT,
            "/api/v1/runs",
            &with(run_body(), json!({"actor_type": "human", "actor_id": "user_12345", "source": "api"})),
        )
        .await;
    assert_eq!(human.status, 201, "{:?}", human.body);
    assert_eq!(human.body["actor_type"], "HUMAN");
    assert_eq!(human.body["actor_id"], "user_12345");
    assert_eq!(human.body["source"], "API");
    assert_eq!(human.body["state"], "LIVE");
    assert_eq!(human.body["status"], "running");
    let location = human.headers["location"].to_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/v1/runs/{}", human.body["run_id"].as_str().unwrap()));

    let system =
        t.post(AGENT, "/api/v1/runs", &with(run_body(), json!({"actor_type": "System", "actor_id": "   "}))).await;
    assert_eq!(system.status, 201, "{:?}", system.body);
    assert_eq!(system.body["actor_type"], "SYSTEM");
    assert_eq!(system.body["actor_id"], Value::Null);
    let stored = t.get(AGENT, &format!("/api/v1/runs/{}", system.body["run_id"].as_str().unwrap())).await;
    assert_eq!(stored.body["actor_id"], Value::Null, "blank actor_id is stored as NULL");

    let service =
        t.post(AGENT, "/api/v1/runs", &with(run_body(), json!({"actor_type": "SERVICE", "actor_id": ""}))).await;
    assert_eq!(service.status, 201);
    assert_eq!(service.body["actor_id"], Value::Null);
    t.stop().await;
}

/// Missing or invalid non-attribution fields are schema violations naming the field.
async fn schema_violations_name_the_field(db: Db) {
    let t = start(db).await;
    let cases = [
        (json!({"goal": null}), "FIELD_MISSING", "goal"),
        (json!({"goal": " "}), "FIELD_MISSING", "goal"),
        (json!({"source": null}), "FIELD_MISSING", "source"),
        (json!({"source": "CRON"}), "FIELD_INVALID_VALUE", "source"),
        (json!({"provider_type": 3}), "FIELD_INVALID_TYPE", "provider_type"),
        (json!({"risk_level": "extreme"}), "FIELD_INVALID_VALUE", "risk_level"),
        (json!({"origin_ts": "yesterday"}), "FIELD_INVALID_VALUE", "origin_ts"),
        (json!({"agent_id": 42}), "FIELD_INVALID_TYPE", "agent_id"),
        (json!({"agent_id": "a".repeat(257)}), "FIELD_TOO_LONG", "agent_id"),
        (json!({"state": "COMPLETED"}), "FIELD_UNKNOWN", "state"),
    ];
    for (changes, code, field) in cases {
        let a = t.post(AGENT, "/api/v1/runs", &with(run_body(), changes.clone())).await;
        assert_eq!(a.status, 400, "{changes}");
        assert_eq!(a.body["error_type"], "schema_validation", "{changes}: {:?}", a.body);
        assert_eq!(a.body["code"], code, "{changes}");
        assert_eq!(a.body["field"], field, "{changes}");
    }
    let source = t.post(AGENT, "/api/v1/runs", &with(run_body(), json!({"source": "CRON"}))).await;
    assert!(source.body["message"].as_str().unwrap().contains("SDK, API, SYSTEM"), "{:?}", source.body);
    t.stop().await;
}

/// Bad bodies get 4xx with a JSON error, never 5xx.
async fn unusable_bodies_are_4xx(db: Db) {
    let t = start(db).await;
    let url = t.url("/api/v1/runs");
    let raw = |body: &'static str, content_type: &'static str| {
        t.http.post(&url).bearer_auth(AGENT).header("content-type", content_type).body(body)
    };
    let malformed = t.send(raw("{\"goal\": ", "application/json")).await;
    assert_eq!((malformed.status, malformed.body["code"].as_str()), (400, Some("MALFORMED_JSON")));
    assert!(malformed.body["message"].as_str().unwrap().contains("line 1"));
    let not_object = t.send(raw("[1, 2]", "application/json")).await;
    assert_eq!((not_object.status, not_object.body["code"].as_str()), (400, Some("BODY_NOT_OBJECT")));
    let wrong_type = t.send(raw("goal=x", "application/x-www-form-urlencoded")).await;
    assert_eq!((wrong_type.status, wrong_type.body["code"].as_str()), (415, Some("UNSUPPORTED_MEDIA_TYPE")));
    let no_type = t.send(t.http.post(&url).bearer_auth(AGENT).body("{}")).await;
    assert_eq!(no_type.status, 415);
    let huge = format!("{{\"goal\": \"{}\"}}", "x".repeat(mandate::server::MAX_BODY_BYTES + 10));
    let too_large =
        t.send(t.http.post(&url).bearer_auth(AGENT).header("content-type", "application/json").body(huge)).await;
    assert_eq!((too_large.status, too_large.body["code"].as_str()), (413, Some("BODY_TOO_LARGE")));
    let invalid_utf8 = t
        .send(
            t.http
                .post(&url)
                .bearer_auth(AGENT)
                .header("content-type", "application/json")
                .body(vec![b'"', 0xff, b'"']),
        )
        .await;
    assert_eq!(invalid_utf8.status, 400);
    let unknown_route = t.get(ADMIN, "/api/v1/nope").await;
    assert_eq!((unknown_route.status, unknown_route.body["code"].as_str()), (404, Some("ROUTE_NOT_FOUND")));
    let wrong_method = t.send(t.http.delete(t.url("/api/v1/runs")).bearer_auth(ADMIN)).await;
    assert_eq!((wrong_method.status, wrong_method.body["code"].as_str()), (405, Some("METHOD_NOT_ALLOWED")));
    t.stop().await;
}

/// LIVE → COMPLETED once, with a final status; 404 and 409 otherwise.
async fn runs_complete_once(db: Db) {
    let t = start(db).await;
    let run = t.post(AGENT, "/api/v1/runs", &run_body()).await;
    let id = run.body["run_id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/runs/{id}/complete");
    let running = t.post(AGENT, &path, &json!({"status": "running"})).await;
    assert_eq!((running.status, running.body["code"].as_str()), (400, Some("FIELD_INVALID_VALUE")));
    assert!(running.body["message"].as_str().unwrap().contains("succeeded, failed, cancelled"));
    let done = t.post(AGENT, &path, &json!({"status": "failed"})).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!((done.body["state"].as_str(), done.body["status"].as_str()), (Some("COMPLETED"), Some("failed")));
    assert!(done.body["completed_at"].is_string());
    let again = t.post(AGENT, &path, &json!({"status": "succeeded"})).await;
    assert_eq!((again.status, again.body["code"].as_str()), (409, Some("RUN_ALREADY_COMPLETED")));
    let missing = t.post(AGENT, "/api/v1/runs/no-such-run/complete", &json!({"status": "failed"})).await;
    assert_eq!((missing.status, missing.body["code"].as_str()), (404, Some("RUN_NOT_FOUND")));
    let fetched = t.get(VIEWER, &format!("/api/v1/runs/{id}")).await;
    assert_eq!(fetched.body["status"], "failed");
    assert_eq!(t.get(VIEWER, "/api/v1/runs/no-such-run").await.status, 404);
    t.stop().await;
}

/// Paging walks every run exactly once, newest first, and filters hold.
async fn runs_are_paged(db: Db) {
    let t = start(db).await;
    let mut created = Vec::new();
    for i in 0..7 {
        let agent = if i % 2 == 0 { "agent-even" } else { "agent-odd" };
        let r = t.post(AGENT, "/api/v1/runs", &with(run_body(), json!({"agent_id": agent}))).await;
        created.push(r.body["run_id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => "/api/v1/runs?limit=3".to_owned(),
            Some(c) => format!("/api/v1/runs?limit=3&cursor={c}"),
        };
        let page = t.get(VIEWER, &path).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        seen.extend(page.body["runs"].as_array().unwrap().iter().map(|r| r["run_id"].as_str().unwrap().to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    created.reverse();
    assert_eq!(seen, created, "every run once, newest first");
    let odd = t.get(VIEWER, "/api/v1/runs?agent_id=agent-odd&state=LIVE").await;
    assert_eq!(odd.body["runs"].as_array().unwrap().len(), 3);
    for (query, code) in [
        ("limit=0", "INVALID_PARAMETER"),
        ("limit=501", "INVALID_PARAMETER"),
        ("cursor=garbage", "INVALID_CURSOR"),
        ("state=DONE", "INVALID_PARAMETER"),
        ("sort=asc", "UNKNOWN_PARAMETER"),
        ("limit=1&limit=2", "DUPLICATE_PARAMETER"),
    ] {
        let a = t.get(VIEWER, &format!("/api/v1/runs?{query}")).await;
        assert_eq!((a.status, a.body["code"].as_str()), (400, Some(code)), "{query}");
    }
    t.stop().await;
}

on_both_databases!(
    every_attribution_code_is_rejected_with_the_contract_json,
    all_violations_are_listed,
    valid_runs_are_created_and_normalised,
    schema_violations_name_the_field,
    unusable_bodies_are_4xx,
    runs_complete_once,
    runs_are_paged,
);
