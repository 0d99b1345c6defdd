//! Bearer tokens and roles: 401 without a valid token, 403 for a role that
//! may not, /healthz open, whoami.

use crate::common::{
    ADMIN, AGENT, Db, MONITOR, RESPONDER, VIEWER, as_alice, event_body, run_body, start_unthrottled as start,
};
use serde_json::{Value, json};

async fn tokens_are_required(db: Db) {
    let t = start(db).await;
    let routes = [
        ("GET", "/api/v1/runs"),
        ("POST", "/api/v1/runs"),
        ("GET", "/api/v1/runs/x"),
        ("POST", "/api/v1/runs/x/complete"),
        ("GET", "/api/v1/whoami"),
        ("GET", "/api/v1/activity/runs/live/by-dimension?dim=source"),
        ("GET", "/api/v1/activity/runs/completed/by-dimension?dim=source"),
    ];
    for (method, path) in routes {
        let request = |auth: Option<&str>| {
            let mut r = t.http.request(method.parse().unwrap(), t.url(path)).json(&run_body());
            if let Some(value) = auth {
                r = r.header("authorization", value);
            }
            r
        };
        for auth in [
            None,
            Some("Bearer mdt_wrong"),
            Some("Basic dXNlcjpwdw=="),
            Some("Bearer "),
            Some(ADMIN), /* no scheme */
        ] {
            let a = t.send(request(auth)).await;
            assert_eq!(a.status, 401, "{method} {path} with {auth:?}");
            assert_eq!(a.body["error_type"], "authentication");
            assert_eq!(a.headers["www-authenticate"], "Bearer");
        }
    }
    let health = t.send(t.http.get(t.url("/healthz"))).await;
    assert_eq!((health.status, health.body["status"].as_str()), (200, Some("ok")));
    let spec = t.send(t.http.get(t.url("/api/v1/openapi.json"))).await;
    assert_eq!(spec.status, 200);
    t.stop().await;
}

/// Each role gets exactly what the grant table says.
async fn roles_are_enforced(db: Db) {
    let t = start(db).await;
    let run = t.post(AGENT, "/api/v1/runs", &run_body()).await;
    let run_id = run.body["run_id"].as_str().unwrap().to_owned();
    let expect = |token: &str| match token {
        VIEWER => ("read", false),
        RESPONDER => ("read", false),
        ADMIN => ("read", true),
        _ => ("runs-only", true),
    };
    for token in [VIEWER, RESPONDER, ADMIN, AGENT] {
        let (reads, writes) = expect(token);
        let create = t.post(token, "/api/v1/runs", &run_body()).await;
        assert_eq!(create.status, if writes { 201 } else { 403 }, "{token} create");
        if !writes {
            assert_eq!(create.body["error_type"], "authorization");
            assert_eq!(create.body["code"], "FORBIDDEN");
        }
        let activity = t.get(token, "/api/v1/activity/runs/live/by-dimension?dim=source").await;
        assert_eq!(activity.status, if reads == "read" { 200 } else { 403 }, "{token} activity");
        assert_eq!(t.get(token, &format!("/api/v1/runs/{run_id}")).await.status, 200, "{token} reads runs");
        assert_eq!(t.get(token, "/api/v1/runs").await.status, 200, "{token} lists runs");
    }
    // A monitor's token posts alerts and reads nothing, not even runs.
    assert_eq!(t.post(MONITOR, "/api/v1/runs", &run_body()).await.status, 403);
    assert_eq!(t.get(MONITOR, &format!("/api/v1/runs/{run_id}")).await.status, 403);
    assert_eq!(t.get(MONITOR, "/api/v1/activity/runs/live/by-dimension?dim=source").await.status, 403);
    let complete = t.post(VIEWER, &format!("/api/v1/runs/{run_id}/complete"), &json!({"status": "failed"})).await;
    assert_eq!(complete.status, 403);
    assert!(complete.body["message"].as_str().unwrap().contains("viewer"), "{:?}", complete.body);
    t.stop().await;
}

async fn whoami_names_the_principal(db: Db) {
    let t = start(db).await;
    for (token, name, role) in [
        (ADMIN, "root-admin", "admin"),
        (RESPONDER, "alice", "responder"),
        (VIEWER, "victor", "viewer"),
        (AGENT, "fleet", "agent"),
    ] {
        let a = t.get(token, "/api/v1/whoami").await;
        assert_eq!(a.body, json!({"name": name, "role": role}));
    }
    t.stop().await;
}

