//! Identity holds, on both databases: an event id says one thing for ever
//! (a replay with other content is a 409 naming the id, never a silent
//! acknowledgement), an event joins only a run of an agent its token may act
//! for, and identifiers are what they look like — `pay-x` paused cannot be
//! escaped as `pay-x` plus an invisible character, and one name written two
//! ways (NFC or not) is one agent. Rows written straight into the database
//! with such identifiers are named by `mandate audit verify`.

use crate::common::{self, AGENT, Db, RESPONDER, as_alice, event_body, run_body, with};
use mandate::api::Role;
use mandate::auth::{Principal, TokenTable, token_digest};
use serde_json::{Value, json};

const PAY: &str = "mdt_test_pay_fleet";
const SHIP: &str = "mdt_test_ship_fleet";

/// The usual tokens, and two agent tokens bound to `pay-*` and `ship-*`.
fn bound_tokens() -> TokenTable {
    let mut table = common::tokens();
    for (token, name, pattern) in [(PAY, "pay-fleet", "pay-*"), (SHIP, "ship-fleet", "ship-*")] {
        let principal =
            Principal { name: name.into(), role: Role::Agent, agents: Some(vec![pattern.into()]), client_cert: None };
        table.insert(token_digest(token), principal);
    }
    table
}

struct Served {
    t: common::TestServer,
    url: String,
}

async fn start(db: Db) -> Served {
    let guard = common::store(db).await;
    let url = guard.url.clone();
    let server =
        mandate::server::start(guard.store.clone(), bound_tokens(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let mut t = common::TestServer::wrap(server);
    t.keep(guard);
    Served { t, url }
}

fn run_as(agent: &str) -> Value {
    with(run_body(), json!({"agent_id": agent}))
}

async fn a_replay_with_other_content_is_a_conflict_naming_the_id(db: Db) {
    let s = start(db).await;
    let t = &s.t;
    let first = event_body("e-1", -1.0, "agent-a", "deploy", "svc-a", "error");
    assert_eq!(t.post(AGENT, "/api/v1/events", &first).await.body["accepted"], 1);
    let again = t.post(AGENT, "/api/v1/events", &first).await;
    assert_eq!((again.status, again.body["duplicates"].as_i64()), (200, Some(1)), "the same replay is a no-op");

    let changed = with(first.clone(), json!({"resource": "svc-innocent"}));
    let answer = t.post(AGENT, "/api/v1/events", &changed).await;
    assert_eq!((answer.status, answer.body["code"].as_str()), (409, Some("EVENT_ID_CONFLICT")), "{}", answer.body);
    assert!(answer.body["message"].as_str().unwrap().contains("\"e-1\""), "names the id: {}", answer.body);
    assert_eq!(answer.body["field"], "event_id");

    // In a batch: the same replay, a changed one, a new one, and one id
    // used twice with two contents.
    let second = event_body("e-2", -1.0, "agent-a", "deploy", "svc-a", "error");
    let twice = event_body("e-3", -1.0, "agent-a", "deploy", "svc-a", "error");
    let batch = json!([first, changed, second, twice, with(twice.clone(), json!({"outcome": "ok"}))]);
    let answer = t.post(AGENT, "/api/v1/events", &batch).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!((answer.body["accepted"].as_i64(), answer.body["duplicates"].as_i64()), (Some(2), Some(1)));
    let refused: Vec<(i64, &str)> = answer.body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].as_i64().unwrap(), r["error"]["code"].as_str().unwrap()))
        .collect();
    assert_eq!(refused, [(1, "EVENT_ID_CONFLICT"), (4, "EVENT_ID_CONFLICT")], "{}", answer.body);

    // Another agent cannot take the id either, and what was stored stands.
    let other = event_body("e-1", -1.0, "agent-b", "deploy", "svc-a", "error");
    let answer = t.post(AGENT, "/api/v1/events", &other).await;
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert!(answer.body["message"].as_str().unwrap().contains("agent \"agent-a\"'s event"), "{}", answer.body);
    let stored = t.server.state.store().events_by_id(&["e-1"]).await.unwrap();
    assert_eq!(stored[0].resource.as_deref(), Some("svc-a"));
    assert_eq!(stored[0].agent_id.as_deref(), Some("agent-a"));
}

