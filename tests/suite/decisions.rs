//! `GET /api/v1/decisions`: what an agent's next action gets, from the
//! critical points of the routing file as an admin applied it; refused
//! requests name what is wrong.

use crate::common::{self, ADMIN, AGENT, Db, VIEWER};
use serde_json::{Value, json};

async fn decision(t: &common::TestServer, token: &str, query: &str) -> common::Answer {
    t.get(token, &format!("/api/v1/decisions?{query}")).await
}

async fn critical_points_decide_what_an_agents_action_gets(db: Db) {
    let t = common::start(db).await;
    let catalog = t.send(t.http.put(t.url("/api/v1/catalog")).bearer_auth(ADMIN).json(&common::seed_catalog())).await;
    assert_eq!(catalog.status, 200, "{:?}", catalog.body);
    let mut routing: Value = t.get(VIEWER, "/api/v1/routing").await.body;
    routing["critical_point"] = json!([
        {"name": "production data deletion", "reason": "Irreversible production data operation",
         "match": {"action_type": ["drop_table", "truncate"], "sensitivity": "critical"}, "timeout": "2m", "four_eyes": true},
        {"name": "config on payments", "reason": "payments configuration is watched",
         "match": {"action_type": "config_change", "resource": "payments-*"}, "decision": "flagged"},
    ]);
    let put = t.send(t.http.put(t.url("/api/v1/routing")).bearer_auth(ADMIN).json(&routing)).await;
    assert_eq!(put.status, 200, "{:?}", put.body);

    let gated = decision(&t, AGENT, "agent_id=db-migrator&action_type=drop_table&resource=payments-db").await;
    assert_eq!(gated.status, 200, "{:?}", gated.body);
    assert_eq!(
        gated.body,
        json!({"decision": "gated", "reason": "Irreversible production data operation",
               "critical_point": "production data deletion", "timeout_seconds": 120, "on_timeout": "deny", "four_eyes": true})
    );
    let flagged = decision(
        &t,
        AGENT,
        "agent_id=config-gen&action_type=config_change&resource=payments-service&actor_type=SYSTEM",
    )
    .await;
    assert_eq!((flagged.body["decision"].as_str(), flagged.body.get("timeout_seconds")), (Some("flagged"), None));
    let plain = decision(&t, AGENT, "agent_id=db-migrator&action_type=drop_table&resource=user-db").await;
    assert_eq!(plain.body["decision"], "monitored", "user-db is not critical: {:?}", plain.body);

    let refused = [
        ("action_type=drop_table", "agent_id"),
        ("agent_id=a&actor_type=robot", "actor_type"),
        ("agent_id=a&colour=red", "colour"),
        ("agent_id=a\u{200b}b", "agent_id"),
    ];
    for (query, field) in refused {
        let answer = decision(&t, AGENT, query).await;
        assert_eq!(answer.status, 400, "{query}: {:?}", answer.body);
        assert!(answer.body.to_string().contains(field), "{query}: {:?}", answer.body);
    }
    assert_eq!(t.send(t.http.get(t.url("/api/v1/decisions?agent_id=a"))).await.status, 401);

    // A critical point that cannot be read is refused with its path; the
    // running ones stay.
    routing["critical_point"][0]["timeout"] = "3d".into();
    let bad = t.send(t.http.put(t.url("/api/v1/routing")).bearer_auth(ADMIN).json(&routing)).await;
    assert_eq!((bad.status, bad.body["field"].as_str()), (400, Some("critical_point[0].timeout")), "{:?}", bad.body);
    let still = decision(&t, AGENT, "agent_id=db-migrator&action_type=drop_table&resource=payments-db").await;
    assert_eq!(still.body["timeout_seconds"], 120);
    t.stop().await;
}

on_both_databases!(critical_points_decide_what_an_agents_action_gets);
