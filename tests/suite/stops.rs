//! A stop and the record: what a stopped agent does is still stored, and
//! flagged when it acted after the stop; whoever posts for it is told it is
//! stopped; the agents list shows whether the stop held. Through the API of
//! a real server, on both databases.

use crate::common::{self, ADMIN, AGENT, Db, RESPONDER, as_alice, event_body, start};
use serde_json::{Value, json};

fn flags_of(events: &Value, id: &str) -> Vec<String> {
    let all = events.as_array().unwrap();
    let e = all.iter().find(|e| e["event_id"] == id).unwrap_or_else(|| panic!("{id} not stored: {events:#}"));
    e["flags"].as_array().map(|f| f.iter().map(|v| v.as_str().unwrap().to_owned()).collect()).unwrap_or_default()
}

async fn stored_events(t: &common::TestServer, incident: i64) -> Value {
    let detail = t.get(RESPONDER, &format!("/api/v1/incidents/{incident}")).await.succeeded();
    let events: Vec<Value> =
        detail["timeline"].as_array().unwrap().iter().filter_map(|e| e.get("event").cloned()).collect();
    Value::Array(events)
}

async fn a_stopped_agents_actions_are_kept_flagged_and_answered_with_the_stop(db: Db) {
    let server = start(db).await;
    let t = &server;
    let post = |body: Value| async move { t.post(AGENT, "/api/v1/events", &body).await.succeeded() };
    let first = event_body("before-1", -5.0, "deployer", "deploy", "payments-service", "error");
    let answer = post(first).await;
    assert!(answer.get("stopped").is_none(), "not stopped: nothing said: {answer}");
    let pause = as_alice(json!({"kind": "pause_agent", "reason": "bad deploys"}));
    t.post(RESPONDER, "/api/v1/agents/deployer/interventions", &pause).await.succeeded();
    // After the stop: stored, flagged, and the poster told who stopped it.
    let after = event_body("after-1", 0.1, "deployer", "deploy", "payments-service", "error");
    let answer = post(after).await;
    assert_eq!(answer["accepted"], 1, "a record of what happened is never refused: {answer}");
    assert_eq!(answer["stopped"]["deployer"]["by"], "alice", "{answer}");
    assert_eq!(answer["stopped"]["deployer"]["reason"], "bad deploys");
    // Done before the stop, arriving late: kept unflagged (the poster is still told).
    let late = event_body("late-1", -3.0, "deployer", "deploy", "payments-service", "error");
    let answer = post(late).await;
    assert_eq!(answer["accepted"], 1);
    // Another agent in the same batch is not stopped.
    let other = event_body("other-1", 0.1, "config-gen", "config_change", "payments-service", "error");
    let answer = post(other).await;
    assert!(answer.get("stopped").is_none(), "{answer}");
    let incident = answer["incidents"][0].as_i64().expect("grouped into the incident");
    let events = stored_events(t, incident).await;
    assert_eq!(flags_of(&events, "after-1"), ["acted_while_stopped"]);
    assert!(flags_of(&events, "late-1").is_empty(), "done before the stop");
    assert!(flags_of(&events, "before-1").is_empty());
    let agents = t.get(ADMIN, "/api/v1/agents").await.succeeded();
    let deployer = agents.as_array().unwrap().iter().find(|a| a["agent_id"] == "deployer").unwrap().clone();
    assert_eq!(deployer["acted_while_stopped"], 1, "the stop did not hold once: {deployer}");
    // Resumed: acting again is not flagged, and nobody is told to stop.
    let resume = as_alice(json!({"kind": "resume_agent", "reason": "fixed"}));
    t.post(RESPONDER, "/api/v1/agents/deployer/interventions", &resume).await.succeeded();
    let answer = post(event_body("resumed-1", 0.2, "deployer", "deploy", "payments-service", "ok")).await;
    assert!(answer.get("stopped").is_none(), "{answer}");
    let events = stored_events(t, incident).await;
    assert!(flags_of(&events, "resumed-1").is_empty(), "acting after the resume is not flagged");
    // New runs stay refused while stopped, as before.
    t.post(RESPONDER, "/api/v1/agents/deployer/interventions", &pause).await.succeeded();
    let mut run = common::run_body();
    run["agent_id"] = "deployer".into();
    let refused = t.post(AGENT, "/api/v1/runs", &run).await;
    assert_eq!((refused.status, refused.body["code"].as_str()), (409, Some("AGENT_PAUSED")), "{:?}", refused.body);
    server.stop().await;
}

