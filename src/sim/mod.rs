//! `mandate sim`: a simulated agent fleet against any Mandate server. It
//! creates runs through the Rust SDK (SYSTEM, HUMAN and SERVICE attribution)
//! with tool-call events, and replays the seed's scenarios on a loop. Every
//! agent obeys its stops as an SDK-instrumented agent does: before each
//! action the SDK's local copy of its controls is checked, a refused action
//! is not taken (and the refusal reported), and what it does is recorded
//! through the SDK's batching queue. Only the legacy service that does not
//! use the SDK posts its run directly.
//! `--seed` makes a run reproducible; `--speed` compresses time; `--otlp`
//! sends everything as OpenTelemetry spans instead.

pub mod fleet;
mod otlp;
pub mod scenarios;

use crate::api::RunStatus;
use crate::sdk::{Client, Control, OutOfContact, Recorder, Refusal, RunOptions, SdkError};
use chrono::Utc;
use fleet::{Acting, FLEET};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use scenarios::{Scenario, Step};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Semaphore, watch};

#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// The Mandate API to drive
    #[arg(long, env = "MANDATE_API_URL", default_value = "http://127.0.0.1:7400")]
    pub api: String,
    /// A token with the agent role (mandate token create --role agent)
    #[arg(long, env = "MANDATE_SIM_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Seed for the random choices: the same seed replays the same day
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Time compression: 10 plays ten times faster
    #[arg(long, default_value_t = 1.0, value_parser = positive)]
    pub speed: f64,
    /// Background runs started per second (at speed 1; speed multiplies it)
    #[arg(long, default_value_t = 2.0, value_parser = positive)]
    pub rate: f64,
    /// Stop after this many rounds of the scenarios [default: until interrupted]
    #[arg(long)]
    pub rounds: Option<u64>,
    /// Send the fleet's runs and events as OpenTelemetry spans (OTLP/HTTP to /v1/traces) instead of the JSON API
    #[arg(long)]
    pub otlp: bool,
    /// Half the fleet (every other agent) through OTLP and the rest through the SDK: the demo shows both paths
    #[arg(skip)]
    pub mixed: bool,
    /// An admin token: the repeat-pattern scenario then approves and activates the rule its third occurrence proposed, as a platform lead would, and its fourth occurrence meets it
    #[arg(long, env = "MANDATE_SIM_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
}

fn positive(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 1000.0 => Ok(v),
        _ => Err(format!("{raw:?} is not a number above 0 and at most 1000")),
    }
}

/// What the simulator did, for its last line and for tests.
#[derive(Debug, Default)]
pub struct Report {
    pub runs_created: AtomicU64,
    pub runs_refused: AtomicU64,
    pub runs_completed: AtomicU64,
    pub events_accepted: AtomicU64,
    pub events_refused: AtomicU64,
    pub legacy_refused: AtomicU64,
    /// Actions the agents' SDKs refused before taking them: a stop, a
    /// disabled tool.
    pub actions_refused: AtomicU64,
    pub rules_adopted: AtomicU64,
    /// Why the learned rule was not adopted, when it was not.
    pub adoption_failure: parking_lot::Mutex<Option<String>>,
    pub rounds: AtomicU64,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        write!(
            f,
            "{} rounds; runs: {} created, {} completed, {} refused; events: {} accepted, {} refused; actions refused by a stop {}; legacy sentinel refused {} times; learned rules adopted {}",
            n(&self.rounds),
            n(&self.runs_created),
            n(&self.runs_completed),
            n(&self.runs_refused),
            n(&self.events_accepted),
            n(&self.events_refused),
            n(&self.actions_refused),
            n(&self.legacy_refused),
            n(&self.rules_adopted)
        )?;
        match &*self.adoption_failure.lock() {
            Some(why) => write!(f, " ({why})"),
            None => Ok(()),
        }
    }
}

struct Sim {
    args: SimArgs,
    sdk: Client,
    http: reqwest::Client,
    otlp: otlp::Exporter,
    report: Arc<Report>,
    /// The events the agents record, sent in batches.
    recorder: Recorder,
    /// Each agent's control subscription, made on its first action.
    controls: parking_lot::Mutex<std::collections::HashMap<String, Arc<Control>>>,
}

