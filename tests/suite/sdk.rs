//! The Rust SDK: validation before any network call, and the three
//! convenience constructors against a real server.

use crate::common::{self, AGENT, Db, start};
use mandate::api::{Dimension, RiskLevel, RunStatus, Topic};
use mandate::attribution::{AttributionContext, AttributionErrorCode, EnforcementMode, Enforcer};
use mandate::sdk::{Client, RunOptions, SdkError};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn options() -> RunOptions {
    RunOptions::new("anthropic", RiskLevel::Medium)
}

/// A real socket that counts every connection made to it.
async fn counting_listener() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (url, count)
}

#[tokio::test]
async fn an_invalid_run_sends_no_request_at_all() {
    let (url, connections) = counting_listener().await;
    let client = Client::new(&url, "mdt_x").unwrap().with_enforcer(Enforcer::HARD);
    let invalid = [
        AttributionContext::new("", "SYSTEM", "cron", None),
        AttributionContext::new("legacy-unknown", "SYSTEM", "cron", None),
        AttributionContext::new("a", "", "cron", None),
        AttributionContext::new("a", "BOT", "cron", None),
        AttributionContext::new("a", "HUMAN", "cron", None),
        AttributionContext::new("a", "SERVICE", "cron", Some("user-1")),
        AttributionContext::new("a", "SYSTEM", "", None),
        AttributionContext::new("a", "SYSTEM", "legacy-migration", None),
    ];
    let mut codes = Vec::new();
    for ctx in invalid {
        match client.create_run("g", ctx, options()).await {
            Err(SdkError::Attribution(e)) => codes.push(e.code),
            other => panic!("expected an attribution error, got {other:?}"),
        }
    }
    use AttributionErrorCode::*;
    assert_eq!(
        codes,
        [
            AgentMissing,
            AgentMissing,
            ActorTypeMissing,
            ActorTypeInvalid,
            ActorIdRequired,
            ActorIdForbidden,
            OriginSystemMissing,
            OriginSystemMissing
        ]
    );
    // Soft mode without the override rejects before sending too.
    let soft = client.clone().with_enforcer(Enforcer { mode: EnforcementMode::Soft, allow_legacy_override: false });
    assert!(matches!(soft.create_system_run("g", "", "cron", options()).await, Err(SdkError::Attribution(_))));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(connections.load(Ordering::SeqCst), 0, "no connection was made");

    // Control: a valid run does reach the socket, so the count above is meaningful.
    let _ = client.create_system_run("g", "agent-a", "cron", options()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(connections.load(Ordering::SeqCst) >= 1, "a valid run connects");
}

#[tokio::test]
async fn the_convenience_constructors_create_attributed_runs() {
    let t = start(Db::Sqlite).await;
    let client = Client::new(&t.server.url(), AGENT).unwrap().with_enforcer(Enforcer::HARD);
    let system =
        client.create_system_run("nightly report", "agent-report", "cron-scheduler-001", options()).await.unwrap();
    assert_eq!((system.actor_type.as_str(), system.actor_id.as_deref()), ("SYSTEM", None));
    assert_eq!(system.source.as_str(), "SDK");
    assert!(system.origin_ts.is_some(), "the SDK stamps origin_ts");
    let human =
        client.create_human_run("analyse", "agent-analyst", "user_12345", "customer-console", options()).await.unwrap();
    assert_eq!((human.actor_type.as_str(), human.actor_id.as_deref()), ("HUMAN", Some("user_12345")));
    let service =
        client.create_service_run("validate", "agent-validator", "payment-service-v2", options()).await.unwrap();
    assert_eq!(service.actor_type.as_str(), "SERVICE");
    let lower =
        client.create_run("g", AttributionContext::new("agent-x", "service", "o", None), options()).await.unwrap();
    assert_eq!(lower.actor_type.as_str(), "SERVICE", "sent upper-case");

    let done = client.complete_run(&system.run_id, RunStatus::Succeeded).await.unwrap();
    assert_eq!(done.status, RunStatus::Succeeded);
    assert_eq!(client.get_run(&system.run_id).await.unwrap().state.as_str(), "COMPLETED");
    assert_eq!(client.whoami().await.unwrap().name, "fleet");
    let page = client.list_runs(None, 2).await.unwrap();
    assert_eq!(page.runs.len(), 2);
    let rest = client.list_runs(page.next_cursor.as_deref(), 10).await.unwrap();
    assert_eq!(rest.runs.len(), 2);
    match client.distribution(Topic::Live, Dimension::AgentId).await {
        Err(SdkError::Api { status: 403, body }) => assert_eq!(body.code, "FORBIDDEN"),
        other => panic!("agents may not read activity: {other:?}"),
    }
    t.stop().await;
}

#[tokio::test]
async fn shadow_and_soft_override_send_and_the_api_still_rejects() {
    let t = start(Db::Sqlite).await;
    for enforcer in [
        Enforcer { mode: EnforcementMode::Shadow, allow_legacy_override: false },
        Enforcer { mode: EnforcementMode::Soft, allow_legacy_override: true },
    ] {
        let client = Client::new(&t.server.url(), AGENT).unwrap().with_enforcer(enforcer);
        match client.create_system_run("g", "legacy-unknown", "cron", options()).await {
            Err(SdkError::Api { status: 400, body }) => {
                assert_eq!(body.code, "ATTR_AGENT_MISSING");
                assert_eq!(body.error_type.as_str(), "attribution_validation");
            }
            other => panic!("{enforcer:?}: the API is always hard, got {other:?}"),
        }
    }
    // The soft-mode override is counted by the API; shadow mode is not an override.
    let stats = t.get(common::ADMIN, "/api/v1/attribution/stats").await.body;
    assert_eq!((stats["runs_rejected"].as_i64(), stats["override_use"].as_i64()), (Some(2), Some(1)));
    t.stop().await;
}

/// Waits up to 10 s for `check` to give what `wanted` accepts; how long it took.
async fn until(
    control: &mandate::sdk::Control,
    tool: Option<&str>,
    wanted: impl Fn(&Result<(), mandate::sdk::Refusal>) -> bool,
) -> Duration {
    let started = std::time::Instant::now();
    loop {
        let got = control.check(tool);
        if wanted(&got) {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "still {got:?} after 10 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// An agent's SDK hears a pause through its control subscription and
/// refuses the next action before it runs, naming who stopped it and why;
/// a disabled tool is refused alone; resuming lets it act again. All from
/// its local copy: `check` never waits on the network.
async fn a_pause_reaches_the_agents_sdk_before_its_next_action(db: Db) {
    use mandate::sdk::{Control, OutOfContact, Refusal};
    let t = start(db).await;
    let client = Client::new(&t.server.url(), AGENT).unwrap();
    let control = Control::subscribe(&client, "deployer", OutOfContact::KeepActing);
    let started = std::time::Instant::now();
    while control.state().is_none() {
        assert!(started.elapsed() < Duration::from_secs(10), "no first answer");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(control.check(Some("helm")), Ok(()), "an agent never seen may act: nothing stops it");
    let intervene = |kind: &str, extra: serde_json::Value| {
        let mut body = common::as_alice(serde_json::json!({"kind": kind, "reason": "bad deploys"}));
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let pause = intervene("pause_agent", serde_json::json!({}));
    t.post(common::RESPONDER, "/api/v1/agents/deployer/interventions", &pause).await.succeeded();
    until(&control, Some("helm"), |r| matches!(r, Err(Refusal::Stopped { .. }))).await;
    match control.check(None) {
        Err(Refusal::Stopped { agent, stop }) => {
            assert_eq!(
                (agent.as_str(), stop.by.as_str(), stop.reason.as_deref()),
                ("deployer", "alice", Some("bad deploys"))
            );
        }
        other => panic!("{other:?}"),
    }
    // The refusals are reported and counted against the stop: the agents
    // list says the stop holds.
    for _ in 0..4 {
        assert!(control.check(Some("helm")).is_err());
    }
    let started = std::time::Instant::now();
    let counted = loop {
        let agents = t.get(common::ADMIN, "/api/v1/agents").await.succeeded();
        let deployer = agents.as_array().unwrap().iter().find(|a| a["agent_id"] == "deployer").cloned();
        let refused = deployer.as_ref().and_then(|d| d["refused_attempts"].as_i64()).unwrap_or(0);
        if refused >= 6 || started.elapsed() > Duration::from_secs(10) {
            break deployer.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(counted["refused_attempts"].as_i64().unwrap() >= 6, "every refused check reported: {counted}");
    assert_eq!(counted["acted_while_stopped"], 0, "{counted}");
    let disable = intervene("disable_tool", serde_json::json!({"tool": "helm", "confirm": true}));
    t.post(common::RESPONDER, "/api/v1/agents/deployer/interventions", &disable).await.succeeded();
    let resume = intervene("resume_agent", serde_json::json!({}));
    t.post(common::RESPONDER, "/api/v1/agents/deployer/interventions", &resume).await.succeeded();
    until(&control, Some("helm"), |r| matches!(r, Err(Refusal::ToolDisabled { .. }))).await;
    assert_eq!(control.check(Some("kubectl")), Ok(()), "only the disabled tool is refused");
    assert_eq!(control.check(None), Ok(()));
    // Another agent's controls are not this one's.
    let other = Control::subscribe(&client, "config-gen", OutOfContact::KeepActing);
    while other.state().is_none() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(other.check(Some("helm")), Ok(()));
    t.stop().await;
}

/// When the server cannot be heard, the last controls known stay in force;
/// the policy decides whether actions go on meanwhile.
async fn out_of_contact_keeps_the_last_controls_and_follows_its_policy(db: Db) {
    use mandate::sdk::{Control, OutOfContact, Refusal};
    let t = start(db).await;
    let client = Client::new(&t.server.url(), AGENT).unwrap();
    let pause = common::as_alice(serde_json::json!({"kind": "pause_agent", "reason": "hold"}));
    t.post(common::RESPONDER, "/api/v1/agents/deployer/interventions", &pause).await.succeeded();
    let paused = Control::subscribe(&client, "deployer", OutOfContact::KeepActing);
    let free = Control::subscribe(&client, "config-gen", OutOfContact::KeepActing);
    let strict = Control::subscribe(&client, "cache-warmer", OutOfContact::RefuseAfter(Duration::from_millis(300)));
    until(&paused, None, |r| matches!(r, Err(Refusal::Stopped { .. }))).await;
    for c in [&free, &strict] {
        while c.state().is_none() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    t.stop().await;
    until(&strict, None, |r| matches!(r, Err(Refusal::OutOfContact { .. }))).await;
    assert!(strict.out_of_contact().is_some());
    assert_eq!(free.check(None), Ok(()), "keep acting: the seed's don't block");
    assert!(matches!(paused.check(None), Err(Refusal::Stopped { .. })), "the last stop known still holds");
}

/// Stops wider and narrower than one agent reach the SDKs they cover: a
/// prefix stop refuses deployer-eu and not config-gen; a run's stop refuses
/// that run's actions only; the refusals are counted against the stop that
/// refused them; lifting lets the agent act again.
async fn a_wider_or_narrower_stop_reaches_the_sdks_it_covers(db: Db) {
    use mandate::sdk::{Control, OutOfContact, Refusal};
    let t = start(db).await;
    let client = Client::new(&t.server.url(), AGENT).unwrap();
    let eu = Control::subscribe(&client, "deployer-eu", OutOfContact::KeepActing);
    let gen_ = Control::subscribe(&client, "config-gen", OutOfContact::KeepActing);
    for c in [&eu, &gen_] {
        while c.state().is_none() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let stop = |scope: &str, target: &str| {
        common::as_alice(serde_json::json!({"scope": scope, "target": target, "reason": "bad deploys"}))
    };
    t.post(common::RESPONDER, "/api/v1/stops", &stop("agents", "deployer-*")).await.succeeded();
    until(&eu, None, |r| matches!(r, Err(Refusal::Stopped { .. }))).await;
    match eu.check(Some("helm")) {
        Err(Refusal::Stopped { stop, .. }) => {
            assert_eq!((stop.scope_label().as_str(), stop.by.as_str()), ("agents deployer-*", "alice"));
            let said = Refusal::Stopped { agent: "deployer-eu".into(), stop: stop.clone() }.to_string();
            assert!(said.contains("agents deployer-*") && said.contains("bad deploys"), "{said}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(gen_.check(None), Ok(()), "config-gen is not covered by deployer-*");
    t.post(common::RESPONDER, "/api/v1/stops", &stop("run", "r-gen-7")).await.succeeded();
    let started = std::time::Instant::now();
    while gen_.check_run(Some("r-gen-7"), None).is_ok() {
        assert!(started.elapsed() < Duration::from_secs(10), "the run's stop never arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(gen_.check_run(Some("r-gen-8"), None), Ok(()), "another run goes on");
    assert_eq!(gen_.check(None), Ok(()), "the agent as a whole goes on");
    // Each refusal is counted against the stop that refused it.
    let started = std::time::Instant::now();
    let counted = loop {
        let stops = t.get(common::RESPONDER, "/api/v1/stops").await.succeeded();
        let count = |target: &str| {
            stops
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["target"] == target)
                .map_or(0, |s| s["refused"].as_i64().unwrap())
        };
        let counts = (count("deployer-*"), count("r-gen-7"));
        if counts.0 >= 2 && counts.1 >= 1 || started.elapsed() > Duration::from_secs(10) {
            break counts;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(counted.0 >= 2 && counted.1 >= 1, "{counted:?}");
    let lift = common::as_alice(serde_json::json!({"scope": "agents", "target": "deployer-*"}));
    t.post(common::RESPONDER, "/api/v1/stops/lift", &lift).await.succeeded();
    until(&eu, None, |r| r.is_ok()).await;
    t.stop().await;
}

/// An agent's actions are recorded without waiting and sent in batches:
/// 1,200 tool calls arrive as a handful of requests, every one stored, in
/// order of their sequence numbers; a stopped agent's action never runs,
/// and the refusal is counted on the server.
async fn an_agent_records_its_actions_in_batches_and_obeys_its_stop(db: Db) {
    use mandate::sdk::{Action, Agent, Done, OutOfContact, Refusal};
    let t = start(db).await;
    let client = Client::new(&t.server.url(), AGENT).unwrap();
    let attribution = mandate::attribution::AttributionContext::system("report-bot", "reports-cron");
    let agent = Agent::start(&client, attribution, OutOfContact::KeepActing).unwrap();
    for i in 0..1200 {
        let action = Action::tool_call("sql", "warehouse");
        let done = if i % 100 == 99 {
            Done::Failed { code: "E_TIMEOUT".into(), message: "query timed out".into() }
        } else {
            Done::Ok
        };
        assert!(agent.record(&action, &done), "queued without waiting");
    }
    assert!(agent.recorder().flush(Duration::from_secs(20)).await, "all sent");
    let counts = agent.recorder().counts();
    let n = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!((n(&counts.sent), n(&counts.rejected), n(&counts.dropped)), (1200, 0, 0));
    assert!(n(&counts.batches) <= 10, "{} requests for 1,200 events", n(&counts.batches));
    let agents = t.get(common::VIEWER, "/api/v1/agents").await.succeeded();
    let bot = agents.as_array().unwrap().iter().find(|a| a["agent_id"] == "report-bot").cloned().unwrap();
    assert!(bot["failure_rate"].as_f64().unwrap() > 0.0, "the failures were recorded: {bot}");

    // Stopped: the action does not run, its refusal is reported.
    let stop = common::as_alice(serde_json::json!({"scope": "agent", "target": "report-bot", "reason": "runaway"}));
    t.post(common::RESPONDER, "/api/v1/stops", &stop).await.succeeded();
    let ran = std::sync::atomic::AtomicUsize::new(0);
    let started = std::time::Instant::now();
    loop {
        let attempt = agent
            .act(&Action::tool_call("sql", "warehouse"), async {
                ran.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok::<(), String>(())
            })
            .await;
        if let Err(Refusal::Stopped { stop, .. }) = attempt {
            assert_eq!(stop.by, "alice");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the stop never reached the agent");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let before = ran.load(std::sync::atomic::Ordering::Relaxed);
    for _ in 0..2 {
        let attempt = agent.act(&Action::tool_call("sql", "warehouse"), async { Ok::<(), String>(()) }).await;
        assert!(attempt.is_err());
    }
    assert_eq!(ran.load(std::sync::atomic::Ordering::Relaxed), before, "a refused action never runs");
    // The actions taken after the stop was made and before the SDK heard
    // of it are on record as acted while stopped: the stop reached it late.
    assert!(agent.recorder().flush(Duration::from_secs(10)).await);
    let started = std::time::Instant::now();
    loop {
        let stops = t.get(common::VIEWER, "/api/v1/stops").await.succeeded();
        if stops[0]["refused"].as_i64() == Some(3) {
            assert_eq!(stops[0]["acted"].as_u64(), Some(before as u64), "{stops}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{stops}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    t.stop().await;
}

/// An agent whose attribution breaks the contract never starts; one whose
/// server is gone keeps acting without waiting, and when its queue is full
/// a record is refused and counted, never blocking.
#[tokio::test]
async fn an_agent_never_waits_on_a_server_that_is_gone() {
    use mandate::sdk::{Action, Agent, Done, OutOfContact, QUEUE};
    let client = Client::new("http://127.0.0.1:9", AGENT).unwrap();
    let unattributed = mandate::attribution::AttributionContext {
        actor_type: None,
        ..mandate::attribution::AttributionContext::system("x", "y")
    };
    assert!(Agent::start(&client, unattributed, OutOfContact::KeepActing).is_err(), "refused before anything is sent");
    let attribution = mandate::attribution::AttributionContext::system("report-bot", "reports-cron");
    let agent = Agent::start(&client, attribution, OutOfContact::KeepActing).unwrap();
    let action = Action::tool_call("sql", "warehouse");
    // The first batch is taken by the sender, which retries it meanwhile.
    let mut queued = 0;
    while agent.record(&action, &Done::Ok) {
        queued += 1;
        assert!(queued <= QUEUE + 2 * mandate::sdk::MAX_BATCH, "the queue is bounded");
    }
    assert!(queued >= QUEUE, "{queued}");
    assert_eq!(agent.recorder().counts().dropped.load(std::sync::atomic::Ordering::Relaxed), 1);
    assert_eq!(agent.check(&action), Ok(()), "nothing known to refuse: it keeps acting");
}

/// A control answer that is garbled (not JSON, terminal escapes) or cut
/// short: the SDK keeps the last state it knew (here, a stop), says it is
/// out of contact, and keeps asking.
#[tokio::test]
async fn a_garbled_or_truncated_control_answer_keeps_the_last_state() {
    use mandate::sdk::{Control, OutOfContact, Refusal};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let n = count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut request = [0u8; 8192];
                let _ = socket.read(&mut request).await;
                let valid = r#"{"agent_id":"deployer","stop":{"by":"alice","reason":"hold","since":"2026-01-01T00:00:00Z","scope":"agent","target":"deployer"},"stops":[],"disabled_tools":[],"tag":"t1"}"#;
                let (body, length) = match n {
                    0 => (valid.to_owned(), valid.len()),
                    // Cut short: fewer bytes than it says, then closed.
                    n if n % 2 == 1 => (valid[..40].to_owned(), valid.len()),
                    _ => {
                        let garbled = "\u{1b}[2J{not json";
                        (garbled.to_owned(), garbled.len())
                    }
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n"
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(body.as_bytes()).await;
            });
        }
    });
    let client = Client::new(&url, AGENT).unwrap();
    let control = Control::subscribe(&client, "deployer", OutOfContact::KeepActing);
    let started = std::time::Instant::now();
    while served.load(Ordering::SeqCst) < 4 {
        assert!(started.elapsed() < Duration::from_secs(20), "the SDK stopped asking");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    match control.check(None) {
        Err(Refusal::Stopped { stop, .. }) => assert_eq!(stop.by, "alice"),
        other => panic!("the last state known holds: {other:?}"),
    }
    assert!(control.out_of_contact().is_some(), "a garbled answer is not contact");
}

on_both_databases!(
    an_agent_records_its_actions_in_batches_and_obeys_its_stop,
    a_wider_or_narrower_stop_reaches_the_sdks_it_covers,
    a_pause_reaches_the_agents_sdk_before_its_next_action,
    out_of_contact_keeps_the_last_controls_and_follows_its_policy,
);