async fn an_event_joins_only_a_run_its_token_may_act_for(db: Db) {
    let s = start(db).await;
    let t = &s.t;
    let ship_run = t.post(SHIP, "/api/v1/runs", &run_as("ship-1")).await;
    assert_eq!(ship_run.status, 201, "{}", ship_run.body);
    let ship_run = ship_run.body["run_id"].as_str().unwrap().to_owned();
    let pay_run = t.post(PAY, "/api/v1/runs", &run_as("pay-x")).await.body["run_id"].as_str().unwrap().to_owned();

    // pay-x's token attaches an event of its own agent to ship-1's run.
    let intruder = with(event_body("i-1", -1.0, "pay-x", "deploy", "svc-a", "ok"), json!({"run_id": ship_run}));
    let answer = t.post(PAY, "/api/v1/events", &intruder).await;
    assert_eq!((answer.status, answer.body["code"].as_str()), (403, Some("RUN_NOT_ALLOWED")), "{}", answer.body);
    assert_eq!(answer.body["field"], "run_id");
    assert!(answer.body["message"].as_str().unwrap().contains("ship-1"), "{}", answer.body);

    // In a batch only that event is refused; its own run is fine.
    let own = with(event_body("i-2", -1.0, "pay-x", "deploy", "svc-a", "ok"), json!({"run_id": pay_run}));
    let answer = t.post(PAY, "/api/v1/events", &json!([own, intruder])).await;
    assert_eq!(answer.body["accepted"], 1, "{}", answer.body);
    assert_eq!(answer.body["rejected"][0]["index"], 1);
    assert_eq!(answer.body["rejected"][0]["error"]["code"], "RUN_NOT_ALLOWED");
    assert!(t.server.state.store().events_by_id(&["i-1"]).await.unwrap().is_empty(), "nothing joined ship-1's run");

    // A token free to act for any agent may (an integration's, say).
    let open = with(event_body("i-3", -1.0, "pay-x", "deploy", "svc-a", "ok"), json!({"run_id": ship_run}));
    assert_eq!(t.post(AGENT, "/api/v1/events", &open).await.status, 200);
}

async fn a_stop_is_not_escaped_by_a_lookalike_name(db: Db) {
    let s = start(db).await;
    let t = &s.t;
    assert_eq!(t.post(PAY, "/api/v1/runs", &run_as("pay-x")).await.status, 201);
    let pause = as_alice(json!({"kind": "pause_agent", "reason": "bad deploys"}));
    let answer = t.post(RESPONDER, "/api/v1/agents/pay-x/interventions", &pause).await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    for (lookalike, code_point, at) in [
        ("pay-x\u{200B}", "U+200B", 6),
        ("pay-\u{2060}x", "U+2060", 5),
        ("pay-\u{3164}x", "U+3164", 5),
        ("pay-x\u{FE0F}", "U+FE0F", 6),
        ("pay-\u{202E}x", "U+202E", 5),
        ("pay-x\u{E000}", "U+E000", 6),
    ] {
        let answer = t.post(PAY, "/api/v1/runs", &run_as(lookalike)).await;
        assert_eq!(answer.status, 400, "{lookalike:?}: {}", answer.body);
        let detail = &answer.body["errors"][0];
        assert_eq!(
            (detail["code"].as_str(), detail["field"].as_str()),
            (Some("FIELD_LOOKALIKE_CHARACTER"), Some("agent_id")),
            "{lookalike:?}: {}",
            answer.body
        );
        let message = detail["message"].as_str().unwrap();
        assert!(message.contains(&format!("{code_point} at character {at}")), "{lookalike:?}: {message}");
        let event = event_body("l-1", -1.0, lookalike, "deploy", "svc-a", "ok");
        let answer = t.post(PAY, "/api/v1/events", &event).await;
        assert_eq!(answer.status, 400, "{lookalike:?}: {}", answer.body);
        assert_eq!(answer.body["errors"][0]["code"], "FIELD_LOOKALIKE_CHARACTER", "{}", answer.body);
    }

    // A control character is named as one, not as a missing agent.
    let answer = t.post(AGENT, "/api/v1/events", &event_body("c-1", -1.0, "a\u{1b}b", "deploy", "svc", "ok")).await;
    assert_eq!(answer.status, 400);
    let codes: Vec<&str> =
        answer.body["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["FIELD_INVALID_VALUE"], "{}", answer.body);

    // One name, two spellings: the decomposed é is the paused agent.
    let composed = "pay-d\u{e9}ploy";
    let answer = t.post(RESPONDER, &format!("/api/v1/agents/{composed}/interventions"), &pause).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = t.post(PAY, "/api/v1/runs", &run_as("pay-de\u{301}ploy")).await;
    assert_eq!((answer.status, answer.body["code"].as_str()), (409, Some("AGENT_PAUSED")), "{}", answer.body);
    let event = event_body("n-1", -1.0, "pay-n\u{303}o", "deploy", "svc-a", "ok");
    assert_eq!(t.post(PAY, "/api/v1/events", &event).await.status, 200);
    let stored = t.server.state.store().events_by_id(&["n-1"]).await.unwrap();
    assert_eq!(stored[0].agent_id.as_deref(), Some("pay-\u{f1}o"), "stored in NFC");

    // A row written straight into the database is named by verify.
    let pool = sqlx::AnyPool::connect(&s.url).await.unwrap();
    sqlx::query("INSERT INTO agents (agent_id, last_seen) VALUES ($1, 0)")
        .bind("pay-x\u{200B}")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let out = common::mandate_cli(&["audit", "verify", "--database-url", &s.url]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(r#"agents.agent_id "pay-x\u{200B}""#), "{err}");
    assert!(err.contains("invisible characters (U+200B at character 6)"), "{err}");
}

on_both_databases!(
    a_replay_with_other_content_is_a_conflict_naming_the_id,
    an_event_joins_only_a_run_its_token_may_act_for,
    a_stop_is_not_escaped_by_a_lookalike_name,
);
