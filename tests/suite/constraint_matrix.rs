//! Layer 3 of the attribution contract: the database refuses bad runs on its
//! own. The seed's 11-case matrix, straight against each database.

use crate::common::{self, Db, store};
use mandate::store::Store;
use sqlx::Row;

/// Inserts a row bypassing every layer above the database.
async fn insert(
    store: &Store,
    run_id: &str,
    agent_id: &str,
    actor_type: &str,
    actor_id: Option<&str>,
    origin: &str,
) -> Result<(), String> {
    sqlx::query(
        "INSERT INTO runs (run_id, goal, agent_id, actor_type, actor_id, origin_system_id, source, state, status, \
         provider_type, risk_level, created_at) VALUES ($1, 'matrix', $2, $3, $4, $5, 'SDK', 'LIVE', 'running', 'internal', 'low', 1)",
    )
    .bind(run_id)
    .bind(agent_id)
    .bind(actor_type)
    .bind(actor_id)
    .bind(origin)
    .execute(store.pool())
    .await
    .map(|_| ())
    .map_err(|e| e.to_string())
}

async fn matrix(db: Db) {
    let guard = store(db).await;
    let s = &guard.store;
    // 3 valid patterns.
    insert(s, "v1", "agent-a", "SYSTEM", None, "cron").await.unwrap();
    insert(s, "v2", "agent-a", "HUMAN", Some("user-12345"), "console").await.unwrap();
    insert(s, "v3", "agent-a", "SERVICE", None, "payments").await.unwrap();
    // 8 invalid patterns, each refused by the constraint or trigger the seed names.
    let cases: [(&str, &str, Option<&str>, &str, &str); 8] = [
        ("agent-a", "BOT", None, "cron", "chk_runs_actor_type_valid"),
        ("agent-a", "AGENT", None, "cron", "chk_runs_actor_type_valid"),
        ("agent-a", "HUMAN", None, "cron", "chk_runs_actor_id_human_required"),
        ("agent-a", "HUMAN", Some(""), "cron", "chk_runs_actor_id_human_required"),
        ("agent-a", "SYSTEM", Some("user-12345"), "cron", "chk_runs_actor_id_nonhuman_null"),
        ("agent-a", "SERVICE", Some("user-12345"), "cron", "chk_runs_actor_id_nonhuman_null"),
        ("legacy-unknown", "SYSTEM", None, "cron", "trg_runs_agent_id_not_legacy"),
        ("agent-a", "SYSTEM", None, "legacy-migration", "trg_runs_origin_system_not_legacy"),
    ];
    for (i, (agent, actor_type, actor_id, origin, constraint)) in cases.into_iter().enumerate() {
        let err = insert(s, &format!("bad{i}"), agent, actor_type, actor_id, origin).await.unwrap_err();
        assert!(err.contains(constraint), "{db:?} case {i}: expected {constraint}, got: {err}");
    }
    let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM runs").fetch_one(s.pool()).await.unwrap().get("n");
    assert_eq!(count, 3, "only the three valid rows are stored");
}

/// NOT NULL holds for every attribution column.
async fn attribution_columns_are_not_null(db: Db) {
    let guard = store(db).await;
    for column in ["agent_id", "actor_type", "origin_system_id", "source", "state"] {
        let mut values = vec![
            ("run_id", "'n1'"),
            ("goal", "'g'"),
            ("agent_id", "'a'"),
            ("actor_type", "'SYSTEM'"),
            ("origin_system_id", "'o'"),
            ("source", "'SDK'"),
            ("state", "'LIVE'"),
            ("status", "'running'"),
            ("provider_type", "'p'"),
            ("risk_level", "'low'"),
            ("created_at", "1"),
        ];
        values.iter_mut().filter(|(c, _)| *c == column).for_each(|v| v.1 = "NULL");
        let columns: Vec<_> = values.iter().map(|v| v.0).collect();
        let literals: Vec<_> = values.iter().map(|v| v.1).collect();
        let sql = format!("INSERT INTO runs ({}) VALUES ({})", columns.join(", "), literals.join(", "));
        let err = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(guard.store.pool()).await.unwrap_err().to_string();
        assert!(err.to_lowercase().contains("null"), "{db:?} {column}: {err}");
    }
}

