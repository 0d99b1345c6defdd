//! Gated actions against a real server, on both databases: an agent asks,
//! a gated action waits as an approval request, paged through routing;
//! people approve or deny it with the digest of what they read (four eyes,
//! two approvers), or nobody does and it times out; what went wrong is
//! refused with what was wrong, and nothing is recorded.

use crate::common::{self, ADMIN, AGENT, Db, RESPONDER, VIEWER, as_alice};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The seed catalog and a routing file with critical points.
async fn gated_server(db: Db) -> common::TestServer {
    let t = common::start(db).await;
    t.send(t.http.put(t.url("/api/v1/catalog")).bearer_auth(ADMIN).json(&common::seed_catalog())).await.succeeded();
    let mut routing: Value = t.get(VIEWER, "/api/v1/routing").await.succeeded();
    routing["critical_point"] = json!([
        {"name": "production data deletion", "reason": "Irreversible production data operation",
         "match": {"action_type": ["drop_table", "truncate"], "sensitivity": "critical"}, "timeout": "2m",
         "four_eyes": true, "approvers": ["@dba-lead"]},
        {"name": "two keys for payments config", "reason": "payments configuration needs two people",
         "match": {"action_type": "rotate_keys", "resource": "payments-*"}, "approvals": 2},
        {"name": "quick", "reason": "a short wait", "agent": ["hasty-*"], "match": {"action_type": "purge"},
         "timeout": "10s"},
        {"name": "quick yes", "reason": "approved if nobody objects", "agent": ["hasty-*"],
         "match": {"action_type": "reindex"}, "timeout": "10s", "on_timeout": "approve"},
        {"name": "config on payments", "reason": "payments configuration is watched",
         "match": {"action_type": "config_change", "resource": "payments-*"}, "decision": "flagged"},
    ]);
    t.send(t.http.put(t.url("/api/v1/routing")).bearer_auth(ADMIN).json(&routing)).await.succeeded();
    t
}

fn ask_body(agent: &str, action: &str, resource: &str, key: &str) -> Value {
    json!({"agent_id": agent, "action_type": action, "resource": resource, "summary": format!("{action} {resource}"),
           "actor_type": "SYSTEM", "request_key": key})
}

async fn ask(t: &common::TestServer, body: &Value) -> Value {
    t.post(AGENT, "/api/v1/approvals", body).await.succeeded()
}

fn decision(verdict: &str, reason: &str, digest: &Value) -> Value {
    json!({"decision": verdict, "reason": reason, "digest": digest, "confirm": true})
}

async fn decide(t: &common::TestServer, token: &str, id: &Value, body: Value, key: Option<&str>) -> common::Answer {
    let mut request = t.http.post(t.url(&format!("/api/v1/approvals/{id}/decision"))).bearer_auth(token);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    t.send(request.json(&body)).await
}

fn as_root(mut body: Value) -> Value {
    for (k, v) in
        [("actor_type", "HUMAN"), ("actor_id", "root-admin"), ("agent_id", "console"), ("origin_system_id", "t")]
    {
        body[k] = v.into();
    }
    body
}