impl Sim {
    fn control(&self, agent: &str) -> Arc<Control> {
        let mut controls = self.controls.lock();
        controls
            .entry(agent.to_owned())
            .or_insert_with(|| Arc::new(Control::subscribe(&self.sdk, agent, OutOfContact::KeepActing)))
            .clone()
    }

    /// Whether `agent` may take its next action (of `run`, with `tool`), by
    /// its SDK's local copy of its controls; a refusal is counted and
    /// reported by the SDK.
    fn may_act(&self, agent: &str, run: Option<&str>, tool: Option<&str>) -> bool {
        match self.control(agent).check_run(run, tool) {
            Ok(()) => true,
            Err(refusal) => {
                self.report.actions_refused.fetch_add(1, Ordering::Relaxed);
                match &refusal {
                    Refusal::Stopped { .. } => tracing::info!(agent, "action refused: {refusal}"),
                    _ => tracing::debug!(agent, "action refused: {refusal}"),
                }
                false
            }
        }
    }

    /// Whether the agent at `index` of the fleet reports through OTLP.
    fn through_otlp(&self, index: usize) -> bool {
        self.args.otlp || (self.args.mixed && index.is_multiple_of(2))
    }
}

/// Seconds of the simulation as real time.
fn scaled(args: &SimArgs, seconds: f64) -> Duration {
    Duration::from_secs_f64((seconds / args.speed).max(0.0))
}

/// Runs until `stop` turns true or the rounds are done.
pub async fn run(args: SimArgs, mut stop: watch::Receiver<bool>) -> Result<Arc<Report>, SdkError> {
    let sdk = Client::new(&args.api, &args.token)?;
    let http = crate::sdk::http_client_builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| SdkError::Config(format!("HTTP client: {e}")))?;
    // Fail early and clearly on a wrong URL or token.
    let who = sdk.whoami().await?;
    tracing::info!(api = %args.api, principal = %who.name, role = %who.role, seed = args.seed, speed = args.speed, "simulator started");
    let otlp = otlp::Exporter::new(http.clone(), &args.api, &args.token);
    let recorder = Recorder::start(&sdk);
    let sim = Arc::new(Sim {
        args,
        sdk,
        http,
        otlp,
        report: Arc::new(Report::default()),
        recorder,
        controls: parking_lot::Mutex::default(),
    });
    // The fleet listens for its stops from the start, as agents do.
    for agent in FLEET {
        sim.control(agent.id);
    }
    let background = tokio::spawn(background(sim.clone(), stop.clone()));
    let mut rng = StdRng::seed_from_u64(sim.args.seed);
    let mut round = 0u64;
    'rounds: loop {
        for scenario in Scenario::ALL {
            // The pattern reaches its third occurrence in the first round.
            if scenario == Scenario::RepeatPattern && round > 0 {
                continue;
            }
            // Dated so that no event lies in the future: the last ones happen now.
            let at = Utc::now() - chrono::Duration::minutes(2);
            let steps = scenarios::script(scenario, sim.args.seed, round, at, &mut rng);
            tracing::info!(scenario = scenario.name(), round, "scenario");
            for step in steps {
                if *stop.borrow() {
                    break 'rounds;
                }
                match step {
                    Step::Pause(d) => {
                        if sleep_or_stop(scaled(&sim.args, d.num_milliseconds() as f64 / 1000.0), &mut stop).await {
                            break 'rounds;
                        }
                    }
                    Step::Event(body) => sim.post_event(&body).await,
                    Step::RawRun(body) => sim.post_raw_run(&body).await,
                    Step::AdoptRule { action_type } => sim.adopt_rule(action_type).await,
                }
            }
            if sleep_or_stop(scaled(&sim.args, 3.0), &mut stop).await {
                break 'rounds;
            }
        }
        round += 1;
        sim.report.rounds.store(round, Ordering::Relaxed);
        if sim.args.rounds.is_some_and(|r| round >= r) {
            break;
        }
        // Wider than the incident window, so the next round opens new incidents.
        if sleep_or_stop(scaled(&sim.args, 20.0 * 60.0), &mut stop).await {
            break;
        }
    }
    background.abort();
    let _ = background.await;
    if !sim.recorder.flush(Duration::from_secs(10)).await {
        tracing::warn!("some recorded events were not sent within 10 s of stopping");
    }
    let counts = sim.recorder.counts();
    sim.report.events_accepted.fetch_add(counts.sent.load(Ordering::Relaxed), Ordering::Relaxed);
    sim.report
        .events_refused
        .fetch_add(counts.rejected.load(Ordering::Relaxed) + counts.dropped.load(Ordering::Relaxed), Ordering::Relaxed);
    tracing::info!(report = %sim.report, "simulator stopped");
    Ok(sim.report.clone())
}