/// Attribution is immutable after insert; a completed run cannot reopen.
async fn attribution_is_immutable(db: Db) {
    let guard = store(db).await;
    let s = &guard.store;
    insert(s, "r1", "agent-a", "SYSTEM", None, "cron").await.unwrap();
    for update in [
        "UPDATE runs SET agent_id = 'someone-else' WHERE run_id = 'r1'",
        "UPDATE runs SET actor_type = 'SERVICE' WHERE run_id = 'r1'",
        "UPDATE runs SET origin_system_id = 'elsewhere' WHERE run_id = 'r1'",
        "UPDATE runs SET source = 'API' WHERE run_id = 'r1'",
    ] {
        let err = sqlx::query(update).execute(s.pool()).await.unwrap_err().to_string();
        assert!(err.contains("trg_runs_attribution_immutable"), "{db:?} {update}: {err}");
    }
    sqlx::query("UPDATE runs SET state = 'COMPLETED', status = 'failed', completed_at = 2 WHERE run_id = 'r1'")
        .execute(s.pool())
        .await
        .unwrap();
    let err =
        sqlx::query("UPDATE runs SET state = 'LIVE', status = 'running', completed_at = NULL WHERE run_id = 'r1'")
            .execute(s.pool())
            .await
            .unwrap_err()
            .to_string();
    assert!(err.contains("trg_runs_completion_final"), "{db:?}: {err}");
}

/// Events cannot be changed or removed, and a run changes only by
/// completing: the evidence behind a root cause cannot be rewritten.
async fn events_and_runs_are_append_only(db: Db) {
    let guard = store(db).await;
    let s = &guard.store;
    insert(s, "r1", "agent-a", "SYSTEM", None, "cron").await.unwrap();
    sqlx::query(
        "INSERT INTO events (event_id, agent_id, outcome, occurred_at, received_at, scope, metadata, flags) \
         VALUES ('e1', 'agent-a', 'error', 1, 1, '[]', '{}', '[]')",
    )
    .execute(s.pool())
    .await
    .unwrap();
    for (change, trigger) in [
        ("UPDATE events SET resource = 'elsewhere' WHERE event_id = 'e1'", "events are append-only"),
        ("DELETE FROM events WHERE event_id = 'e1'", "events are append-only"),
        ("UPDATE runs SET goal = 'something else' WHERE run_id = 'r1'", "trg_runs_only_complete"),
        ("UPDATE runs SET status = 'failed' WHERE run_id = 'r1'", "trg_runs_only_complete"),
        ("DELETE FROM runs WHERE run_id = 'r1'", "runs are append-only"),
    ] {
        let err = sqlx::query(sqlx::AssertSqlSafe(change)).execute(s.pool()).await.unwrap_err().to_string();
        assert!(err.contains(trigger), "{db:?} {change}: {err}");
    }
    if db == Db::Postgres {
        for table in ["events", "runs"] {
            let err =
                sqlx::query(sqlx::AssertSqlSafe(format!("TRUNCATE {table}"))).execute(s.pool()).await.unwrap_err();
            assert!(err.to_string().contains("append-only"), "{err}");
        }
    }
    // Completing is the one change.
    sqlx::query("UPDATE runs SET state = 'COMPLETED', status = 'failed', completed_at = 2 WHERE run_id = 'r1'")
        .execute(s.pool())
        .await
        .unwrap();
}

on_both_databases!(matrix, attribution_columns_are_not_null, attribution_is_immutable, events_and_runs_are_append_only);

#[tokio::test]
async fn the_view_projects_every_declared_dimension() {
    for db in [Db::Sqlite, Db::Postgres] {
        if db == Db::Postgres && common::skip_postgres("the_view_projects_every_declared_dimension (PostgreSQL half)") {
            continue;
        }
        let guard = store(db).await;
        insert(&guard.store, "r1", "agent-a", "HUMAN", Some("u1"), "console").await.unwrap();
        let row = sqlx::query(
            "SELECT agent_id, actor_id, actor_type, state, provider_type, risk_level, source, status FROM v_runs_o2",
        )
        .fetch_one(guard.store.pool())
        .await
        .unwrap();
        let got: Vec<String> = (0..8).map(|i| row.get::<String, _>(i)).collect();
        assert_eq!(got, ["agent-a", "u1", "HUMAN", "LIVE", "internal", "low", "SDK", "running"], "{db:?}");
    }
}
