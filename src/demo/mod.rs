//! `mandate demo`: the whole product on this machine in one command. The API
//! server starts in-process on a free loopback port with SQLite in a
//! temporary directory and a built-in catalog, the simulator plays the
//! seed's bad day against it, pages go to local receivers for every
//! channel, the team's Alertmanager posts its alerts, and the console opens
//! signed in as a demo responder. Quitting stops all three and removes the directory.

mod fleets;
mod gatekeeper;
mod monitor;
pub mod prometheus;

use crate::api::Role;
use crate::auth::{TokenTable, generate_token};
use crate::catalog::Catalog;
use crate::console::config::{ConsoleArgs, ConsoleConfig, Secret};
use crate::desk::{Desk, DeskConfig};
use crate::sim::SimArgs;
use crate::store::Store;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio::sync::watch;

/// The demo company's service catalog.
pub const CATALOG: &str = include_str!("catalog.toml");

/// The demo's attribution rollout: hard fail began yesterday, after five
/// weeks of seed 000 §9's calendar, so the simulator's legacy sentinel is
/// the P1 of §7.
pub fn rollout_plan(now: chrono::DateTime<chrono::Utc>) -> crate::rollout::RolloutPlan {
    let day = |n: i64| Some(now - chrono::Duration::days(n));
    crate::rollout::RolloutPlan {
        shadow_begins: day(35),
        soft_fail_begins: day(14),
        override_disabled: day(7),
        hard_fail_begins: day(1),
        ..Default::default()
    }
}

/// The demo's routing, before its receivers are added.
pub const ROUTING: &str = include_str!("routing.toml");

/// The demo operator, as the status bar and the audit log show them.
pub const RESPONDER: &str = "demo-responder";

/// The admin who adopts the rule the repeat pattern proposes.
pub const PLATFORM_LEAD: &str = "demo-platform-lead";

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Keep the demo's database in this directory (default: a temporary one, removed on exit)
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Seed of the simulated day
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Time compression of the simulation
    #[arg(long, default_value_t = 4.0)]
    pub speed: f64,
    /// Background runs started per second
    #[arg(long, default_value_t = 2.0)]
    pub rate: f64,
    /// Console theme (dark, light, high-contrast, solarized-dark, mono, or a file's name)
    #[arg(long)]
    pub theme: Option<String>,
    /// Open the console read-only
    #[arg(long)]
    pub readonly: bool,
    /// Draw with ASCII only, whatever the terminal claims [env: MANDATE_ASCII]
    #[arg(long)]
    pub ascii: bool,
    /// Console config file for keys and theme [default: $XDG_CONFIG_HOME/mandate/config.toml]
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// A standing maintenance window written in the demo's routing file: the
/// weekly search reindex, as `:silences` shows it ("routing file").
fn weekly_window(now: chrono::DateTime<chrono::Utc>) -> crate::routing::RoutingSilence {
    crate::routing::RoutingSilence {
        name: "search-reindex".into(),
        owner: format!("@{PLATFORM_LEAD}"),
        reason: "weekly search reindex: search errors are expected".into(),
        resource: Some("search-*".into()),
        agent: None,
        action_type: None,
        severity: Some(crate::api::Severity::Low),
        weekly: Some(crate::api::WeeklyWindow { days: vec!["sun".into()], start: "03:00".into(), minutes: 120 }),
        from: None,
        until: now + chrono::Duration::days(60),
    }
}

pub fn catalog() -> Catalog {
    Catalog::from_toml(CATALOG, "(built-in demo catalog)").expect("the demo catalog is valid")
}

/// A running demo: the server and the simulator, stopped on drop of the
/// returned guard's `stop`.
pub struct Demo {
    pub server: crate::server::RunningServer,
    pub responder_token: String,
    stop_sim: watch::Sender<bool>,
    sim: tokio::task::JoinHandle<()>,
    /// Local receivers for every channel: the demo's pages land here.
    pub inbox: crate::paging::inbox::Inbox,
    /// Agents on the Python and TypeScript SDKs, where this machine runs them.
    _other_sdks: fleets::OtherSdks,
    _dir: Option<tempfile::TempDir>,
}