async fn an_approved_action_proceeds_and_the_waiting_agent_hears_at_once(db: Db) {
    let t = gated_server(db).await;
    // Monitored: nothing waits, nothing is recorded.
    let plain = ask(&t, &ask_body("db-migrator", "select", "payments-db", "k0")).await;
    assert_eq!((plain["decision"]["decision"].as_str(), plain.get("approval")), (Some("monitored"), None), "{plain}");
    let control = t.get(AGENT, "/api/v1/agents/db-migrator/control").await.succeeded();
    assert_eq!(control["gates"], json!(["config_change", "drop_table", "rotate_keys", "truncate"]), "{control}");

    // A past incident involving the same kind of action, shown to the approver.
    let mut past = common::event_body("past-drop", -30.0, "old-migrator", "drop_table", "user-db", "error");
    past["error_code"] = "TABLE_MISSING".into();
    let past = t.post(AGENT, "/api/v1/events", &past).await.succeeded()["incidents"][0].clone();

    let asked = ask(&t, &ask_body("db-migrator", "drop_table", "payments-db", "k1")).await;
    let approval = &asked["approval"];
    assert_eq!(approval["past_incidents"][0]["id"], past, "{approval}");
    assert_eq!((asked["decision"]["decision"].as_str(), approval["status"].as_str()), (Some("gated"), Some("waiting")));
    assert_eq!(approval["critical_point"], "production data deletion");
    assert_eq!(approval["blast_preview"], json!(["billing-service", "payments-service"]), "{approval}");
    let id = approval["id"].clone();
    // Asking again with the same key finds the same request.
    let again = ask(&t, &ask_body("db-migrator", "drop_table", "payments-db", "k1")).await;
    assert_eq!(again["approval"]["id"], id);
    // Its incident pages the critical point's approvers at once.
    let incident = approval["incident_id"].as_i64().unwrap();
    let detail = t.get(VIEWER, &format!("/api/v1/incidents/{incident}")).await.succeeded();
    assert!(detail["title"].as_str().unwrap().starts_with("APPROVAL NEEDED: db-migrator wants to drop_table"));
    let pages = t.get(VIEWER, "/api/v1/notifications").await.succeeded();
    let paged: Vec<&Value> =
        pages["notifications"].as_array().unwrap().iter().filter(|p| p["incident_id"] == incident).collect();
    assert!(paged.iter().any(|p| p["target"] == "@dba-lead"), "the approvers are paged: {pages}");
    // Nobody answering, routing's escalation for the resource follows.
    let routed = t.get(VIEWER, &format!("/api/v1/incidents/{incident}/routing")).await.succeeded();
    let path = routed.to_string();
    assert!(path.contains("@dba-lead") && path.contains("@dana"), "approvers first, then the owners: {path}");

    // The agent waits; a person approves; the wait answers at once.
    let waiter = {
        let (http, url) = (t.http.clone(), t.url(&format!("/api/v1/approvals/{id}?wait=30")));
        tokio::spawn(async move {
            let started = Instant::now();
            let answer: Value = http.get(url).bearer_auth(AGENT).send().await.unwrap().json().await.unwrap();
            (answer, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let body = as_alice(decision("approve", "planned migration, backup taken", &approval["digest"]));
    let approved = decide(&t, RESPONDER, &id, body.clone(), Some("decide-1")).await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!((approved.body["status"].as_str(), approved.body["proceed"].as_bool()), (Some("approved"), Some(true)));
    let (heard, waited) = waiter.await.unwrap();
    assert_eq!((heard["status"].as_str(), heard["decided_by"].as_str()), (Some("approved"), Some("alice")), "{heard}");
    assert!(waited < Duration::from_secs(5), "answered when decided, not when the wait ran out: {waited:?}");

    // The same decision with the same key: the first answer; another: refused.
    let replay = decide(&t, RESPONDER, &id, body.clone(), Some("decide-1")).await;
    assert_eq!((replay.status, &replay.body["status"]), (200, &json!("approved")));
    assert_eq!(replay.headers.get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
    let twice =
        decide(&t, RESPONDER, &id, as_alice(decision("deny", "changed my mind", &approval["digest"])), None).await;
    assert_eq!((twice.status, twice.body["code"].as_str()), (409, Some("APPROVAL_DECIDED")), "{}", twice.body);
    assert!(twice.body["message"].as_str().unwrap().contains("already approved (by alice"), "{}", twice.body);

    // The incident is closed and its paging stopped; the audit log has the
    // decision with the digest of what alice read.
    let detail = t.get(VIEWER, &format!("/api/v1/incidents/{incident}")).await.succeeded();
    assert_eq!(detail["status"], "resolved", "{detail}");
    let audit = t.get(ADMIN, "/api/v1/audit?limit=50").await.succeeded();
    let entry = audit["entries"].as_array().unwrap().iter().find(|e| e["action"] == "approval_approved").cloned();
    let entry = entry.unwrap_or_else(|| panic!("no approval_approved entry: {audit}"));
    assert_eq!((entry["actor"].as_str(), &entry["details"]["digest"]), (Some("alice"), &approval["digest"]));
    assert_eq!(entry["details"]["attribution"]["actor_type"], "HUMAN");
    t.stop().await;
}

on_both_databases!(an_approved_action_proceeds_and_the_waiting_agent_hears_at_once);

async fn four_eyes_and_two_approvers_hold(db: Db) {
    let t = gated_server(db).await;
    // alice asked for it (the agent acts for her): she may deny, not approve.
    let mut body = ask_body("db-migrator", "truncate", "payments-db", "fe-1");
    body["on_behalf_of"] = "@alice".into();
    let approval = ask(&t, &body).await["approval"].clone();
    let mine =
        decide(&t, RESPONDER, &approval["id"], as_alice(decision("approve", "mine", &approval["digest"])), None).await;
    assert_eq!((mine.status, mine.body["code"].as_str()), (409, Some("FOUR_EYES")), "{}", mine.body);
    let theirs =
        decide(&t, ADMIN, &approval["id"], as_root(decision("approve", "reviewed", &approval["digest"])), None).await;
    assert_eq!(theirs.body["status"], "approved", "{}", theirs.body);

    // Two different people must approve.
    let approval =
        ask(&t, &ask_body("key-rotator", "rotate_keys", "payments-service", "two-1")).await["approval"].clone();
    assert_eq!(approval["approvals_needed"], 2);
    let first = decide(&t, ADMIN, &approval["id"], as_root(decision("approve", "ok", &approval["digest"])), None).await;
    assert_eq!(
        (first.body["status"].as_str(), first.body["approvals"].as_array().map(Vec::len)),
        (Some("waiting"), Some(1))
    );
    let again = decide(&t, ADMIN, &approval["id"], as_root(decision("approve", "ok", &approval["digest"])), None).await;
    assert_eq!((again.status, again.body["code"].as_str()), (409, Some("ALREADY_APPROVED")), "{}", again.body);
    let second =
        decide(&t, RESPONDER, &approval["id"], as_alice(decision("approve", "ok", &approval["digest"])), None).await;
    assert_eq!((second.body["status"].as_str(), second.body["proceed"].as_bool()), (Some("approved"), Some(true)));

    // A denial by anyone ends it.
    let approval =
        ask(&t, &ask_body("key-rotator", "rotate_keys", "payments-service", "two-2")).await["approval"].clone();
    let denied =
        decide(&t, RESPONDER, &approval["id"], as_alice(decision("deny", "not today", &approval["digest"])), None)
            .await;
    assert_eq!((denied.body["status"].as_str(), denied.body["proceed"].as_bool()), (Some("denied"), Some(false)));
    let waited = t.get(AGENT, &format!("/api/v1/approvals/{}?wait=5", approval["id"])).await.succeeded();
    assert_eq!((waited["decision_reason"].as_str(), waited["decided_by"].as_str()), (Some("not today"), Some("alice")));
    t.stop().await;
}

on_both_databases!(four_eyes_and_two_approvers_hold);

async fn bad_decisions_are_refused_naming_why_and_record_nothing(db: Db) {
    let t = gated_server(db).await;
    let approval = ask(&t, &ask_body("db-migrator", "drop_table", "payments-db", "bad-1")).await["approval"].clone();
    let id = &approval["id"];
    let audit_before = t.get(ADMIN, "/api/v1/audit?limit=500").await.succeeded()["entries"].as_array().unwrap().len();
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            RESPONDER,
            as_alice(json!({"decision": "approve", "reason": "x", "digest": approval["digest"]})),
            422,
            "CONFIRMATION_REQUIRED",
        ),
        (RESPONDER, as_alice(decision("approve", "x", &json!("0000"))), 409, "APPROVAL_DIGEST_MISMATCH"),
        (RESPONDER, as_alice(decision("maybe", "x", &approval["digest"])), 400, "decision"),
        (RESPONDER, as_alice(decision("approve", "   ", &approval["digest"])), 400, "reason"),
        (RESPONDER, decision("approve", "x", &approval["digest"]), 400, "actor_type"),
        (VIEWER, as_alice(decision("approve", "x", &approval["digest"])), 403, "FORBIDDEN"),
        (AGENT, as_alice(decision("approve", "x", &approval["digest"])), 403, "FORBIDDEN"),
        (RESPONDER, as_root(decision("approve", "x", &approval["digest"])), 403, "ACTOR_MISMATCH"),
    ];
    for (token, body, status, names) in cases {
        let answer = decide(&t, token, id, body.clone(), None).await;
        assert_eq!(answer.status, status, "{body}: {}", answer.body);
        assert!(answer.body.to_string().contains(names), "{body}: {}", answer.body);
    }
    let unknown =
        decide(&t, RESPONDER, &json!(99999), as_alice(decision("approve", "x", &approval["digest"])), None).await;
    assert_eq!((unknown.status, unknown.body["code"].as_str()), (404, Some("APPROVAL_NOT_FOUND")));
    assert_eq!(t.get(AGENT, "/api/v1/approvals/99999").await.status, 404);
    assert_eq!(t.get(AGENT, "/api/v1/approvals/1e3").await.status, 400);
    let audit_after = t.get(ADMIN, "/api/v1/audit?limit=500").await.succeeded()["entries"].as_array().unwrap().len();
    assert_eq!(audit_before, audit_after, "nothing recorded");
    let still = t.get(AGENT, &format!("/api/v1/approvals/{id}")).await.succeeded();
    assert_eq!(still["status"], "waiting");

    // An agent asks badly.
    for (body, field) in [
        (json!({"agent_id": "a", "action_type": "drop_table", "request_key": "k"}), "summary"),
        (json!({"agent_id": "a", "action_type": "drop_table", "summary": "s"}), "request_key"),
        (
            json!({"agent_id": "a", "action_type": "drop_table", "summary": "s", "request_key": "k", "actor_type": "ROBOT"}),
            "actor_type",
        ),
        (
            json!({"agent_id": "a\u{1b}[31m", "action_type": "drop_table", "summary": "s", "request_key": "k"}),
            "agent_id",
        ),
        (
            json!({"agent_id": "a", "action_type": "drop_table", "summary": "s", "request_key": "k", "colour": 1}),
            "colour",
        ),
    ] {
        let answer = t.post(AGENT, "/api/v1/approvals", &body).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.body);
        assert!(answer.body.to_string().contains(field), "{body}: {}", answer.body);
    }
    assert_eq!(t.post(VIEWER, "/api/v1/approvals", &ask_body("a", "drop_table", "x", "v")).await.status, 403);
    t.stop().await;
}

on_both_databases!(bad_decisions_are_refused_naming_why_and_record_nothing);

async fn nobody_deciding_ends_a_request_as_its_critical_point_says(db: Db) {
    let t = gated_server(db).await;
    let denied = ask(&t, &ask_body("hasty-bot", "purge", "search", "t-1")).await["approval"].clone();
    let approved = ask(&t, &ask_body("hasty-bot", "reindex", "search", "t-2")).await["approval"].clone();
    // The agent disconnects while it waits: the request is abandoned at its end.
    let gone = ask(&t, &ask_body("hasty-bot", "purge", "search-2", "t-3")).await["approval"].clone();
    // (SDKs wait in polls of a few seconds; this one waits 2 s, then is gone.)
    let left = t.get(AGENT, &format!("/api/v1/approvals/{}?wait=2", gone["id"])).await.succeeded();
    assert_eq!(left["status"], "waiting");
    // Both others are waited on until they end.
    let wait = |id: Value| {
        let (http, url) = (t.http.clone(), t.url(&format!("/api/v1/approvals/{id}?wait=30")));
        tokio::spawn(
            async move { http.get(url).bearer_auth(AGENT).send().await.unwrap().json::<Value>().await.unwrap() },
        )
    };
    let (denied, approved) = (wait(denied["id"].clone()), wait(approved["id"].clone()));
    let denied = denied.await.unwrap();
    assert_eq!((denied["status"].as_str(), denied["proceed"].as_bool()), (Some("timed_out"), Some(false)), "{denied}");
    let approved = approved.await.unwrap();
    assert_eq!((approved["status"].as_str(), approved["proceed"].as_bool()), (Some("timed_out"), Some(true)));
    // Read by a person, not its agent: an agent reading it would be waiting again.
    let gone = t.get(VIEWER, &format!("/api/v1/approvals/{}?wait=5", gone["id"])).await.succeeded();
    assert_eq!((gone["status"].as_str(), gone["proceed"].as_bool()), (Some("abandoned"), Some(false)), "{gone}");
    // Deciding one that ended: refused, naming why.
    let late =
        decide(&t, RESPONDER, &denied["id"], as_alice(decision("approve", "late", &denied["digest"])), None).await;
    assert_eq!((late.status, late.body["code"].as_str()), (409, Some("APPROVAL_DECIDED")), "{}", late.body);

    // The friction report counts them against the budget.
    let list = t.get(VIEWER, "/api/v1/approvals").await.succeeded();
    let friction = &list["friction"];
    assert_eq!(
        (friction["gated"].as_i64(), friction["timed_out"].as_i64(), friction["abandoned"].as_i64()),
        (Some(3), Some(2), Some(1))
    );
    assert_eq!(
        (friction["budget"].as_f64(), friction["over_budget"].as_bool()),
        (Some(0.05), Some(true)),
        "{friction}"
    );
    assert_eq!(friction["gates"][0]["gate"], "critical point quick", "{friction}");
    assert_eq!(list["waiting"], 0);
    t.stop().await;
}

on_both_databases!(nobody_deciding_ends_a_request_as_its_critical_point_says);

async fn a_flagged_action_proceeds_and_people_are_told_once(db: Db) {
    let t = gated_server(db).await;
    for key in ["f-1", "f-2"] {
        let answer = ask(&t, &ask_body("config-gen", "config_change", "payments-service", key)).await;
        assert_eq!((answer["decision"]["decision"].as_str(), answer.get("approval")), (Some("flagged"), None));
    }
    let incidents = t.get(VIEWER, "/api/v1/incidents?limit=50").await.succeeded();
    let flagged: Vec<&Value> = incidents["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["title"] == "FLAGGED: config on payments")
        .collect();
    assert_eq!(flagged.len(), 1, "one incident collects them: {incidents}");
    assert_eq!(flagged[0]["event_count"], 2);
    t.stop().await;
}

on_both_databases!(a_flagged_action_proceeds_and_people_are_told_once);

/// A request waits across a restart of its server: the SDK waiting on it
/// (the Rust SDK, as agents wait) keeps asking while the server is down,
/// and, once it is back, gets the decision made meanwhile.
async fn a_request_outlives_a_restart_of_its_server(db: Db) {
    use mandate::sdk::{Action, Agent, Clearance, Client, OutOfContact};
    let dir = tempfile::tempdir().unwrap();
    let guard = match db {
        Db::Postgres => Some(common::postgres_store().await),
        Db::Sqlite => None,
    };
    let url = match &guard {
        Some(g) => {
            g.store.close().await;
            g.url.clone()
        }
        None => format!("sqlite://{}?mode=rwc", dir.path().join("mandate.db").display()),
    };
    let tokens = dir.path().join("tokens.toml").display().to_string();
    let agent_token = common::create_token(&tokens, "fleet", "agent");
    let responder = common::create_token(&tokens, "alice", "responder");
    let admin = common::create_token(&tokens, "root", "admin");
    let http = mandate::sdk::http_client_builder().build().unwrap();
    // One port for both lives of the server: the SDK knows one address.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let served = common::serve_binary(&url, &tokens, &listen);
    let base = format!("http://{listen}");
    let routing = json!({"level": [{"name": "only", "targets": ["@ops"]}], "critical_point": [
        {"name": "drops", "reason": "irreversible", "match": {"action_type": "drop_table"}}]});
    let put = http.put(format!("{base}/api/v1/routing")).bearer_auth(&admin).json(&routing).send().await.unwrap();
    assert!(put.status().is_success(), "{}", put.text().await.unwrap());
    let client = Client::new(&base, &agent_token).unwrap();
    let attribution = mandate::attribution::AttributionContext::system("db-migrator", "ci");
    let agent = std::sync::Arc::new(Agent::start(&client, attribution, OutOfContact::KeepActing).unwrap());
    while !agent.control().may_gate("drop_table") {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let waiting = {
        let agent = agent.clone();
        tokio::spawn(async move { agent.clear(&Action::tool_call("psql", "orders-db").of_type("drop_table")).await })
    };
    let approval = loop {
        let list: Value = http
            .get(format!("{base}/api/v1/approvals"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(a) = list["approvals"].as_array().unwrap().iter().find(|a| a["status"] == "waiting") {
            break a.clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(served.stop().success());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "the SDK waits on while its server is down");

    let served = common::serve_binary(&url, &tokens, &listen);
    let body = as_alice(decision("approve", "after the restart", &approval["digest"]));
    let decided = http
        .post(format!("{base}/api/v1/approvals/{}/decision", approval["id"]))
        .bearer_auth(&responder)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(decided.status(), 200, "{}", decided.text().await.unwrap());
    let cleared =
        tokio::time::timeout(Duration::from_secs(20), waiting).await.expect("heard after the restart").unwrap();
    match cleared {
        Ok(Clearance::Approved(a)) => assert_eq!(a.decision_reason.as_deref(), Some("after the restart")),
        other => panic!("the decision made meanwhile: {other:?}"),
    }
    drop(agent);
    assert!(served.stop().success());
    drop(guard);
}

on_both_databases!(a_request_outlives_a_restart_of_its_server);

/// A learned rule whose decision is `gated` (`:patterns`) gates the actions
/// it matches, as a critical point does; the controls tell the SDK to ask.
async fn a_gated_learned_rule_gates_the_actions_it_matches(db: Db) {
    let t = common::start(db).await;
    let rule = json!({"name": "no config changes on payments", "match": {"action_type": "config_change",
        "resource": "payments-*"}, "decision": "gated", "reason": "it broke payments twice"});
    let proposed = t.post(RESPONDER, "/api/v1/rules", &rule).await;
    assert_eq!(proposed.status, 201, "{}", proposed.body);
    let id = proposed.body["id"].as_i64().unwrap();
    for to in ["approved", "active"] {
        t.post(ADMIN, &format!("/api/v1/rules/{id}/transition"), &json!({"to": to})).await.succeeded();
    }
    let control = t.get(AGENT, "/api/v1/agents/config-gen/control").await.succeeded();
    assert_eq!(control["gates"], json!(["config_change"]), "{control}");
    let answer = ask(&t, &ask_body("config-gen", "config_change", "payments-service", "lr-1")).await;
    assert_eq!(answer["decision"]["decision"], "gated", "{answer}");
    assert_eq!(answer["approval"]["rule"], "no config changes on payments");
    let elsewhere = ask(&t, &ask_body("config-gen", "config_change", "search", "lr-2")).await;
    assert_eq!(elsewhere["decision"]["decision"], "monitored", "{elsewhere}");
    t.stop().await;
}

on_both_databases!(a_gated_learned_rule_gates_the_actions_it_matches);