/// The stop's time and author survive a restart: they are read back from
/// the database, and events after it are still flagged.
async fn a_stop_outlives_a_restart(db: Db) {
    let guard = common::store(db).await;
    let url = guard.url.clone();
    {
        let server = mandate::server::start(guard.store.clone(), common::tokens(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let t = common::TestServer::wrap(server);
        let pause = as_alice(json!({"kind": "pause_agent", "reason": "hold"}));
        t.post(RESPONDER, "/api/v1/agents/deployer/interventions", &pause).await.succeeded();
        t.stop().await;
    }
    let store = mandate::store::Store::connect_to_serve(&url, false).await.unwrap();
    let server = mandate::server::start(store, common::tokens(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let t = common::TestServer::wrap(server);
    let answer = t
        .post(AGENT, "/api/v1/events", &event_body("after-restart", 0.1, "deployer", "deploy", "svc", "error"))
        .await
        .succeeded();
    assert_eq!(answer["stopped"]["deployer"]["by"], "alice", "{answer}");
    assert_eq!(answer["stopped"]["deployer"]["reason"], "hold", "{answer}");
    let agents = t.get(ADMIN, "/api/v1/agents").await.succeeded();
    let deployer = agents.as_array().unwrap().iter().find(|a| a["agent_id"] == "deployer").unwrap().clone();
    assert_eq!(deployer["acted_while_stopped"], 1, "{deployer}");
    t.stop().await;
    drop(guard);
}

/// Refused attempts are counted against the stop in force only; a bad
/// count is refused naming the field, and only agents may report.
async fn refused_attempts_count_against_the_stop_in_force(db: Db) {
    let t = start(db).await;
    let path = "/api/v1/agents/deployer/refusals";
    let not_yet = t.post(AGENT, path, &json!({"attempts": 3})).await.succeeded();
    assert_eq!(not_yet["counted"], false, "not stopped: nothing to count against");
    let pause = as_alice(json!({"kind": "pause_agent", "reason": "hold"}));
    t.post(RESPONDER, "/api/v1/agents/deployer/interventions", &pause).await.succeeded();
    for n in [2, 5] {
        assert_eq!(t.post(AGENT, path, &json!({"attempts": n})).await.succeeded()["counted"], true);
    }
    for bad in [
        json!({"attempts": 0}),
        json!({"attempts": -1}),
        json!({"attempts": "7"}),
        json!({}),
        json!({"attempts": 2_000_000}),
    ] {
        let refused = t.post(AGENT, path, &bad).await;
        assert_eq!(refused.status, 400, "{bad}: {:?}", refused.body);
        assert!(refused.body.to_string().contains("attempts"), "names the field: {:?}", refused.body);
    }
    assert_eq!(t.post(common::VIEWER, path, &json!({"attempts": 1})).await.status, 403, "a viewer reports nothing");
    let agents = t.get(ADMIN, "/api/v1/agents").await.succeeded();
    let deployer = agents.as_array().unwrap().iter().find(|a| a["agent_id"] == "deployer").unwrap().clone();
    assert_eq!(deployer["refused_attempts"], 7, "{deployer}");
    // A new stop starts its own count.
    let resume = as_alice(json!({"kind": "resume_agent", "reason": "ok"}));
    t.post(RESPONDER, "/api/v1/agents/deployer/interventions", &resume).await.succeeded();
    t.post(RESPONDER, "/api/v1/agents/deployer/interventions", &pause).await.succeeded();
    let agents = t.get(ADMIN, "/api/v1/agents").await.succeeded();
    let deployer = agents.as_array().unwrap().iter().find(|a| a["agent_id"] == "deployer").unwrap().clone();
    assert_eq!(deployer["refused_attempts"], 0, "{deployer}");
    t.stop().await;
}

on_both_databases!(
    a_stopped_agents_actions_are_kept_flagged_and_answered_with_the_stop,
    a_stop_outlives_a_restart,
    refused_attempts_count_against_the_stop_in_force,
);