/// Every mutating route in the OpenAPI document: no token 401, a viewer
/// 403, and where the body carries attribution, a person claiming someone
/// else's actor_id 403 (ACTOR_MISMATCH) while their own is accepted.
async fn every_mutating_route_refuses_the_wrong_caller(db: Db) {
    let t = start(db).await;
    let run = t.post(AGENT, "/api/v1/runs", &run_body()).await;
    let run_id = run.body["run_id"].as_str().unwrap().to_owned();
    let mut failing = event_body("boom", -1.0, "agent-deployer", "deploy", "payments-service", "error");
    failing["error_code"] = "E".into();
    t.post(AGENT, "/api/v1/events", &failing).await.succeeded();
    let incident = t.get(VIEWER, "/api/v1/incidents").await.body["incidents"][0]["id"].as_i64().unwrap();
    // The built-in routing names channels no receiver is configured for:
    // those notifications die at once, and a dead one can be retried.
    let dead = loop {
        let list = t.get(VIEWER, "/api/v1/notifications?state=dead").await.body;
        if let Some(id) = list["notifications"][0]["id"].as_str() {
            break id.to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };

    // A service whose runs are refused for their attribution: outreach to it.
    let mut unattributed = run_body();
    unattributed["origin_system_id"] = "svc-unattributed".into();
    unattributed.as_object_mut().unwrap().remove("actor_type");
    assert_eq!(t.post(AGENT, "/api/v1/runs", &unattributed).await.status, 400);

    // Who may do each route, and a body carrying a person's attribution
    // (None: the body names no actor). A route missing here fails the test.
    let human = |mut body: Value, as_who: &str| {
        body["actor_type"] = "HUMAN".into();
        body["actor_id"] = as_who.into();
        body
    };
    let table = |as_who: &str| -> Vec<(&'static str, &'static str, &'static str, Option<Value>)> {
        let mut event = event_body(&format!("human-{as_who}"), 0.0, "agent-deployer", "tool_call", "svc", "ok");
        event = human(event, as_who);
        vec![
            ("POST", "/api/v1/runs", ADMIN, Some(human(run_body(), as_who))),
            ("POST", "/api/v1/runs/{run_id}/complete", ADMIN, None),
            ("POST", "/api/v1/events", ADMIN, Some(event)),
            // Monitors post alerts with tokens of their own.
            ("POST", "/api/v1/alerts", MONITOR, None),
            ("POST", "/api/v1/alerts/alertmanager", MONITOR, None),
            (
                "POST",
                "/api/v1/incidents/{id}/interventions",
                RESPONDER,
                Some(human(as_alice(json!({"kind": "escalate", "reason": "r"})), as_who)),
            ),
            (
                "POST",
                "/api/v1/agents/{agent_id}/interventions",
                RESPONDER,
                Some(human(as_alice(json!({"kind": "pause_agent", "reason": "r"})), as_who)),
            ),
            (
                "POST",
                "/api/v1/incidents/{id}/verdicts",
                RESPONDER,
                Some(human(as_alice(json!({"event_id": "boom", "verdict": "investigate"})), as_who)),
            ),
            ("PUT", "/api/v1/catalog", ADMIN, None),
            ("PUT", "/api/v1/routing", ADMIN, None),
            (
                "POST",
                "/api/v1/stops",
                RESPONDER,
                Some(human(as_alice(json!({"scope": "agents", "target": "deployer-*", "reason": "r"})), as_who)),
            ),
            (
                "POST",
                "/api/v1/stops/lift",
                RESPONDER,
                Some(human(as_alice(json!({"scope": "agents", "target": "deployer-*"})), as_who)),
            ),
            (
                "POST",
                "/api/v1/silences",
                RESPONDER,
                Some(human(
                    as_alice(json!({"match": {"resource": "svc"}, "reason": "r", "confirm": true,
                        "ends_at": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339()})),
                    as_who,
                )),
            ),
            ("POST", "/api/v1/silences/{id}/lift", RESPONDER, None),
            // An agent's SDK reports its refused attempts; people do not.
            ("POST", "/api/v1/agents/{agent_id}/refusals", ADMIN, None),
            // An agent asks about its next action; a person decides.
            ("POST", "/api/v1/approvals", AGENT, None),
            ("POST", "/api/v1/approvals/{id}/decision", RESPONDER, None),
            // A dispute is a person's word: viewers may, agents may not.
            ("POST", "/api/v1/disputes", VIEWER, None),
            ("POST", "/api/v1/disputes/{id}/resolution", ADMIN, None),
            // Responders propose rules; admins approve, activate and retire them.
            ("POST", "/api/v1/rules", RESPONDER, None),
            ("POST", "/api/v1/rules/{id}/transition", ADMIN, None),
            (
                "POST",
                "/api/v1/attribution/services/{service}/outreach",
                RESPONDER,
                Some(human(as_alice(json!({"reason": "still violating"})), as_who)),
            ),
            (
                "POST",
                "/api/v1/notifications/{notification_id}/retry",
                RESPONDER,
                Some(human(as_alice(json!({"reason": "receiver fixed"})), as_who)),
            ),
        ]
    };
    let spec = t.send(t.http.get(t.url("/api/v1/openapi.json"))).await.body;
    let mut mutating: Vec<String> = vec![];
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in ["post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                mutating.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    // Slack signs its interactions instead of sending a token: the signature
    // is what is refused (tests/suite/slack.rs).
    mutating.retain(|r| r != "POST /api/v1/slack/interactions");
    let mut listed: Vec<String> = table("x").iter().map(|(m, p, _, _)| format!("{m} {p}")).collect();
    mutating.sort();
    listed.sort();
    assert_eq!(mutating, listed, "every mutating route of the document is in this matrix");

    let names = [(ADMIN, "root-admin"), (RESPONDER, "alice")];
    let name_of = |token: &str| names.iter().find(|(t, _)| *t == token).unwrap().1;
    let concrete = |path: &str| {
        path.replace("{run_id}", &run_id)
            .replace("{id}", &incident.to_string())
            .replace("{agent_id}", "agent-deployer")
            .replace("{notification_id}", &dead)
            .replace("{service}", "svc-unattributed")
    };
    // One Idempotency-Key per request: the server remembers refusals too.
    let send = |method: &str, path: &str, token: Option<&str>, body: &Value, key: &str| {
        let key = format!("{key} {path}");
        let mut r =
            t.http.request(method.parse().unwrap(), t.url(&concrete(path))).header("idempotency-key", &key).json(body);
        if let Some(token) = token {
            r = r.bearer_auth(token);
        }
        r
    };
    for (method, path, allowed, body) in table("mallory") {
        let body = body.unwrap_or_else(|| json!({"status": "failed", "service": []}));
        let none = t.send(send(method, path, None, &body, "k-none")).await;
        assert_eq!(none.status, 401, "{method} {path} without a token: {:?}", none.body);
        let lowest = if allowed == VIEWER { AGENT } else { VIEWER };
        let refused = t.send(send(method, path, Some(lowest), &body, "k-lowest")).await;
        assert_eq!(refused.status, 403, "{method} {path} as {lowest}: {:?}", refused.body);
        assert_eq!(refused.body["error_type"], "authorization");
        if body.get("actor_id").is_some() {
            let spoof = t.send(send(method, path, Some(allowed), &body, "k-spoof")).await;
            assert_eq!(
                (spoof.status, spoof.body["code"].as_str()),
                (403, Some("ACTOR_MISMATCH")),
                "{method} {path} claiming mallory: {:?}",
                spoof.body
            );
        }
    }
    // Agents are integrations acting for the people they name.
    let for_a_person = human(run_body(), "mallory");
    assert_eq!(t.post(AGENT, "/api/v1/runs", &for_a_person).await.status, 201);
    // Positive control: the same bodies in the caller's own name are accepted.
    for (method, path, allowed, body) in table("self") {
        let Some(body) = body else { continue };
        let own = human(body, name_of(allowed));
        let answer = t.send(send(method, path, Some(allowed), &own, "k-own")).await;
        assert!((200..300).contains(&answer.status), "{method} {path} in one's own name: {:?}", answer.body);
    }
    t.stop().await;
}

on_both_databases!(
    tokens_are_required,
    roles_are_enforced,
    whoami_names_the_principal,
    every_mutating_route_refuses_the_wrong_caller
);
