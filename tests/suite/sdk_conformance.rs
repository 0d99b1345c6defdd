//! One conformance suite for the three SDKs (`sdks/conformance`): the
//! attribution cases, and the behaviour cases against a real `mandate
//! serve` reached through a relay this test cuts (server down) and restores
//! (up). The Rust SDK runs them here; the Python SDK runs them installed
//! with pip into a fresh virtual environment, the TypeScript one installed
//! with npm, each as its users run it. Adding a case makes all three run it.

use crate::common::{self, ADMIN, AGENT, Db};
use mandate::attribution::{AttributionContext, Enforcer};
use mandate::sdk::{Action, Agent, AgentOptions, Client, OutOfContact, Refusal};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

fn cases(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("sdks/conformance").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// A TCP relay in front of the server, in one of four states the test sets
/// with `GET /up`, `/down`, `/unavailable` or `/garbage` on its control
/// address: relaying; closing every connection it holds and refusing new
/// ones, as a server that went away; answering every request `503` with
/// `Retry-After: 1`; answering every request `200` with what is not JSON.
struct Relay {
    url: String,
    control: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relaying {
    Up,
    Down,
    Unavailable,
    Garbage,
}

impl Relay {
    async fn start(target: std::net::SocketAddr) -> Relay {
        let (state, _) = watch::channel(Relaying::Up);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let relaying = state.subscribe();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mut now = relaying.clone();
                let mode = *now.borrow_and_update();
                tokio::spawn(async move {
                    let mut client = client;
                    match mode {
                        Relaying::Down => {}
                        Relaying::Unavailable | Relaying::Garbage => {
                            let _ = read_head(&mut client).await;
                            let answer: &[u8] = if mode == Relaying::Unavailable {
                                b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\ncontent-type: application/json\r\ncontent-length: 68\r\nconnection: close\r\n\r\n{\"error_type\":\"internal\",\"code\":\"DATABASE_UNAVAILABLE\",\"message\":\"\"}"
                            } else {
                                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 9\r\nconnection: close\r\n\r\nnot json!"
                            };
                            let _ = client.write_all(answer).await;
                            let _ = client.shutdown().await;
                        }
                        Relaying::Up => {
                            let Ok(mut server) = TcpStream::connect(target).await else { return };
                            tokio::select! {
                                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                                _ = now.wait_for(|m| *m != Relaying::Up) => {}
                            }
                        }
                    }
                });
            }
        });
        let control = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let control_url = format!("http://{}", control.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = control.accept().await {
                let line = read_head(&mut socket).await;
                let mode = match line.split_whitespace().nth(1) {
                    Some("/down") => Relaying::Down,
                    Some("/unavailable") => Relaying::Unavailable,
                    Some("/garbage") => Relaying::Garbage,
                    _ => Relaying::Up,
                };
                let _ = state.send(mode);
                let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
            }
        });
        Relay { url, control: control_url }
    }
}

/// Reads a request's head (to its blank line); its first line.
async fn read_head(socket: &mut TcpStream) -> String {
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    String::from_utf8_lossy(&request).lines().next().unwrap_or_default().to_owned()
}

/// A server on SQLite, its relay, and the database to count what it stored.
struct Served {
    server: mandate::server::RunningServer,
    relay: Relay,
    database: String,
    _guard: common::StoreGuard,
}

