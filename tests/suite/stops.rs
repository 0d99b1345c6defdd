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

/// Stops survive a restart: their time, author and scope are read back
/// from the database, and events after them are still flagged.
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
        let prefix = as_alice(json!({"scope": "agents", "target": "batch-*", "reason": "runaway batch"}));
        t.post(RESPONDER, "/api/v1/stops", &prefix).await.succeeded();
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
    let answer = t
        .post(AGENT, "/api/v1/events", &event_body("batch-after", 0.1, "batch-7", "tool_call", "svc", "ok"))
        .await
        .succeeded();
    assert_eq!(answer["stopped"]["batch-7"]["target"], "batch-*", "{answer}");
    let control = t.get(AGENT, "/api/v1/agents/batch-9/control").await.succeeded();
    assert_eq!(control["stop"]["reason"], "runaway batch", "{control}");
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

/// A stop made or lifted through `/api/v1/stops` as `alice`.
fn stop_body(scope: &str, target: Option<&str>, extra: Value) -> Value {
    let mut body = as_alice(json!({"scope": scope, "reason": "bad deploys"}));
    if let Some(t) = target {
        body["target"] = t.into();
    }
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

fn listed<'a>(stops: &'a Value, scope: &str, target: &str) -> Option<&'a Value> {
    stops.as_array().unwrap().iter().find(|s| s["scope"] == scope && s["target"] == target)
}