impl Demo {
    /// Starts the server and the simulator.
    pub async fn start(args: &DemoArgs) -> Result<Demo, String> {
        let (dir, path) = match &args.data_dir {
            Some(p) => {
                std::fs::create_dir_all(p).map_err(|e| format!("cannot create {}: {e}", p.display()))?;
                (None, p.clone())
            }
            None => {
                let d = tempfile::Builder::new()
                    .prefix("mandate-demo-")
                    .tempdir()
                    .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
                let p = d.path().to_owned();
                (Some(d), p)
            }
        };
        let url = format!("sqlite://{}", path.join("demo.db").display());
        let store = Store::connect_to_serve(&url, false).await.map_err(|e| format!("demo database: {e}"))?;
        let inbox = crate::paging::inbox::Inbox::start()
            .await
            .map_err(|e| format!("cannot start the demo's local receivers: {e}"))?;
        let mut document: crate::routing::RoutingDocument =
            toml::from_str(ROUTING).map_err(|e| format!("demo routing: {e}"))?;
        document.receivers = inbox.receivers();
        document.attribution = Some(rollout_plan(chrono::Utc::now()));
        document.silences.push(weekly_window(chrono::Utc::now()));
        let prometheus =
            prometheus::start(args.speed).await.map_err(|e| format!("cannot start the demo's Prometheus: {e}"))?;
        document.metrics = Some(prometheus::source(prometheus));
        let routing = crate::routing::Routing::new(document, "demo routing").map_err(|e| e.to_string())?;
        let config = DeskConfig { routing: Some(routing), ..DeskConfig::default() };
        let desk = Desk::open(store, Some(catalog()), config).await.map_err(|e| format!("demo database: {e}"))?;
        let responder_token = generate_token();
        let fleet_token = generate_token();
        let lead_token = generate_token();
        let monitor_token = generate_token();
        let tokens = TokenTable::default()
            .with_token(&monitor_token, "demo-alertmanager", Role::Monitor)
            .with_token(&responder_token, RESPONDER, Role::Responder)
            .with_token(&fleet_token, "demo-fleet", Role::Agent)
            .with_token(&lead_token, PLATFORM_LEAD, Role::Admin);
        let server = crate::server::start_desk(desk, tokens, "127.0.0.1:0".parse().expect("an address"))
            .await
            .map_err(|e| format!("cannot start the demo server: {e}"))?;
        // Mandate's own metrics, for a curl with the responder's token.
        server.state.expose_metrics_on_api(true);
        if let Err(e) = history(&server.url(), &fleet_token, &lead_token).await {
            tracing::warn!(error = %e, "the demo's history (a silence, yesterday's flash incidents) was not made");
        }
        let other_sdks = fleets::OtherSdks::start(&server.url(), &fleet_token);
        let gated = (server.url(), fleet_token.clone(), args.speed);
        let sim_args = SimArgs {
            api: server.url(),
            token: fleet_token,
            seed: args.seed,
            speed: args.speed,
            rate: args.rate,
            rounds: None,
            otlp: false,
            mixed: true,
            admin_token: Some(lead_token),
        };
        let (stop_sim, stopped) = watch::channel(false);
        tokio::spawn(gatekeeper::run(gated.0, gated.1, gated.2, stopped.clone()));
        tokio::spawn(monitor::run(server.url(), monitor_token, args.speed, stopped.clone()));
        let sim = tokio::spawn(async move {
            if let Err(e) = crate::sim::run(sim_args, stopped).await {
                tracing::error!(error = %e, "the demo simulator stopped");
            }
        });
        Ok(Demo { server, responder_token, stop_sim, sim, inbox, _other_sdks: other_sdks, _dir: dir })
    }