/// Sleeps; true if asked to stop meanwhile.
async fn sleep_or_stop(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => *stop.borrow(),
        changed = stop.changed() => changed.is_err() || *stop.borrow(),
    }
}

/// At most this many background runs are live at once. At 100 runs a second
/// lasting 10–150 ms each, about 8 are; the bound is what keeps a slow server
/// (or a busy machine) from being buried under a backlog of everyday runs
/// while the scenarios, the ones that matter, wait behind it: runs beyond it
/// are skipped, not queued.
const LIVE_RUNS: usize = 32;

/// The fleet's everyday work: runs through the SDK with a tool call each,
/// completed a little later. Bounded: see [`LIVE_RUNS`].
async fn background(sim: Arc<Sim>, mut stop: watch::Receiver<bool>) {
    let live = Arc::new(Semaphore::new(LIVE_RUNS));
    let mut rng = StdRng::seed_from_u64(sim.args.seed.wrapping_add(0x5eed));
    let mut n = 0u64;
    loop {
        let wait = scaled(&sim.args, 1.0 / sim.args.rate);
        if sleep_or_stop(wait, &mut stop).await {
            return;
        }
        let Ok(permit) = live.clone().try_acquire_owned() else { continue };
        let index = rng.random_range(0..FLEET.len());
        let agent = FLEET[index];
        let roll: f64 = rng.random();
        let status = match roll {
            r if r < 0.9 => RunStatus::Succeeded,
            r if r < 0.98 => RunStatus::Failed,
            _ => RunStatus::Cancelled,
        };
        let lasts = scaled(&sim.args, rng.random_range(2.0..30.0));
        n += 1;
        let event_id = format!("sim{}-bg-{n}-{}", sim.args.seed, Utc::now().timestamp_millis());
        let sim = sim.clone();
        // A stopped agent does not start: its SDK refuses before anything is sent.
        if !sim.may_act(agent.id, None, Some(agent.tool)) {
            continue;
        }
        if sim.through_otlp(index) {
            tokio::spawn(async move {
                let _permit = permit;
                sim.otlp_run(agent, status, lasts, event_id).await;
            });
            continue;
        }
        tokio::spawn(async move {
            let _permit = permit;
            let options = RunOptions::new(agent.provider, agent.risk);
            let created = match agent.acting {
                Acting::System => sim.sdk.create_system_run(agent.goal, agent.id, agent.origin, options).await,
                Acting::Human(who) => sim.sdk.create_human_run(agent.goal, agent.id, who, agent.origin, options).await,
                Acting::Service => sim.sdk.create_service_run(agent.goal, agent.id, agent.origin, options).await,
            };
            let run = match created {
                Ok(run) => run,
                Err(e) => {
                    // A paused agent is refused: that is the intervention working.
                    sim.report.runs_refused.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(agent = agent.id, error = %e, "run refused");
                    return;
                }
            };
            sim.report.runs_created.fetch_add(1, Ordering::Relaxed);
            let mut event = serde_json::json!({
                "event_id": event_id,
                "agent_id": agent.id,
                "actor_type": match agent.acting { Acting::System => "SYSTEM", Acting::Human(_) => "HUMAN", Acting::Service => "SERVICE" },
                "origin_system_id": agent.origin,
                "run_id": run.run_id,
                "action_type": "tool_call",
                "tool": agent.tool,
                "resource": agent.resource,
                "outcome": "ok",
                "occurred_at": Utc::now().to_rfc3339(),
            });
            if let Acting::Human(who) = agent.acting {
                event["actor_id"] = who.into();
            }
            // The tool call is the next action: checked again right before
            // it. Refused, the agent gives its run up.
            if !sim.may_act(agent.id, Some(&run.run_id), Some(agent.tool)) {
                let _ = sim.sdk.complete_run(&run.run_id, RunStatus::Cancelled).await;
                return;
            }
            sim.record(&event);
            tokio::time::sleep(lasts).await;
            if sim.sdk.complete_run(&run.run_id, status).await.is_ok() {
                sim.report.runs_completed.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
}

impl Sim {
    /// A background run through OTLP: reported when it ends, as a span is.
    async fn otlp_run(&self, agent: fleet::Agent, status: RunStatus, lasts: Duration, event_id: String) {
        let started = Utc::now();
        tokio::time::sleep(lasts).await;
        let (actor_type, actor_id) = match agent.acting {
            Acting::System => ("SYSTEM", None),
            Acting::Human(who) => ("HUMAN", Some(who)),
            Acting::Service => ("SERVICE", None),
        };
        let run = otlp::AgentRun {
            agent: agent.id,
            goal: agent.goal,
            provider: agent.provider,
            risk: agent.risk.as_str(),
            actor_type,
            actor_id,
            started,
            ended: Utc::now(),
            failed: status != RunStatus::Succeeded,
        };
        let tool_call = serde_json::json!({
            "event_id": event_id,
            "action_type": "tool_call",
            "tool": agent.tool,
            "resource": agent.resource,
            "outcome": "ok",
            "occurred_at": (started + chrono::Duration::milliseconds(5)).to_rfc3339(),
        });
        match self.otlp.run(&event_id, agent.origin, &run, &tool_call).await {
            Ok(answer) if answer.rejected == 0 => {
                self.report.runs_created.fetch_add(1, Ordering::Relaxed);
                self.report.runs_completed.fetch_add(1, Ordering::Relaxed);
                self.report.events_accepted.fetch_add(1, Ordering::Relaxed);
            }
            Ok(answer) => {
                self.report.runs_refused.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(agent = agent.id, why = %answer.message, "spans refused");
            }
            Err(e) => tracing::warn!(error = %e, "cannot export spans"),
        }
    }

    async fn post(&self, path: &str, body: &serde_json::Value) -> reqwest::Result<reqwest::Response> {
        let url = format!("{}{path}", self.args.api.trim_end_matches('/'));
        self.http.post(url).bearer_auth(&self.args.token).json(body).send().await
    }

    /// Approves and activates the rule proposed for `action_type`, waiting
    /// (60 s at most: a busy server works its analyses off late) for the
    /// server's background analysis to propose it.
    async fn adopt_rule(&self, action_type: &str) {
        let Some(admin) = &self.args.admin_token else {
            tracing::info!("no admin token: the rule the repeat pattern proposed stays proposed");
            return;
        };
        let api = self.args.api.trim_end_matches('/');
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let proposed = loop {
            let list: Option<crate::api::RuleList> =
                match self.http.get(format!("{api}/api/v1/rules?state=proposed")).bearer_auth(admin).send().await {
                    Ok(r) if r.status().is_success() => r.json().await.ok(),
                    _ => None,
                };
            let found =
                list.and_then(|l| l.rules.into_iter().find(|r| r.matches.action_type.as_deref() == Some(action_type)));
            if let Some(rule) = found {
                break rule;
            }
            if std::time::Instant::now() > deadline {
                tracing::warn!(action_type, "no rule was proposed for the repeat pattern");
                *self.report.adoption_failure.lock() = Some(format!("no rule proposed for {action_type} within 60 s"));
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        for (to, reason) in [
            ("approved", "the platform lead approves the rule learned from three cache stampedes"),
            ("active", "in force from now"),
        ] {
            if let Err(why) = self.move_rule(admin, proposed.id, to, reason, deadline).await {
                tracing::warn!(rule = proposed.id, to, why = %why, "the learned rule was not adopted");
                *self.report.adoption_failure.lock() = Some(format!("rule #{} not made {to}: {why}", proposed.id));
                return;
            }
        }
        self.report.rules_adopted.fetch_add(1, Ordering::Relaxed);
        tracing::info!(rule = proposed.id, name = %proposed.name, "learned rule adopted");
    }

    /// Moves rule `id` to `to`, as a careful client does: a transport
    /// failure, a 429 or a 5xx is tried again until `deadline`, and a
    /// refusal because the rule is already there (an earlier try went
    /// through unseen) is success.
    async fn move_rule(
        &self,
        admin: &str,
        id: i64,
        to: &str,
        reason: &str,
        deadline: std::time::Instant,
    ) -> Result<(), String> {
        let api = self.args.api.trim_end_matches('/');
        loop {
            let answer = self
                .http
                .post(format!("{api}/api/v1/rules/{id}/transition"))
                .bearer_auth(admin)
                .json(&serde_json::json!({ "to": to, "reason": reason }))
                .send()
                .await;
            let why = match answer {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) if r.status() == reqwest::StatusCode::CONFLICT => {
                    let list: Option<crate::api::RuleList> =
                        match self.http.get(format!("{api}/api/v1/rules")).bearer_auth(admin).send().await {
                            Ok(r) if r.status().is_success() => r.json().await.ok(),
                            _ => None,
                        };
                    let now = list.and_then(|l| l.rules.into_iter().find(|r| r.id == id)).map(|r| r.state);
                    return match now {
                        Some(state) if state.as_str() == to => Ok(()),
                        other => Err(format!("409 with the rule {}", other.map_or("gone", |s| s.as_str()))),
                    };
                }
                Ok(r) if r.status().is_server_error() || r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                    format!("{}", r.status())
                }
                Ok(r) => return Err(format!("{}: {}", r.status(), r.text().await.unwrap_or_default())),
                Err(e) => e.to_string(),
            };
            if std::time::Instant::now() > deadline {
                return Err(why);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn post_event(&self, body: &serde_json::Value) {
        let s = |key: &str| body.get(key).and_then(|v| v.as_str());
        if let Some(agent) = s("agent_id")
            && !self.may_act(agent, s("run_id"), s("tool"))
        {
            return;
        }
        if self.args.otlp {
            match self.otlp.event(body).await {
                Ok(answer) if answer.rejected == 0 => {
                    self.report.events_accepted.fetch_add(1, Ordering::Relaxed);
                }
                Ok(answer) => {
                    self.report.events_refused.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(event = %body["event_id"], why = %answer.message, "span refused");
                }
                Err(e) => tracing::warn!(error = %e, "cannot export a span"),
            }
            return;
        }
        self.record(body);
    }

    /// Queues an event the agent's SDK sends in its next batch.
    fn record(&self, body: &serde_json::Value) {
        match serde_json::from_value::<crate::api::EventBody>(body.clone()) {
            Ok(event) => {
                self.recorder.record(event);
            }
            Err(e) => {
                self.report.events_refused.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(event = %body["event_id"], "a scenario's event does not read as one: {e}");
            }
        }
    }

    /// A service that does not use the SDK posts its run directly.
    async fn post_raw_run(&self, body: &serde_json::Value) {
        if self.args.otlp {
            let s = |key: &str| body.get(key).and_then(|v| v.as_str()).unwrap_or("");
            let now = Utc::now();
            let run = otlp::AgentRun {
                agent: s("agent_id"),
                goal: s("goal"),
                provider: s("provider_type"),
                risk: s("risk_level"),
                actor_type: s("actor_type"),
                actor_id: None,
                started: now,
                ended: now,
                failed: false,
            };
            let name = format!("legacy-{}", uuid::Uuid::new_v4());
            match self.otlp.run_alone(&name, s("origin_system_id"), &run).await {
                Ok(answer) if answer.rejected > 0 => {
                    self.report.legacy_refused.fetch_add(1, Ordering::Relaxed);
                }
                Ok(_) => tracing::warn!("a legacy run's span was not refused"),
                Err(e) => tracing::warn!(error = %e, "cannot export a span"),
            }
            return;
        }
        match self.post("/api/v1/runs", body).await {
            Ok(r) if r.status() == reqwest::StatusCode::BAD_REQUEST => {
                self.report.legacy_refused.fetch_add(1, Ordering::Relaxed);
            }
            Ok(r) => tracing::warn!(status = r.status().as_u16(), "a legacy run was not refused"),
            Err(e) => tracing::warn!(error = %e, "cannot post a run"),
        }
    }
}

/// `mandate sim`: runs until Ctrl-C (or the rounds are done), then prints
/// what it did.
pub fn main(args: SimArgs) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            let _ = tx.send(true);
        });
        let report = run(args, rx).await.map_err(|e| e.to_string())?;
        println!("{report}");
        Ok(())
    })
}
