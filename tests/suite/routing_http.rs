//! Routing over the API: the built-in routing until an admin replaces it
//! (checked, versioned, audited), and every incident's detail saying who
//! would be paged, by which rule, on SQLite and PostgreSQL.

use crate::common::{self, ADMIN, AGENT, Db, VIEWER, event_body, seed_catalog, start};
use serde_json::json;

async fn the_routing_is_served_replaced_and_applied(db: Db) {
    let t = start(db).await;
    t.send(t.http.put(t.url("/api/v1/catalog")).bearer_auth(ADMIN).json(&seed_catalog())).await.succeeded();

    let builtin = t.get(VIEWER, "/api/v1/routing").await;
    assert_eq!(builtin.status, 200);
    let levels: Vec<&str> =
        builtin.body["level"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(levels, ["primary", "secondary", "management", "executive"]);

    let mut failure = event_body("f1", -1.0, "deployer", "deploy", "payments-service", "error");
    failure["error_code"] = "E".into();
    t.post(AGENT, "/api/v1/events", &failure).await.succeeded();
    let id = t.get(VIEWER, "/api/v1/incidents").await.body["incidents"][0]["id"].as_i64().unwrap();
    let detail = t.get(VIEWER, &format!("/api/v1/incidents/{id}")).await.body;
    let routing = &detail["routing"];
    assert_eq!(routing["notifications"][0]["target"], "@alice", "the owner first: {routing}");
    assert_eq!(routing["notifications"][0]["delay_seconds"], 0);
    assert!(routing["notifications"][0]["reason"].as_str().unwrap().contains("owner of payments-service"));
    assert_eq!(routing["escalation_path"][1], "@payments-oncall");

    // The background work keeps each decision as history, and counts rules.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let history = loop {
        let h = t.get(VIEWER, &format!("/api/v1/incidents/{id}/routing")).await;
        assert_eq!(h.status, 200, "{:?}", h.body);
        if !h.body.as_array().unwrap().is_empty() {
            break h.body;
        }
        assert!(std::time::Instant::now() < deadline, "no routing history within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let severity = detail["severity"].as_str().unwrap().to_owned();
    assert_eq!(history[0]["decision"]["rule_matched"], severity.as_str(), "the built-in rule of that severity");
    let usage = t.get(VIEWER, "/api/v1/routing/usage").await.body;
    assert_eq!(usage["days"], 30);
    let rules = usage["rules"].as_array().unwrap();
    let used = rules.iter().find(|r| r["rule"] == severity.as_str()).unwrap();
    assert_eq!((used["incidents"].as_i64(), used["never_matched"].as_bool()), (Some(1), Some(false)));
    let never: Vec<&str> =
        rules.iter().filter(|r| r["never_matched"] == true).map(|r| r["rule"].as_str().unwrap()).collect();
    assert_eq!(never.len(), 3, "the other built-in rules never matched: {never:?}");
    assert_eq!(t.get(VIEWER, "/api/v1/routing/usage?days=0").await.status, 400);
    assert_eq!(t.get(VIEWER, "/api/v1/incidents/999999/routing").await.status, 404);

    // Who is on call: the catalog's on-call until the routing has a schedule.
    let oncall = t.get(VIEWER, "/api/v1/oncall?team=payments").await;
    assert_eq!(
        (oncall.status, oncall.body["who"].as_str(), oncall.body["source"].as_str()),
        (200, Some("@payments-oncall"), Some("catalog"))
    );
    assert_eq!(t.get(VIEWER, "/api/v1/oncall?team=nobody").await.body["code"], "ON_CALL_UNKNOWN");
    assert_eq!(t.get(VIEWER, "/api/v1/oncall").await.status, 400);

    // A bad document: 400 naming the field, and nothing changes.
    let bad = json!({"level": [{"name": "only", "targets": ["resource.owner"]}], "rule": [{"name": "r", "start_level": "nope"}]});
    let refused = t.send(t.http.put(t.url("/api/v1/routing")).bearer_auth(ADMIN).json(&bad)).await;
    assert_eq!((refused.status, refused.body["code"].as_str()), (400, Some("ROUTING_INVALID")), "{:?}", refused.body);
    assert_eq!(refused.body["field"], "rule[0].start_level");
    assert!(refused.body["message"].as_str().unwrap().contains("no level is named \"nope\""));

    // A new routing: payments incidents go to the on-call first, on PagerDuty.
    let mine = json!({
        "level": [
            {"name": "oncall", "targets": ["resource.team.oncall"], "timeout": "2m"},
            {"name": "boss", "targets": ["@cto"]},
        ],
        "rule": [{"name": "payments", "match": {"resource": ["payments-*"]}, "channels": ["pagerduty"], "decision": "gated"}],
        "schedule": [{"team": "payments", "rotation": ["@ana", "@ben"], "start": "2020-01-06T09:00:00Z", "length": "7d",
                      "override": [{"who": "@dee", "from": "2020-01-01T00:00:00Z", "until": "2099-01-01T00:00:00Z"}]}],
    });
    let replaced = t.send(t.http.put(t.url("/api/v1/routing")).bearer_auth(ADMIN).json(&mine)).await;
    assert_eq!(replaced.status, 200, "{:?}", replaced.body);
    let audit = t.get(ADMIN, "/api/v1/audit").await.body;
    assert_eq!(audit["entries"][0]["action"], "routing_replaced");
    assert_eq!(audit["entries"][0]["details"]["rules"], 1);
    let routing = t.get(VIEWER, &format!("/api/v1/incidents/{id}")).await.body["routing"].clone();
    assert_eq!(routing["rule_matched"], "payments");
    assert_eq!(routing["decision"], "gated");
    let notifications = routing["notifications"].as_array().unwrap();
    let pages: Vec<(String, String, u64)> = notifications
        .iter()
        .filter(|n| n["level"] != "blast radius" && n["level"] != "coordination")
        .map(|n| {
            (
                n["target"].as_str().unwrap().into(),
                n["channel"].as_str().unwrap().into(),
                n["delay_seconds"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pages,
        [("@dee".into(), "pagerduty".into(), 0), ("@cto".into(), "pagerduty".into(), 120)],
        "the schedule's override"
    );
    // Payments, data, users and billing are affected: more than two teams,
    // so management is paged if nobody coordinates within 10 minutes (6.7).
    let coordination: Vec<&serde_json::Value> = notifications.iter().filter(|n| n["level"] == "coordination").collect();
    assert_eq!(coordination.len(), 1, "{notifications:?}");
    assert_eq!(
        (coordination[0]["target"].as_str(), coordination[0]["delay_seconds"].as_u64()),
        (Some("@payments-lead"), Some(600))
    );
    assert!(coordination[0]["reason"].as_str().unwrap().contains("teams affected"), "{}", coordination[0]);
    let oncall = t.get(VIEWER, "/api/v1/oncall?team=payments").await.body;
    assert_eq!((oncall["who"].as_str(), oncall["source"].as_str()), (Some("@dee"), Some("override")));
    // The owners of the services it affects are told too, by tier.
    let bea = notifications.iter().find(|n| n["target"] == "@bea").expect("billing-service's owner");
    assert!(bea["reason"].as_str().unwrap().contains("billing-service likely affected"), "{bea}");
    assert!(
        notifications.iter().any(|n| n["digest"] == true && n["channel"] == "email"),
        "possibly affected: a digest"
    );

    t.stop().await;
}

on_both_databases!(the_routing_is_served_replaced_and_applied);

/// `mandate serve --routing FILE`: the file replaces the stored routing once
/// (audited), and a server started later without it keeps using it.
async fn a_routing_file_is_stored_and_kept_across_restarts(db: Db) {
    use mandate::desk::{Desk, DeskConfig};
    use mandate::routing::Routing;
    let guard = common::store(db).await;
    let until = (chrono::Utc::now() + chrono::Duration::days(3)).format("%Y-%m-%dT%H:%M:%SZ");
    let file = Routing::from_toml(
        &format!(
            "[[level]]\nname = \"only\"\ntargets = [\"@ops\"]\n[[rule]]\nname = \"everything\"\ndecision = \"monitored\"\n\
             [[silence]]\nname = \"db-move\"\nowner = \"@dba\"\nreason = \"moving the database\"\nresource = \"db\"\n\
             until = {until}\n"
        ),
        "r.toml",
    )
    .unwrap();
    let config = DeskConfig { routing: Some(file.clone()), ..DeskConfig::default() };
    let desk = Desk::open(guard.store.clone(), None, config.clone()).await.unwrap();
    assert_eq!(desk.routing().document(), file.document());
    let silences = desk.list_silences().await.unwrap();
    assert_eq!(silences.len(), 1, "the file's silence is made when it is applied");
    assert_eq!((silences[0].routing_name.as_deref(), silences[0].owner.as_str()), (Some("db-move"), "dba"));
    drop(desk);
    guard.store.close().await;

    let store = mandate::store::Store::connect(&guard.url).await.unwrap();
    let desk = Desk::open(store.clone(), None, DeskConfig::default()).await.unwrap();
    assert_eq!(desk.routing().document(), file.document(), "the stored routing, not the built-in one");
    assert_eq!(desk.list_silences().await.unwrap().len(), 1, "and its silence, once");
    let chain = store.audit_chain().await.unwrap();
    assert_eq!(chain.iter().filter(|e| e.action == "routing_replaced").count(), 1);
    store.close().await;
}

on_both_databases!(a_routing_file_is_stored_and_kept_across_restarts);