    /// Stops the simulator, then the server; the temporary directory goes.
    /// Quitting never waits on a request stuck in flight: each part has a
    /// few seconds, then the process leaves anyway.
    pub async fn stop(self) {
        let _ = self.stop_sim.send(true);
        if tokio::time::timeout(std::time::Duration::from_secs(3), self.sim).await.is_err() {
            tracing::warn!("the demo simulator did not stop within 3 s; leaving without it");
        }
        if tokio::time::timeout(std::time::Duration::from_secs(5), self.server.stop()).await.is_err() {
            tracing::warn!("the demo server did not stop within 5 s; leaving without it");
        }
    }
}

/// What the demo's fleet did before it started: yesterday's flash incidents
/// (each recovered by itself within a minute, so the daily flash digest
/// has something to say), and a maintenance silence on reports-db made by
/// the platform lead, which holds the pages of the export failures the
/// simulation brings there.
async fn history(api: &str, fleet: &str, lead: &str) -> Result<(), String> {
    let http = crate::sdk::http_client_builder().build().map_err(|e| e.to_string())?;
    let yesterday = chrono::Utc::now() - chrono::Duration::days(1);
    for (n, (resource, hours)) in
        [("search-service", 3), ("search-service", 7), ("cache-cluster", 11)].iter().enumerate()
    {
        let at = yesterday - chrono::Duration::hours(*hours);
        let event = |tag: &str, outcome: &str, at: chrono::DateTime<chrono::Utc>| {
            serde_json::json!({
                "event_id": format!("demo-history-{n}-{tag}"), "agent_id": format!("{resource}-probe"),
                "actor_type": "SYSTEM", "origin_system_id": "sim-fleet", "action_type": "tool_call",
                "resource": resource, "outcome": outcome, "occurred_at": at.to_rfc3339(),
                "error_code": (outcome == "error").then_some("HTTP_503"),
            })
        };
        // Failure and recovery together: an incident that is over before anyone could be paged.
        let batch = serde_json::json!([event("e", "error", at), event("ok", "ok", at + chrono::Duration::seconds(40))]);
        let answer = http.post(format!("{api}/api/v1/events")).bearer_auth(fleet).json(&batch).send().await;
        answer.map_err(|e| e.to_string())?.error_for_status().map_err(|e| e.to_string())?;
    }
    let silence = crate::api::SilenceBody {
        matches: crate::api::SilenceMatch { resource: Some("reports-db".to_owned()), ..Default::default() },
        reason: "reports-db index rebuild (CHG-4711)".to_owned(),
        starts_at: None,
        ends_at: chrono::Utc::now() + chrono::Duration::hours(2),
        weekly: None,
        confirm: true,
        incident_id: None,
        actor_type: "HUMAN".to_owned(),
        actor_id: PLATFORM_LEAD.to_owned(),
        agent_id: "mandate-demo".to_owned(),
        origin_system_id: "mandate-demo".to_owned(),
    };
    let answer = http.post(format!("{api}/api/v1/silences")).bearer_auth(lead).json(&silence).send().await;
    answer.map_err(|e| e.to_string())?.error_for_status().map_err(|e| e.to_string())?;
    Ok(())
}

/// `mandate demo`: returns the process exit code.
pub fn main(args: DemoArgs) -> Result<ExitCode, String> {
    let console_args = ConsoleArgs {
        theme: args.theme.clone(),
        readonly: args.readonly,
        ascii: args.ascii,
        config: args.config.clone(),
        ..ConsoleArgs::default()
    };
    // The demo connects to its own server, whatever the environment says.
    let env = |name: &str| match name {
        "MANDATE_API_URL" | "MANDATE_TOKEN" => None,
        other => std::env::var(other).ok(),
    };
    let mut config = ConsoleConfig::resolve(&console_args, &env).map_err(|e| e.to_string())?;
    config.environment = Some("demo".to_owned());
    crate::console::init_file_logging();
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let demo = Demo::start(&args).await?;
        let url = demo.server.url();
        config.api_url = Some(url.clone());
        let token = Secret::new(demo.responder_token.clone());
        let outcome = crate::console::terminal::run(config, url, token).await;
        demo.stop().await;
        crate::console::terminal::exit_code(outcome)
    })
}
