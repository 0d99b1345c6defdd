//! LIVE-O5 / COMP-O5: topic-bound distributions by dimension.

use crate::common::{AGENT, Db, VIEWER, start};
use serde_json::{Value, json};
use sqlx::Row;
use std::collections::BTreeMap;

const LIVE: &str = "/api/v1/activity/runs/live/by-dimension";
const COMPLETED: &str = "/api/v1/activity/runs/completed/by-dimension";

/// The topic is the path's: `state` and every other stray parameter is 400.
async fn the_topic_is_bound_by_the_path(db: Db) {
    let t = start(db).await;
    for base in [LIVE, COMPLETED] {
        for state in ["COMPLETED", "LIVE", "live"] {
            let a = t.get(VIEWER, &format!("{base}?dim=agent_id&state={state}")).await;
            assert_eq!(
                (a.status, a.body["code"].as_str()),
                (400, Some("TOPIC_SCOPE_VIOLATION")),
                "{base} state={state}"
            );
            assert_eq!(a.body["field"], "state");
        }
        let stray = t.get(VIEWER, &format!("{base}?dim=agent_id&topic=LIVE")).await;
        assert_eq!((stray.status, stray.body["code"].as_str()), (400, Some("UNKNOWN_PARAMETER")));
        let unknown = t.get(VIEWER, &format!("{base}?dim=region")).await;
        assert_eq!((unknown.status, unknown.body["code"].as_str()), (400, Some("UNKNOWN_DIMENSION")));
        assert!(
            unknown.body["message"].as_str().unwrap().contains("agent_id, provider_type, source, risk_level, status"),
            "{:?}",
            unknown.body
        );
        let missing = t.get(VIEWER, base).await;
        assert_eq!((missing.status, missing.body["code"].as_str()), (400, Some("DIMENSION_REQUIRED")));
    }
    t.stop().await;
}

/// Each panel counts only its topic's runs, for every dimension, and its
/// counts equal grouping `v_runs_o2` directly.
async fn distributions_count_each_topic(db: Db) {
    let t = start(db).await;
    let plan = [
        ("agent-a", "anthropic", "SDK", "high", Some("failed")),
        ("agent-a", "anthropic", "SDK", "low", None),
        ("agent-a", "openai", "API", "low", None),
        ("agent-b", "openai", "SYSTEM", "critical", Some("succeeded")),
        ("agent-b", "internal", "SDK", "medium", Some("succeeded")),
        ("agent-c", "anthropic", "SDK", "low", Some("cancelled")),
    ];
    for (agent, provider, source, risk, outcome) in plan {
        let body = json!({"goal": "g", "agent_id": agent, "actor_type": "SERVICE", "origin_system_id": "o",
                          "source": source, "provider_type": provider, "risk_level": risk});
        let run = t.post(AGENT, "/api/v1/runs", &body).await;
        assert_eq!(run.status, 201);
        if let Some(status) = outcome {
            let path = format!("/api/v1/runs/{}/complete", run.body["run_id"].as_str().unwrap());
            assert_eq!(t.post(AGENT, &path, &json!({ "status": status })).await.status, 200);
        }
    }
    let live = t.get(VIEWER, &format!("{LIVE}?dim=agent_id")).await;
    assert_eq!(live.status, 200);
    assert_eq!(live.body["topic"], "LIVE");
    assert_eq!(live.body["dim"], "agent_id");
    assert_eq!(live.body["total"], 2);
    assert_eq!(live.body["buckets"], json!([{"value": "agent-a", "count": 2}]));
    assert!(live.body["generated_at"].is_string());

    let completed = t.get(VIEWER, &format!("{COMPLETED}?dim=status")).await;
    assert_eq!(completed.body["topic"], "COMPLETED");
    assert_eq!(completed.body["total"], 4);
    assert_eq!(
        completed.body["buckets"],
        json!([{"value": "succeeded", "count": 2}, {"value": "cancelled", "count": 1}, {"value": "failed", "count": 1}]),
        "sorted by count, ties by value"
    );

    // Every dimension of both topics matches the view.
    let pool = t.server.state.store().pool().clone();
    for (path, topic) in [(LIVE, "LIVE"), (COMPLETED, "COMPLETED")] {
        for dim in ["agent_id", "provider_type", "source", "risk_level", "status"] {
            let answer = t.get(VIEWER, &format!("{path}?dim={dim}")).await;
            let from_api: BTreeMap<String, i64> = answer.body["buckets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| (b["value"].as_str().unwrap().to_owned(), b["count"].as_i64().unwrap()))
                .collect();
            let sql = format!("SELECT {dim} AS v, COUNT(*) AS n FROM v_runs_o2 WHERE state = $1 GROUP BY {dim}");
            let from_view: BTreeMap<String, i64> = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(topic)
                .fetch_all(&pool)
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get::<String, _>("v"), r.get::<i64, _>("n")))
                .collect();
            assert_eq!(from_api, from_view, "{topic} by {dim}");
            assert_eq!(answer.body["total"], Value::from(from_view.values().sum::<i64>()));
        }
    }
    t.stop().await;
}

on_both_databases!(the_topic_is_bound_by_the_path, distributions_count_each_topic);
