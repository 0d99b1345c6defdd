//! Bearer tokens and roles: 401 without a valid token, 403 for a role that
//! may not, /healthz open, whoami.

mod common;

use common::{ADMIN, AGENT, Db, RESPONDER, VIEWER, run_body, start};
use serde_json::json;

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

on_both_databases!(tokens_are_required, roles_are_enforced, whoami_names_the_principal);
