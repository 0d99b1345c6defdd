//! Agent identity (seed 14.2) with the real binary: an agent token bound to
//! agents at `mandate token create --agent` posts runs and events for those
//! agents only; `mandate token rotate` gives a new token while the old one
//! keeps working until `revoke --previous`; a revocation reaches the running
//! server within a second, without a signal.

use crate::common::{BIN, create_token, event_body, run_body, serve_binary};
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

fn token(args: &[&str], tokens_file: &str) -> String {
    let out = Command::new(BIN).arg("token").args(args).args(["--tokens-file", tokens_file]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn post(http: &reqwest::Client, url: &str, token: &str, body: &Value) -> (u16, Value) {
    let r = http.post(url).bearer_auth(token).json(body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// Polls until `token` gets `status` on GET /api/v1/runs (5 s at most),
/// four times a second: slower than the server's throttle on failed
/// authentication would allow to go unnoticed.
async fn until_status(http: &reqwest::Client, base: &str, token: &str, status: u16) -> Duration {
    let started = Instant::now();
    loop {
        let r = http.get(format!("{base}/api/v1/runs")).bearer_auth(token).send().await.unwrap();
        if r.status().as_u16() == status {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(5), "still {} after 5 s", r.status());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn a_bound_agent_token_acts_for_its_agents_only_and_rotates_without_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.toml").display().to_string();
    let fleet = token(
        &["create", "--name", "fleet", "--role", "agent", "--agent", "deployer", "--agent", "payments-*"],
        &tokens,
    );
    let open = create_token(&tokens, "legacy", "agent");
    let refused = Command::new(BIN)
        .args(["token", "create", "--name", "x", "--role", "viewer", "--agent", "a", "--tokens-file", &tokens])
        .output()
        .unwrap();
    assert!(!refused.status.success(), "--agent binds agent tokens only");
    let listed = Command::new(BIN).args(["token", "list", "--tokens-file", &tokens]).output().unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(listed.contains("agents deployer, payments-*") && listed.contains("any agent"), "{listed}");

    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let server = serve_binary(&url, &tokens, "127.0.0.1:0");
    let base = format!("http://{}", server.addr);
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let events = format!("{base}/api/v1/events");

    // Its own agents: yes. Anyone else, or no agent named: 403.
    for agent in ["deployer", "payments-db-migrator"] {
        let (status, body) =
            post(&http, &events, &fleet, &event_body(&format!("e-{agent}"), -0.1, agent, "deploy", "svc", "ok")).await;
        assert_eq!(status, 200, "{agent}: {body}");
    }
    let (status, body) =
        post(&http, &events, &fleet, &event_body("e-x", -0.1, "billing-bot", "deploy", "svc", "ok")).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("AGENT_NOT_ALLOWED")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("billing-bot"), "{body}");
    let mut unnamed = event_body("e-anon", -0.1, "deployer", "deploy", "svc", "ok");
    unnamed.as_object_mut().unwrap().remove("agent_id");
    for key in ["actor_type", "origin_system_id"] {
        unnamed.as_object_mut().unwrap().remove(key);
    }
    assert_eq!(post(&http, &events, &fleet, &unnamed).await.0, 403, "a bound token names its agent");
    // One foreign event refuses the whole batch: nothing is stored in its name.
    let batch = json!([
        event_body("b-1", -0.1, "deployer", "deploy", "svc", "ok"),
        event_body("b-2", -0.1, "billing-bot", "deploy", "svc", "ok"),
    ]);
    let (status, body) = post(&http, &events, &fleet, &batch).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["message"].as_str().unwrap().starts_with("events[1]"), "{body}");

    // Runs: created only for its agents, completed only for its agents.
    let mut run = run_body();
    run["agent_id"] = "billing-bot".into();
    assert_eq!(post(&http, &format!("{base}/api/v1/runs"), &fleet, &run).await.0, 403);
    let (status, other) = post(&http, &format!("{base}/api/v1/runs"), &open, &run).await;
    assert_eq!(status, 201, "an unbound token acts for any agent: {other}");
    let complete = format!("{base}/api/v1/runs/{}/complete", other["run_id"].as_str().unwrap());
    let (status, body) = post(&http, &complete, &fleet, &json!({"status": "succeeded"})).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("AGENT_NOT_ALLOWED")), "{body}");
    run["agent_id"] = "deployer".into();
    let (status, mine) = post(&http, &format!("{base}/api/v1/runs"), &fleet, &run).await;
    assert_eq!(status, 201, "{mine}");
    let complete = format!("{base}/api/v1/runs/{}/complete", mine["run_id"].as_str().unwrap());
    assert_eq!(post(&http, &complete, &fleet, &json!({"status": "succeeded"})).await.0, 200);

    // Rotation: both work; after revoke --previous only the new one, with
    // no signal sent to the server.
    let rotated = token(&["rotate", "--name", "fleet"], &tokens);
    assert_ne!(rotated, fleet);
    until_status(&http, &base, &rotated, 200).await;
    until_status(&http, &base, &fleet, 200).await;
    let (status, _) =
        post(&http, &events, &rotated, &event_body("r-1", -0.1, "billing-bot", "deploy", "svc", "ok")).await;
    assert_eq!(status, 403, "the new token is bound to the same agents");
    token(&["revoke", "--name", "fleet", "--previous"], &tokens);
    let took = until_status(&http, &base, &fleet, 401).await;
    println!("the previous token was refused {took:?} after revoke --previous");
    until_status(&http, &base, &rotated, 200).await;
    token(&["revoke", "--name", "fleet"], &tokens);
    until_status(&http, &base, &rotated, 401).await;
    server.stop();
}