/// Each scope covers what it names and nothing else: a prefix of agents,
/// the fleet (admins only, confirmed, with a reason), one run. Overlapping
/// stops lift one at a time, the other still holding and said to; every
/// stop and lift is in the audit log with the person who made it.
async fn each_scope_stops_what_it_covers_and_lifts_alone(db: Db) {
    let server = start(db).await;
    let t = &server;
    let post = |body: Value| async move { t.post(AGENT, "/api/v1/events", &body).await.succeeded() };
    let made =
        t.post(RESPONDER, "/api/v1/stops", &stop_body("agents", Some("deployer-*"), json!({}))).await.succeeded();
    assert!(made["message"].as_str().unwrap().contains("agents deployer-* stopped"), "{made}");
    let again =
        t.post(RESPONDER, "/api/v1/stops", &stop_body("agents", Some("deployer-*"), json!({}))).await.succeeded();
    assert!(again["message"].as_str().unwrap().contains("already stopped"), "{again}");
    assert!(again["audit_seq"].is_null(), "nothing new recorded: {again}");
    // Covered: deployer-eu; not covered: deployer (no dash) and config-gen.
    let answer = post(event_body("eu-1", 0.05, "deployer-eu", "deploy", "payments-service", "error")).await;
    assert_eq!(answer["stopped"]["deployer-eu"]["scope"], "agents", "{answer}");
    for agent in ["deployer", "config-gen"] {
        let answer = post(event_body(&format!("{agent}-1"), 0.05, agent, "deploy", "payments-service", "error")).await;
        assert!(answer.get("stopped").is_none(), "{agent} is not covered by deployer-*: {answer}");
    }
    let mut run = common::run_body();
    run["agent_id"] = "deployer-eu".into();
    let refused = t.post(AGENT, "/api/v1/runs", &run).await;
    assert_eq!((refused.status, refused.body["code"].as_str()), (409, Some("AGENT_PAUSED")), "{:?}", refused.body);
    assert!(refused.body["message"].as_str().unwrap().contains("agents deployer-* by alice"), "{:?}", refused.body);

    // The fleet: admins only, confirmed, with a reason.
    let fleet = stop_body("fleet", None, json!({"confirm": true}));
    assert_eq!(t.post(RESPONDER, "/api/v1/stops", &fleet).await.status, 403, "a responder cannot stop the fleet");
    let root = |mut body: Value| {
        body["actor_id"] = "root-admin".into();
        body
    };
    let unconfirmed = t.post(ADMIN, "/api/v1/stops", &root(stop_body("fleet", None, json!({})))).await;
    assert_eq!((unconfirmed.status, unconfirmed.body["code"].as_str()), (422, Some("CONFIRMATION_REQUIRED")));
    let mut no_reason = root(stop_body("fleet", None, json!({"confirm": true})));
    no_reason.as_object_mut().unwrap().remove("reason");
    let refused = t.post(ADMIN, "/api/v1/stops", &no_reason).await;
    assert_eq!((refused.status, refused.body["field"].as_str()), (400, Some("reason")), "{:?}", refused.body);
    t.post(ADMIN, "/api/v1/stops", &root(fleet.clone())).await.succeeded();
    let answer = post(event_body("gen-2", 0.1, "config-gen", "config_change", "payments-service", "error")).await;
    assert_eq!(answer["stopped"]["config-gen"]["scope"], "fleet", "{answer}");

    // Lifting the prefix leaves the fleet's stop holding, and says so.
    let lift = stop_body("agents", Some("deployer-*"), json!({}));
    let lifted = t.post(RESPONDER, "/api/v1/stops/lift", &lift).await.succeeded();
    assert!(lifted["message"].as_str().unwrap().contains("lifted"), "{lifted}");
    let answer = post(event_body("eu-2", 0.15, "deployer-eu", "deploy", "payments-service", "error")).await;
    assert_eq!(answer["stopped"]["deployer-eu"]["scope"], "fleet", "the fleet's stop still holds: {answer}");
    let stops = t.get(RESPONDER, "/api/v1/stops").await.succeeded();
    assert!(listed(&stops, "agents", "deployer-*").is_none(), "{stops}");
    let fleet_stop = listed(&stops, "fleet", "*").expect("the fleet's stop listed").clone();
    assert_eq!(
        (fleet_stop["by"].as_str(), fleet_stop["acted"].as_i64()),
        (Some("root-admin"), Some(3)),
        "{fleet_stop}"
    );
    let not_lifted = t.post(RESPONDER, "/api/v1/stops/lift", &lift).await.succeeded();
    assert!(not_lifted["message"].as_str().unwrap().contains("not stopped"), "{not_lifted}");
    assert_eq!(t.post(RESPONDER, "/api/v1/stops/lift", &stop_body("fleet", None, json!({}))).await.status, 403);
    t.post(ADMIN, "/api/v1/stops/lift", &root(stop_body("fleet", None, json!({})))).await.succeeded();
    let answer = post(event_body("eu-3", 0.2, "deployer-eu", "deploy", "payments-service", "ok")).await;
    assert!(answer.get("stopped").is_none(), "every stop lifted: {answer}");

    // One run: its actions are flagged, the agent's other runs are not.
    let mut run = common::run_body();
    run["agent_id"] = "config-gen".into();
    let run_id = t.post(AGENT, "/api/v1/runs", &run).await.succeeded()["run_id"].as_str().unwrap().to_owned();
    let made = t.post(RESPONDER, "/api/v1/stops", &stop_body("run", Some(&run_id), json!({}))).await.succeeded();
    assert_eq!(made["stop"]["scope"], "run", "{made}");
    let mut in_run = event_body("run-1", 0.25, "config-gen", "config_change", "payments-service", "error");
    in_run["run_id"] = run_id.clone().into();
    let answer = post(in_run).await;
    assert_eq!(answer["stopped"]["config-gen"]["target"], run_id.as_str(), "{answer}");
    let answer = post(event_body("gen-3", 0.25, "config-gen", "config_change", "payments-service", "ok")).await;
    assert!(answer.get("stopped").is_none(), "another run of the agent goes on: {answer}");
    let control = t.get(AGENT, "/api/v1/agents/config-gen/control").await.succeeded();
    assert!(control["stop"].is_null(), "the agent as a whole may act: {control}");
    assert_eq!(control["stops"][0]["target"], run_id.as_str(), "its SDK hears of the run's stop: {control}");

    // Who did what, in the audit log.
    let audit = t.get(ADMIN, "/api/v1/audit?limit=50").await.succeeded();
    let entries = audit["entries"].as_array().unwrap();
    let actions: Vec<(&str, &str, &str)> = entries
        .iter()
        .filter(|e| ["stop", "lift_stop"].contains(&e["action"].as_str().unwrap()))
        .map(|e| (e["action"].as_str().unwrap(), e["target"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    for expected in [
        ("stop", "agents:deployer-*", "alice"),
        ("stop", "fleet", "root-admin"),
        ("lift_stop", "agents:deployer-*", "alice"),
        ("lift_stop", "fleet", "root-admin"),
    ] {
        assert!(actions.contains(&expected), "{expected:?} not in {actions:?}");
    }
    let stop_entry = entries.iter().find(|e| e["action"] == "stop").unwrap();
    assert_eq!(stop_entry["details"]["attribution"]["actor_type"], "HUMAN", "{stop_entry}");
    server.stop().await;
}

/// What a stop names is checked before anything is stopped, each refusal
/// naming what was wrong; a stop may name an agent never seen; a stop with
/// an end ends by itself.
async fn a_stop_is_checked_may_precede_its_agent_and_ends_when_it_says(db: Db) {
    let t = start(db).await;
    for (body, field) in [
        (stop_body("agents", Some("deployer"), json!({})), "target"),
        (stop_body("agents", Some("*"), json!({})), "target"),
        (stop_body("agents", Some("dep*loyer-*"), json!({})), "target"),
        (stop_body("run", None, json!({})), "target"),
        (stop_body("agent", Some("deploy*"), json!({})), "target"),
        (stop_body("galaxy", Some("x"), json!({})), "scope"),
        (stop_body("agent", Some("deployer"), json!({"until": "2020-01-01T00:00:00Z"})), "until"),
        (stop_body("agent", Some("deployer"), json!({"until": "tomorrow"})), "until"),
        (stop_body("agent", Some("deployer"), json!({"incident_id": 999})), ""),
    ] {
        let refused = t.post(RESPONDER, "/api/v1/stops", &body).await;
        assert!(refused.status == 400 || refused.status == 404, "{body}: {:?}", refused.body);
        assert!(refused.body.to_string().contains(field), "{body}: names {field}: {:?}", refused.body);
    }
    let mut as_bob = stop_body("agent", Some("deployer"), json!({}));
    as_bob["actor_id"] = "bob".into();
    assert_eq!(t.post(RESPONDER, "/api/v1/stops", &as_bob).await.status, 403, "nobody stops in another's name");
    assert!(t.get(RESPONDER, "/api/v1/stops").await.succeeded().as_array().unwrap().is_empty(), "nothing stopped");

    // An agent never seen: stopped all the same, ready for its first action.
    let made = t.post(RESPONDER, "/api/v1/stops", &stop_body("agent", Some("ghost"), json!({}))).await.succeeded();
    assert!(made["message"].as_str().unwrap().contains("agent ghost paused"), "{made}");
    assert!(made["message"].as_str().unwrap().contains("has been seen yet"), "said so: {made}");
    let control = t.get(AGENT, "/api/v1/agents/ghost/control").await.succeeded();
    assert_eq!(control["stop"]["by"], "alice", "{control}");

    // A stop that ends by itself: actions after its end are not flagged.
    let until = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    let made = t
        .post(RESPONDER, "/api/v1/stops", &stop_body("agents", Some("batch-*"), json!({"until": until})))
        .await
        .succeeded();
    assert_eq!(made["stop"]["until"].as_str().map(|u| u[..19].to_owned()), Some(until[..19].to_owned()));
    let during = event_body("batch-1", 0.0, "batch-7", "tool_call", "payments-service", "ok");
    let answer = t.post(AGENT, "/api/v1/events", &during).await.succeeded();
    assert_eq!(answer["stopped"]["batch-7"]["target"], "batch-*", "{answer}");
    tokio::time::sleep(std::time::Duration::from_millis(1700)).await;
    let after = event_body("batch-2", 0.0, "batch-7", "tool_call", "payments-service", "ok");
    let answer = t.post(AGENT, "/api/v1/events", &after).await.succeeded();
    assert!(answer.get("stopped").is_none(), "the stop has ended: {answer}");
    let control = t.get(AGENT, "/api/v1/agents/batch-7/control").await.succeeded();
    assert!(control["stops"].as_array().unwrap().is_empty(), "{control}");
    t.stop().await;
}

on_both_databases!(
    a_stopped_agents_actions_are_kept_flagged_and_answered_with_the_stop,
    a_stop_outlives_a_restart,
    refused_attempts_count_against_the_stop_in_force,
    each_scope_stops_what_it_covers_and_lifts_alone,
    a_stop_is_checked_may_precede_its_agent_and_ends_when_it_says,
);
