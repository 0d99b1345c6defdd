//! Concurrent run inserts share commits; one refused row never fails the
//! others in its batch, and nothing is lost or duplicated.

use crate::common::{Db, store};
use chrono::Utc;
use mandate::api::{RiskLevel, RunSource};
use mandate::attribution::ActorType;
use mandate::store::{NewRun, RunFilter, StoreError};

fn new_run(i: usize, agent_id: &str) -> NewRun {
    NewRun {
        run_id: format!("run-{i:04}"),
        goal: "g".into(),
        agent_id: agent_id.into(),
        actor_type: ActorType::Service,
        actor_id: None,
        origin_system_id: "o".into(),
        source: RunSource::Sdk,
        provider_type: "internal".into(),
        risk_level: RiskLevel::Low,
        origin_ts: None,
        origin_ip: None,
        created_at: Utc::now(),
    }
}

async fn a_refused_row_fails_alone(db: Db) {
    let guard = store(db).await;
    let s = guard.store.clone();
    // 300 concurrent inserts (more than one batch), every 50th one carrying
    // the legacy sentinel that only the database checks at this level.
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let s = s.clone();
            let agent = if i % 50 == 7 { "legacy-unknown" } else { "agent-ok" };
            tokio::spawn(async move { (i, s.insert_run(new_run(i, agent)).await) })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        let (i, result) = task.await.unwrap();
        match result {
            Ok(run) => {
                assert_eq!(run.run_id, format!("run-{i:04}"), "each caller gets its own run back");
                ok += 1;
            }
            Err(StoreError::Constraint { constraint, message }) => {
                assert_eq!(i % 50, 7, "only the bad rows are refused: {message}");
                assert_eq!(constraint.as_deref(), Some("trg_runs_agent_id_not_legacy"), "named: {message}");
            }
            Err(other) => panic!("{db:?} run {i}: {other}"),
        }
    }
    assert_eq!(ok, 294);
    let (runs, _) = s.list_runs(&RunFilter::default(), None, 500).await.unwrap();
    assert_eq!(runs.len(), 294, "every acknowledged run is stored, once");
    let duplicate = s.insert_run(new_run(0, "agent-ok")).await;
    assert!(matches!(duplicate, Err(StoreError::Constraint { .. })), "a run id is never stored twice: {duplicate:?}");
}

on_both_databases!(a_refused_row_fails_alone);