async fn served() -> Served {
    let guard = common::store(Db::Sqlite).await;
    let server =
        mandate::server::start(guard.store.clone(), common::tokens(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let address = server.url().trim_start_matches("http://").parse().unwrap();
    let relay = Relay::start(address).await;
    Served { server, relay, database: guard.url.clone(), _guard: guard }
}

impl Served {
    /// Runs an SDK's conformance runner over every case against this server
    /// and its relay: each says ok, and the database holds what it should.
    async fn run_every_case(&self, sdk: &str, mut runner: Command) {
        runner
            .arg("all")
            .env("MANDATE_URL", &self.relay.url)
            .env("MANDATE_SERVER_URL", self.server.url())
            .env("MANDATE_TOKEN", AGENT)
            .env("MANDATE_ADMIN_TOKEN", ADMIN)
            .env("MANDATE_RELAY_CONTROL", &self.relay.control)
            .env("MANDATE_CONFORMANCE", repo().join("sdks/conformance"));
        let out = run(runner).await;
        reported(sdk, &out, case_count("attribution") + case_count("behaviour"));
        self.check_stored(sdk).await;
    }

    /// Every case's last `stored` step, held to the events the database
    /// holds for that case's agent of `sdk`.
    async fn check_stored(&self, sdk: &str) {
        let pool = sqlx::AnyPool::connect(&self.database).await.unwrap();
        for case in cases("behaviour.json")["cases"].as_array().unwrap() {
            let steps = case["steps"].as_array().unwrap();
            let Some(agent) = steps.iter().find_map(|s| s["start"]["agent"].as_str()) else { continue };
            let Some(wanted) = steps.iter().rev().find_map(|s| s["stored"]["events"].as_i64()) else { continue };
            let agent = format!("{sdk}-{agent}");
            let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE agent_id = $1")
                .bind(agent.clone())
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(stored, wanted, "{sdk}: {}: events stored for {agent}, each once", case["name"]);
            if let Some(message) = steps.iter().rev().find_map(|s| s["stored"]["error_message"].as_str()) {
                let kept: Option<String> =
                    sqlx::query_scalar("SELECT error_message FROM events WHERE agent_id = $1 AND outcome = 'error'")
                        .bind(agent.clone())
                        .fetch_optional(&pool)
                        .await
                        .unwrap()
                        .flatten();
                assert_eq!(kept.as_deref(), Some(message), "{sdk}: {}: kept as data, byte for byte", case["name"]);
            }
            let approvals = steps.iter().rev().find_map(|s| s["stored"]["approvals"].as_object());
            for (status, wanted) in approvals.into_iter().flatten() {
                let have: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM approvals WHERE agent_id = $1 AND status = $2")
                        .bind(agent.clone())
                        .bind(status.clone())
                        .fetch_one(&pool)
                        .await
                        .unwrap();
                assert_eq!(Some(have), wanted.as_i64(), "{sdk}: {}: approval requests {status}", case["name"]);
            }
        }
        pool.close().await;
        // The agents screen says which SDK each agent runs, from its polls.
        let http = mandate::sdk::http_client_builder().build().unwrap();
        let url = format!("{}/api/v1/agents", self.server.url());
        let agents: Value = http.get(url).bearer_auth(ADMIN).send().await.unwrap().json().await.unwrap();
        let stopper = agents.as_array().unwrap().iter().find(|a| a["agent_id"] == format!("{sdk}-stopper")).unwrap();
        let said = stopper["sdk"].as_str().unwrap_or_default();
        assert!(said.starts_with(&format!("{sdk} ")), "{sdk}: the agent's SDK is said as {said:?}");
    }
}

// ---------------------------------------------------------------------------
// The Rust SDK

#[test]
fn the_rust_sdk_meets_every_attribution_case() {
    let cases = cases("attribution.json");
    for case in cases["validate"].as_array().unwrap() {
        let got: Vec<Value> = mandate::attribution::validate(&context(&case["context"]))
            .iter()
            .map(|e| json!({ "code": e.code.as_str(), "field": e.field, "message": e.message }))
            .collect();
        assert_eq!(Value::Array(got), case["errors"], "validate: {}", case["name"]);
    }
    for case in cases["enforcement"].as_array().unwrap() {
        let env = &case["env"];
        let enforcer = Enforcer::from_vars(
            env["AOS_ATTRIBUTION_ENFORCEMENT"].as_str(),
            env["AOS_ALLOW_ATTRIBUTION_LEGACY"].as_str(),
        );
        let got = match enforcer.enforce(&context(&case["context"])) {
            Ok(tolerated) => json!({
                "outcome": "accepted",
                "tolerated": tolerated.iter().map(|e| e.code.as_str()).collect::<Vec<_>>(),
                "override_used": !tolerated.is_empty() && enforcer.mode == mandate::attribution::EnforcementMode::Soft,
            }),
            Err(e) => {
                assert_eq!(e.to_string(), format!("[{}] {}", e.code, e.message), "{}", case["name"]);
                json!({ "outcome": "rejected", "code": e.code.as_str() })
            }
        };
        assert_eq!(got, case["expect"], "enforcement: {}", case["name"]);
    }
}

fn context(raw: &Value) -> AttributionContext {
    let text = |f: &str| raw[f].as_str().map(str::to_owned);
    AttributionContext {
        agent_id: text("agent_id"),
        actor_type: text("actor_type"),
        origin_system_id: text("origin_system_id"),
        actor_id: text("actor_id"),
        origin_ts: None,
        origin_ip: None,
    }
}

/// One behaviour case's steps, run by the Rust SDK.
struct Run<'a> {
    served: &'a Served,
    http: reqwest::Client,
    agent: Option<Agent>,
    name: String,
}

impl Run<'_> {
    fn fill(&self, text: &str) -> String {
        text.replace("{agent}", &self.name).replace("{sdk}", "rust")
    }

    async fn until(&self, within: &Value, what: &str, ok: impl Fn(&Self) -> bool) -> Result<(), String> {
        let within = within.as_u64().unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(within);
        while !ok(self) {
            if tokio::time::Instant::now() > deadline {
                return Err(format!("{what} not within {within} ms"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    async fn step(&mut self, step: &Value) -> Result<(), String> {
        let (kind, arg) = step.as_object().unwrap().iter().next().unwrap();
        match kind.as_str() {
            "start" => {
                self.name = format!("rust-{}", arg["agent"].as_str().unwrap());
                let out_of_contact = match &arg["out_of_contact"] {
                    Value::Object(o) => {
                        OutOfContact::RefuseAfter(Duration::from_millis(o["refuse_after_ms"].as_u64().unwrap()))
                    }
                    _ => OutOfContact::KeepActing,
                };
                let buffer = arg["buffer"].as_u64().map_or(10_000, |b| b as usize);
                let client = Client::new(&self.served.relay.url, AGENT).unwrap();
                let attribution = AttributionContext::system(&self.name, "conformance");
                let options = AgentOptions { out_of_contact, buffer };
                self.agent = Some(Agent::start_with(&client, attribution, options).map_err(|e| e.to_string())?);
            }
            "call" => {
                let agent = self.agent.as_ref().unwrap();
                let mut action =
                    Action::tool_call(arg["tool"].as_str().unwrap(), arg["resource"].as_str().unwrap_or(""));
                if let Some(t) = arg["action_type"].as_str() {
                    action = action.of_type(t);
                }
                if let Some(summary) = arg["summary"].as_str() {
                    action = action.described(summary);
                }
                let operator = arg.get("operator_decides").map(|d| {
                    let (server, name, decision) = (self.served.server.url(), self.name.clone(), d.clone());
                    tokio::spawn(crate::sdk_conformance::decide_when_asked(server, name, decision))
                });
                for n in 1..=arg["times"].as_u64().unwrap_or(1) {
                    let ran = std::cell::Cell::new(false);
                    let fails = arg["fails_with"].as_str().map(str::to_owned);
                    let (got, refusal) = match agent
                        .act(&action, async {
                            ran.set(true);
                            match &fails {
                                Some(message) => Err(message.clone()),
                                None => Ok(()),
                            }
                        })
                        .await
                    {
                        Ok(Ok(())) => ("ran", None),
                        Ok(Err(e)) if Some(&e) == fails.as_ref() => ("failed", None),
                        Ok(Err(e)) => return Err(format!("call {n}: the tool's error came back as {e:?}")),
                        Err(r @ Refusal::Stopped { .. }) => ("stopped", Some(r)),
                        Err(r @ Refusal::OutOfContact { .. }) => ("out_of_contact", Some(r)),
                        Err(r @ Refusal::ToolDisabled { .. }) => ("tool_disabled", Some(r)),
                        Err(r @ Refusal::Denied { .. }) => ("denied", Some(r)),
                        Err(r @ Refusal::ApprovalTimedOut { .. }) => ("timed_out", Some(r)),
                        Err(r @ Refusal::ApprovalUnavailable { .. }) => ("unavailable", Some(r)),
                    };
                    if got != arg["expect"] {
                        return Err(format!("call {n}: {got} ({refusal:?}), not {}", arg["expect"]));
                    }
                    if matches!(got, "ran" | "failed") != ran.get() {
                        return Err(format!("call {n}: ran {} but {got}", ran.get()));
                    }
                    if let Some(Refusal::Stopped { stop, .. }) = &refusal {
                        let have = serde_json::to_value(stop).unwrap();
                        for (field, wanted) in arg["stop"].as_object().into_iter().flatten() {
                            let wanted = self.fill(wanted.as_str().unwrap());
                            if have[field] != wanted.as_str() {
                                return Err(format!("the stop's {field} is {}, not {wanted}", have[field]));
                            }
                        }
                    }
                    if let (Some(starts), Some(r)) = (arg["message_starts_with"].as_str(), &refusal)
                        && !r.to_string().starts_with(&self.fill(starts))
                    {
                        return Err(format!("the refusal reads {r}"));
                    }
                    if let (Some(ends), Some(r)) = (arg["message_ends_with"].as_str(), &refusal)
                        && !r.to_string().ends_with(&self.fill(ends))
                    {
                        return Err(format!("the refusal reads {r}"));
                    }
                }
                if let Some(operator) = operator {
                    operator.await.unwrap()?;
                }
            }
            "operator" if arg.get("critical_point").is_some() => {
                let point: Value = serde_json::from_str(&self.fill(&arg["critical_point"].to_string())).unwrap();
                put_critical_point(&self.served.server.url(), &point).await?;
            }
            "operator" => {
                let who = json!({"actor_type": "HUMAN", "actor_id": "root-admin", "agent_id": "conformance", "origin_system_id": "conformance"});
                let (path, scope) = match arg["stop"].as_str() {
                    Some(scope) => ("/api/v1/stops", scope),
                    None => ("/api/v1/stops/lift", arg["lift"].as_str().unwrap()),
                };
                let mut body = json!({"scope": scope, "target": self.fill(arg["target"].as_str().unwrap())});
                body.as_object_mut().unwrap().extend(who.as_object().unwrap().clone());
                if let Some(reason) = arg["reason"].as_str() {
                    body["reason"] = reason.into();
                }
                let url = format!("{}{path}", self.served.server.url());
                let answer = self.http.post(url).bearer_auth(ADMIN).json(&body).send().await.unwrap();
                if !answer.status().is_success() {
                    return Err(format!("{path}: {}", answer.text().await.unwrap()));
                }
            }
            "wait" if arg["until"] == "gates" => {
                let wanted = arg["action_type"].as_str().unwrap().to_owned();
                let what = format!("{} gates {wanted}", self.name);
                self.until(&arg["within_ms"], &what, |r| {
                    let state = r.agent.as_ref().unwrap().control().state();
                    state.is_some_and(|s| s.gates.contains(&wanted))
                })
                .await?;
            }
            "wait" => {
                let allowed = arg["until"] == "allowed";
                let what = format!("{} {}", self.name, arg["until"]);
                let probe = Action::tool_call("probe", "");
                self.until(&arg["within_ms"], &what, |r| r.agent.as_ref().unwrap().peek(&probe).is_none() == allowed)
                    .await?;
            }
            "server" => {
                let url = format!("{}/{}", self.served.relay.control, arg.as_str().unwrap());
                self.http.get(url).send().await.unwrap();
            }
            "sleep" => tokio::time::sleep(Duration::from_millis(arg.as_u64().unwrap())).await,
            "flush" => {
                let recorder = self.agent.as_ref().unwrap().recorder();
                if !recorder.flush(Duration::from_millis(arg["within_ms"].as_u64().unwrap())).await {
                    return Err(format!("not flushed in time: {:?}", recorder.counts()));
                }
            }
            "counts" => {
                let c = self.agent.as_ref().unwrap().recorder().counts();
                let have = |f: &str| {
                    use std::sync::atomic::Ordering::Relaxed;
                    match f {
                        "queued" => c.queued.load(Relaxed),
                        "sent" => c.sent.load(Relaxed),
                        "rejected" => c.rejected.load(Relaxed),
                        "dropped" => c.dropped.load(Relaxed),
                        _ => c.batches.load(Relaxed),
                    }
                };
                for (field, wanted) in arg.as_object().unwrap() {
                    if Some(have(field)) != wanted.as_u64() {
                        return Err(format!("{field} is {}, not {wanted}: {c:?}", have(field)));
                    }
                }
            }
            "server_says" => {
                let at_least = arg["refused_attempts_at_least"].as_i64().unwrap();
                let deadline = tokio::time::Instant::now() + Duration::from_millis(arg["within_ms"].as_u64().unwrap());
                loop {
                    let url = format!("{}/api/v1/agents", self.served.server.url());
                    let agents: Value =
                        self.http.get(url).bearer_auth(ADMIN).send().await.unwrap().json().await.unwrap();
                    let mine = agents.as_array().unwrap().iter().find(|a| a["agent_id"] == self.name.as_str());
                    if mine.is_some_and(|a| a["refused_attempts"].as_i64().unwrap_or(0) >= at_least) {
                        break;
                    }
                    if tokio::time::Instant::now() > deadline {
                        return Err(format!("the server did not count {at_least} refusals: {mine:?}"));
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            "run" => {
                let options = mandate::sdk::RunOptions::new("conformance", mandate::api::RiskLevel::Low);
                if arg["expect"] == "rejected" {
                    // Pointed at nothing: a request sent would fail to connect.
                    let nowhere = Client::new("http://127.0.0.1:9", AGENT).unwrap();
                    let ctx = context(&serde_json::from_str(&self.fill(&arg["context"].to_string())).unwrap());
                    match nowhere.create_run("conformance", ctx, options).await {
                        Err(mandate::sdk::SdkError::Attribution(e)) if arg["code"] == e.code.as_str() => {}
                        other => return Err(format!("an invalid run: {other:?}")),
                    }
                } else {
                    let client = Client::new(&self.served.relay.url, AGENT).unwrap();
                    let name = format!("rust-{}", arg["agent"].as_str().unwrap());
                    let ctx = AttributionContext::system(&name, "conformance");
                    let run = client.create_run("conformance", ctx, options).await.map_err(|e| e.to_string())?;
                    let status = arg["complete"].as_str().unwrap();
                    let status = mandate::api::RunStatus::parse(status).unwrap();
                    let done = client.complete_run(&run.run_id, status).await.map_err(|e| e.to_string())?;
                    if done.status != status {
                        return Err(format!("the run completed as {}", done.status));
                    }
                }
            }
            "stored" => {} // counted in the database once the case is done
            other => return Err(format!("no step {other:?}")),
        }
        Ok(())
    }
}

/// A person (`root-admin`) decides the approval request agent `agent`
/// waits on, as soon as it appears, with the digest of what they read.
pub(crate) async fn decide_when_asked(server: String, agent: String, decision: Value) -> Result<(), String> {
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let waiting = loop {
        let list: Value = http
            .get(format!("{server}/api/v1/approvals"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let found = list["approvals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["agent_id"] == agent.as_str() && a["status"] == "waiting")
            .cloned();
        if let Some(found) = found {
            break found;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("no approval request from {agent} came to decide"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let body = json!({
        "decision": decision["decision"], "reason": decision["reason"], "digest": waiting["digest"], "confirm": true,
        "actor_type": "HUMAN", "actor_id": "root-admin", "agent_id": "conformance", "origin_system_id": "conformance",
    });
    let url = format!("{server}/api/v1/approvals/{}/decision", waiting["id"]);
    let answer = http.post(url).bearer_auth(ADMIN).json(&body).send().await.map_err(|e| e.to_string())?;
    match answer.status().is_success() {
        true => Ok(()),
        false => Err(format!("deciding: {}", answer.text().await.unwrap_or_default())),
    }
}

/// Puts `point` in the server's routing, replacing one of the same name.
pub(crate) async fn put_critical_point(server: &str, point: &Value) -> Result<(), String> {
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let url = format!("{server}/api/v1/routing");
    let mut routing: Value = http.get(&url).bearer_auth(ADMIN).send().await.unwrap().json().await.unwrap();
    let mut points: Vec<Value> = routing["critical_point"].as_array().cloned().unwrap_or_default();
    points.retain(|p| p["name"] != point["name"]);
    points.push(point.clone());
    routing["critical_point"] = Value::Array(points);
    let answer = http.put(&url).bearer_auth(ADMIN).json(&routing).send().await.unwrap();
    match answer.status().is_success() {
        true => Ok(()),
        false => Err(format!("routing: {}", answer.text().await.unwrap_or_default())),
    }
}

#[tokio::test]
async fn the_rust_sdk_meets_every_behaviour_case() {
    let served = served().await;
    let mut failures = Vec::new();
    for case in cases("behaviour.json")["cases"].as_array().unwrap() {
        let mut run = Run {
            served: &served,
            http: mandate::sdk::http_client_builder().build().unwrap(),
            agent: None,
            name: String::new(),
        };
        for step in case["steps"].as_array().unwrap() {
            if let Err(e) = run.step(step).await {
                failures.push(format!("{}: {e}", case["name"]));
                break;
            }
        }
        if let Some(agent) = run.agent.take() {
            agent.recorder().flush(Duration::from_millis(500)).await;
        }
        mandate::sdk::http_client_builder()
            .build()
            .unwrap()
            .get(format!("{}/up", served.relay.control))
            .send()
            .await
            .unwrap();
    }
    assert!(failures.is_empty(), "{failures:#?}");
    served.check_stored("rust").await;
}

// ---------------------------------------------------------------------------
// The Python SDK, installed as its users install it

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A stamp of the files under `dir` (names, sizes, modification times):
/// what is installed is installed again only when they changed.
fn stamp(dir: &Path) -> String {
    fn walk(dir: &Path, into: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).into_iter().flatten().flatten().collect();
        entries.sort_by_key(|e| e.path());
        for entry in entries {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if matches!(name.as_str(), "node_modules" | "dist" | "build" | "__pycache__") || name.ends_with(".egg-info")
            {
                continue;
            }
            match entry.metadata() {
                Ok(m) if m.is_dir() => walk(&path, into),
                Ok(m) => into.push(format!("{} {} {:?}", path.display(), m.len(), m.modified().ok())),
                Err(_) => {}
            }
        }
    }
    let mut lines = Vec::new();
    walk(dir, &mut lines);
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(lines.join("\n").as_bytes()))
}

/// Runs `script` with `sh`, holding `lock` (a file under target/): test
/// processes run side by side, and only one at a time may install.
async fn locked(lock: &str, script: &str, envs: &[(&str, String)]) {
    let mut command = Command::new("flock");
    command.arg(repo().join("target").join(lock)).args(["sh", "-ec", script]).current_dir(repo());
    for (k, v) in envs {
        command.env(k, v);
    }
    std::fs::create_dir_all(repo().join("target")).unwrap();
    run(command).await;
}

/// A virtual environment under target/ with the SDK installed by pip from
/// sdks/python (again whenever its files changed), mypy for its strict type
/// check, and LangChain's core for the example.
pub(crate) async fn python() -> PathBuf {
    static READY: tokio::sync::OnceCell<PathBuf> = tokio::sync::OnceCell::const_new();
    READY
        .get_or_init(|| async {
            let script = r#"
                venv=target/sdk-venv
                [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
                pip() { "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"; }
                "$venv/bin/python" -c 'import mypy, langchain_core' 2>/dev/null || pip 'mypy>=1.8' 'langchain-core>=0.3'
                if [ "$(cat "$venv/.sdk-stamp" 2>/dev/null)" != "$STAMP" ]; then
                    pip --force-reinstall --no-deps ./sdks/python
                    echo "$STAMP" > "$venv/.sdk-stamp"
                fi
            "#;
            locked("sdk-venv.lock", script, &[("STAMP", stamp(&repo().join("sdks/python")))]).await;
            repo().join("target/sdk-venv/bin/python")
        })
        .await
        .clone()
}

/// Runs `command` off the test's runtime, which keeps serving meanwhile.
pub(crate) async fn run(mut command: Command) -> std::process::Output {
    let shown = format!("{command:?}");
    let out =
        tokio::task::spawn_blocking(move || command.output()).await.unwrap().unwrap_or_else(|e| panic!("{shown}: {e}"));
    assert!(
        out.status.success(),
        "{shown} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A runner's report: every case said ok, none failed.
fn reported(sdk: &str, out: &std::process::Output, cases: usize) {
    let text = String::from_utf8_lossy(&out.stdout);
    let oks = text.lines().filter(|l| l.starts_with("ok ")).count();
    assert!(
        out.status.success() && oks == cases,
        "{sdk}: {oks} of {cases} cases ok\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn case_count(which: &str) -> usize {
    match which {
        "attribution" => {
            let c = cases("attribution.json");
            c["validate"].as_array().unwrap().len() + c["enforcement"].as_array().unwrap().len()
        }
        _ => cases("behaviour.json")["cases"].as_array().unwrap().len(),
    }
}

#[tokio::test]
async fn the_python_sdk_meets_every_case_installed_by_pip() {
    if common::skip_without("python3", which("python3"), "the_python_sdk_meets_every_case_installed_by_pip") {
        return;
    }
    let python = python().await;
    let served = served().await;
    let mut runner = Command::new(&python);
    runner.arg(repo().join("sdks/python/tests/conformance.py")).current_dir(std::env::temp_dir());
    served.run_every_case("python", runner).await;
}

#[tokio::test]
async fn the_python_sdk_is_clean_under_a_strict_type_checker() {
    if common::skip_without("python3", which("python3"), "the_python_sdk_is_clean_under_a_strict_type_checker") {
        return;
    }
    let python = python().await;
    let mut mypy = Command::new(&python);
    mypy.args(["-m", "mypy", "--strict", "--python-version", "3.10", "--no-incremental"])
        .arg(repo().join("sdks/python/src/mandate"));
    run(mypy).await;
}

pub(crate) fn which(tool: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

// ---------------------------------------------------------------------------
// The TypeScript SDK, installed as its users install it

/// The SDK built (`npm ci` runs its `prepare`: `tsc` under `strict`), then
/// installed with npm into a fresh project under target/, which runs the
/// conformance runner as any user's code would (`import "@mandate/sdk"`).
pub(crate) async fn node_project() -> PathBuf {
    static READY: tokio::sync::OnceCell<PathBuf> = tokio::sync::OnceCell::const_new();
    READY
        .get_or_init(|| async {
            let script = r#"
                project=target/sdk-node-project
                if [ "$(cat "$project/.sdk-stamp" 2>/dev/null)" != "$STAMP" ]; then
                    (cd sdks/typescript && npm ci --no-audit --no-fund)
                    rm -rf "$project" && mkdir -p "$project"
                    echo '{"name": "agent", "private": true, "type": "module"}' > "$project/package.json"
                    (cd "$project" && npm install --no-audit --no-fund ../../sdks/typescript)
                    echo "$STAMP" > "$project/.sdk-stamp"
                fi
                cp sdks/typescript/test/conformance.mjs "$project/conformance.mjs"
            "#;
            locked("sdk-node.lock", script, &[("STAMP", stamp(&repo().join("sdks/typescript")))]).await;
            repo().join("target/sdk-node-project")
        })
        .await
        .clone()
}

#[tokio::test]
async fn the_typescript_sdk_meets_every_case_installed_by_npm() {
    let test = "the_typescript_sdk_meets_every_case_installed_by_npm";
    if common::skip_without("node and npm", which("node") && which("npm"), test) {
        return;
    }
    let project = node_project().await;
    let served = served().await;
    let mut runner = Command::new("node");
    runner.arg("conformance.mjs").current_dir(&project);
    served.run_every_case("typescript", runner).await;
}

// ---------------------------------------------------------------------------
// Where agents run: a framework's tools, wrapped, obey a stop

/// Stops `agent` as root-admin, on `served`'s server.
async fn stop_agent(served: &Served, agent: &str) {
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let body = json!({"scope": "agent", "target": agent, "reason": "the example's stop",
        "actor_type": "HUMAN", "actor_id": "root-admin", "agent_id": "conformance", "origin_system_id": "conformance"});
    let answer =
        http.post(format!("{}/api/v1/stops", served.server.url())).bearer_auth(ADMIN).json(&body).send().await.unwrap();
    assert!(answer.status().is_success(), "{}", answer.text().await.unwrap());
}

/// Runs an example twice against a real server: its tools run and are
/// recorded; once the agent is stopped, they are refused, saying who stopped it.
async fn example_obeys_a_stop(served: &Served, agent: &str, command: impl Fn() -> Command) {
    let said = |out: std::process::Output| String::from_utf8_lossy(&out.stdout).into_owned();
    let first = said(run(command()).await);
    assert!(first.contains("pool restarted with 20 connections") && first.contains("recorded 2 tool calls"), "{first}");
    stop_agent(served, agent).await;
    let second = said(run(command()).await);
    let refused = format!("refused: agent {agent} is stopped (agent {agent}) by root-admin");
    assert!(second.contains(&refused) && !second.contains("pool restarted"), "{second}");
    assert!(second.contains("recorded 0 tool calls"), "{second}");
}

#[tokio::test]
async fn a_langchain_agents_tools_obey_a_stop() {
    if common::skip_without("python3", which("python3"), "a_langchain_agents_tools_obey_a_stop") {
        return;
    }
    let python = python().await;
    let served = served().await;
    let command = || {
        let mut c = Command::new(&python);
        c.arg(repo().join("sdks/python/examples/langchain_tools.py"))
            .arg("python-langchain")
            .env("MANDATE_URL", served.server.url())
            .env("MANDATE_TOKEN", AGENT);
        c
    };
    example_obeys_a_stop(&served, "python-langchain", command).await;
}

#[tokio::test]
async fn an_ai_sdk_agents_tools_obey_a_stop() {
    let test = "an_ai_sdk_agents_tools_obey_a_stop";
    if common::skip_without("node and npm", which("node") && which("npm"), test) {
        return;
    }
    node_project().await; // the SDK built
    let example = repo().join("target/sdk-ai-sdk-example");
    let _ = std::fs::remove_dir_all(&example);
    std::fs::create_dir_all(&example).unwrap();
    let source = repo().join("sdks/typescript/examples/ai-sdk");
    let manifest = std::fs::read_to_string(source.join("package.json"))
        .unwrap()
        .replace("\"file:../..\"", &format!("\"file:{}\"", repo().join("sdks/typescript").display()));
    std::fs::write(example.join("package.json"), manifest).unwrap();
    std::fs::copy(source.join("tools.mjs"), example.join("tools.mjs")).unwrap();
    let mut install = Command::new("npm");
    install.args(["install", "--no-audit", "--no-fund"]).current_dir(&example);
    run(install).await;
    let served = served().await;
    let command = || {
        let mut c = Command::new("node");
        c.arg("tools.mjs")
            .arg("typescript-ai-sdk")
            .current_dir(&example)
            .env("MANDATE_URL", served.server.url())
            .env("MANDATE_TOKEN", AGENT);
        c
    };
    example_obeys_a_stop(&served, "typescript-ai-sdk", command).await;
}

/// Python 3.9, the floor the SDK states, where this machine has it (on PATH
/// as python3.9, or a pyenv install): every case, the SDK from its source.
#[tokio::test]
async fn the_python_sdk_meets_every_case_on_its_floor() {
    let home = std::env::var("HOME").unwrap_or_default();
    let pyenv = std::fs::read_dir(Path::new(&home).join(".pyenv/versions"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin/python3.9"))
        .find(|p| p.exists());
    let floor = match (which("python3.9"), pyenv) {
        (true, _) => PathBuf::from("python3.9"),
        (false, Some(p)) => p,
        (false, None) => {
            eprintln!("NOT TESTED: no Python 3.9 on this machine; the SDK's floor is tested where one is");
            return;
        }
    };
    let served = served().await;
    let mut runner = Command::new(&floor);
    runner
        .arg(repo().join("sdks/python/tests/conformance.py"))
        .env("PYTHONPATH", repo().join("sdks/python/src"))
        .env("PYENV_VERSION", "3.9")
        .current_dir(std::env::temp_dir());
    // Its agents are named as the installed SDK's: one server each.
    served.run_every_case("python", runner).await;
}
