//! Regenerates `screenshots/`: a real server with the demo catalog, one round
//! of the simulator (seed 1), two interventions, then each main screen drawn
//! by the console's own renderer, written as SVG and turned into PNG with
//! `rsvg-convert` (Debian: `apt-get install librsvg2-bin`).
//!
//!     cargo run --release --example screenshots

use mandate::api::{Distribution, IncidentDetail, IncidentPage, Role, Topic, WhoAmI};
use mandate::auth::TokenTable;
use mandate::console::app::{Action, App, DIMENSIONS, update};
use mandate::console::config::Secret;
use mandate::console::intent::{Plan, Target, What, intent};
use mandate::console::keymap::Keymap;
use mandate::console::poller::Http;
use mandate::console::screens::ScreenData;
use mandate::console::screenshot::{DARK_TERMINAL, LIGHT_TERMINAL, Palette, svg};
use mandate::console::theme::Theme;
use mandate::console::view::render;
use mandate::desk::{Desk, DeskConfig};
use mandate::store::Store;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::Path;
use std::process::Command;

const RESPONDER: &str = "mdt_screens_responder";
const FLEET: &str = "mdt_screens_fleet";
const LEAD: &str = "mdt_screens_lead";

async fn get<T: serde::de::DeserializeOwned>(http: &reqwest::Client, base: &str, path: &str) -> T {
    let response = http.get(format!("{base}{path}")).bearer_auth(RESPONDER).send().await.expect("the API answers");
    mandate::console::sanitize::decode_clean(&response.bytes().await.expect("a body")).expect("a known answer")
}

fn press(app: &mut App, code: KeyCode) {
    update(app, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)), &Keymap::default());
}

fn command(app: &mut App, line: &str) {
    press(app, KeyCode::Char(':'));
    for c in line.chars() {
        press(app, KeyCode::Char(c));
    }
    press(app, KeyCode::Enter);
}

fn shoot(app: &App, theme: &str, palette: Palette, (w, h): (u16, u16), name: &str) {
    let theme = Theme::builtin(theme).expect("a built-in theme");
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("a test backend");
    terminal.draw(|f| render(app, &theme, &Keymap::default(), f)).expect("a frame");
    let dir = Path::new("screenshots");
    std::fs::create_dir_all(dir).expect("screenshots/");
    let svg_path = dir.join(format!("{name}.svg"));
    std::fs::write(&svg_path, svg(terminal.backend().buffer(), palette)).expect("the SVG is written");
    let png = dir.join(format!("{name}.png"));
    let status = Command::new("rsvg-convert").arg("-o").arg(&png).arg(&svg_path).status();
    match status {
        Ok(s) if s.success() => {
            std::fs::remove_file(&svg_path).ok();
            println!("{}", png.display());
        }
        _ => println!("{} (rsvg-convert missing or failed: install librsvg2-bin for PNG)", svg_path.display()),
    }
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("screens.db").display())).await.unwrap();
    // The demo's routing, paging local receivers for every channel.
    let inbox = mandate::paging::inbox::Inbox::start().await.unwrap();
    let mut routing: mandate::routing::RoutingDocument = toml::from_str(mandate::demo::ROUTING).unwrap();
    routing.receivers = inbox.receivers();
    routing.attribution = Some(mandate::demo::rollout_plan(chrono::Utc::now()));
    // The demo's Prometheus, where checkout latency creeps up: a degradation.
    let prometheus = mandate::demo::prometheus::start(100.0).await.unwrap();
    routing.metrics = Some(mandate::demo::prometheus::source(prometheus));
    let routing = mandate::routing::Routing::new(routing, "demo routing").unwrap();
    let config = DeskConfig { routing: Some(routing), ..DeskConfig::default() };
    let desk = Desk::open(store, Some(mandate::demo::catalog()), config).await.unwrap();
    let tokens = TokenTable::default()
        .with_token(RESPONDER, mandate::demo::RESPONDER, Role::Responder)
        .with_token(FLEET, "demo-fleet", Role::Agent)
        .with_token(LEAD, mandate::demo::PLATFORM_LEAD, Role::Admin);
    let server = mandate::server::start_desk(desk, tokens, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let base = server.url();
    let args = mandate::sim::SimArgs {
        api: base.clone(),
        token: FLEET.into(),
        seed: 1,
        speed: 100.0,
        rate: 2.0,
        rounds: Some(1),
        otlp: false,
        mixed: false,
        admin_token: Some(LEAD.into()),
    };
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    mandate::sim::run(args, stopped).await.expect("the simulator runs");
    // Runs still going, for the LIVE-O5 panel.
    let sdk = mandate::sdk::Client::new(&base, FLEET).unwrap();
    for (n, agent) in mandate::sim::fleet::FLEET.iter().enumerate().take(9) {
        for _ in 0..=(n % 4) {
            let options = mandate::sdk::RunOptions::new(agent.provider, agent.risk);
            let _ = sdk.create_system_run(agent.goal, agent.id, agent.origin, options).await;
        }
    }
    // Pattern signatures are computed in the background every 2 s.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;

    let http = mandate::sdk::http_client_builder().build().unwrap();
    let page: IncidentPage = get(&http, &base, "/api/v1/incidents").await;
    let bad = page.incidents.iter().find(|i| i.title.starts_with("CONFIG_INVALID")).expect("the bad deploy").id;
    let who: WhoAmI = get(&http, &base, "/api/v1/whoami").await;

    // Two interventions, so the audit log has something to show.
    let api = Http::new(&base, Secret::new(RESPONDER));
    let mut ack = Plan::new(What::Intervention(mandate::api::InterventionKind::Acknowledge), Target::Incident(bad));
    api.send(&intent(&ack, &who).unwrap()).await.expect("acknowledged");
    ack.what = What::Intervention(mandate::api::InterventionKind::PauseAgent);
    ack.target_agent = Some("config-gen".into());
    ack.reason = Some("it wrote the bad pool_size".into());
    api.send(&intent(&ack, &who).unwrap()).await.expect("paused");
    // Verdicts, so calibration has something to measure.
    let detail: IncidentDetail = get(&http, &base, &format!("/api/v1/incidents/{bad}")).await;
    for (n, c) in detail.analysis.candidates.iter().take(2).enumerate() {
        let verdict = if n == 0 { mandate::api::Verdict::Confirmed } else { mandate::api::Verdict::Rejected };
        let mut judge = Plan::new(What::Verdict(verdict), Target::Incident(bad));
        judge.event_id = Some(c.event_id.clone());
        api.send(&intent(&judge, &who).unwrap()).await.expect("judged");
    }
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;

    // The slow-burn rule is asked every 5 s: until it has opened its degradation.
    for _ in 0..40 {
        let page: IncidentPage = get(&http, &base, "/api/v1/incidents").await;
        if !page.watch.degradations.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let now = chrono::Utc::now();
    let keymap = Keymap::default();
    let mut app = App::new(&base.replace("http://", ""), Some("demo".into()), false, now);
    let page: IncidentPage = get(&http, &base, "/api/v1/incidents").await;
    update(&mut app, Action::Incidents(Box::new(page), now), &keymap);
    update(&mut app, Action::Whoami(who, Some("0.2.0 (API v1)".into())), &keymap);
    let size = (120, 36);

    shoot(&app, "dark", DARK_TERMINAL, size, "incidents");
    shoot(&app, "dark", DARK_TERMINAL, (80, 24), "incidents-80x24");
    shoot(&app, "light", LIGHT_TERMINAL, size, "incidents-light");

    while app.list.selected() != Some(bad) {
        press(&mut app, KeyCode::Down);
    }
    press(&mut app, KeyCode::Enter);
    let detail: IncidentDetail = get(&http, &base, &format!("/api/v1/incidents/{bad}")).await;
    update(&mut app, Action::Detail(Box::new(detail)), &keymap);
    let impact = get(&http, &base, &format!("/api/v1/incidents/{bad}/impact")).await;
    update(&mut app, Action::Impact(Box::new(impact)), &keymap);
    shoot(&app, "dark", DARK_TERMINAL, size, "incident-level1");
    press(&mut app, KeyCode::Enter);
    shoot(&app, "dark", DARK_TERMINAL, size, "incident-level2");
    press(&mut app, KeyCode::Enter);
    shoot(&app, "dark", DARK_TERMINAL, size, "incident-level3");
    press(&mut app, KeyCode::Char('b'));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Right);
    shoot(&app, "dark", DARK_TERMINAL, size, "blast-radius");
    press(&mut app, KeyCode::Char('c'));
    shoot(&app, "dark", DARK_TERMINAL, size, "root-causes");
    press(&mut app, KeyCode::Char('p'));
    for c in "it keeps rewriting pool_size".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    shoot(&app, "dark", DARK_TERMINAL, size, "confirm-dialog");
    press(&mut app, KeyCode::Esc);

    command(&mut app, "activity");
    for dim in DIMENSIONS.iter().take(1) {
        for topic in [Topic::Live, Topic::Completed] {
            let d: Distribution = get(
                &http,
                &base,
                &format!("/api/v1/activity/runs/{}/by-dimension?dim={}", topic.path_segment(), dim.as_str()),
            )
            .await;
            update(&mut app, Action::Data(ScreenData::Distribution(Box::new(d))), &keymap);
        }
    }
    shoot(&app, "dark", DARK_TERMINAL, size, "activity");
    command(&mut app, "agents");
    update(&mut app, Action::Data(ScreenData::Agents(get(&http, &base, "/api/v1/agents").await)), &keymap);
    update(&mut app, Action::Stops(get(&http, &base, "/api/v1/stops").await), &keymap);
    shoot(&app, "dark", DARK_TERMINAL, size, "agents");
    command(&mut app, "audit");
    update(&mut app, Action::Data(ScreenData::Audit(Box::new(get(&http, &base, "/api/v1/audit").await))), &keymap);
    shoot(&app, "dark", DARK_TERMINAL, size, "audit");
    command(&mut app, "attribution");
    let rollout = get(&http, &base, "/api/v1/attribution/rollout").await;
    update(&mut app, Action::Data(ScreenData::Attribution(Box::new(rollout))), &keymap);
    shoot(&app, "dark", DARK_TERMINAL, size, "attribution");
    command(&mut app, "notifications");
    update(
        &mut app,
        Action::Data(ScreenData::Notifications(Box::new(get(&http, &base, "/api/v1/notifications").await))),
        &keymap,
    );
    shoot(&app, "dark", DARK_TERMINAL, size, "notifications");
    command(&mut app, "patterns");
    update(
        &mut app,
        Action::Data(ScreenData::Patterns(Box::new(get(&http, &base, "/api/v1/patterns").await))),
        &keymap,
    );
    update(&mut app, Action::Data(ScreenData::Rules(Box::new(get(&http, &base, "/api/v1/rules").await))), &keymap);
    shoot(&app, "dark", DARK_TERMINAL, size, "patterns");
    command(&mut app, "calibration");
    update(
        &mut app,
        Action::Data(ScreenData::Calibration(Box::new(get(&http, &base, "/api/v1/calibration").await))),
        &keymap,
    );
    let stats = get(&http, &base, "/api/v1/suggestions/stats").await;
    update(&mut app, Action::Data(ScreenData::SuggestionStats(Box::new(stats))), &keymap);
    shoot(&app, "dark", DARK_TERMINAL, size, "calibration");

    // The demo's schema-janitor asks to drop a table on user-db: gated.
    let ask = serde_json::json!({"agent_id": "schema-janitor", "action_type": "drop_table", "resource": "user-db",
        "summary": "DROP TABLE sessions_2020 on user-db: a legacy table no query has read for 90 days",
        "actor_type": "SYSTEM", "request_key": "screenshots"});
    let asked = http.post(format!("{base}/api/v1/approvals")).bearer_auth(FLEET).json(&ask).send().await;
    assert!(asked.expect("the API answers").status().is_success(), "the gated action is asked");
    let approvals = get(&http, &base, "/api/v1/approvals").await;
    update(&mut app, Action::Approvals(Box::new(approvals)), &keymap);
    update(&mut app, Action::Tick(chrono::Utc::now()), &keymap);
    command(&mut app, "approvals");
    shoot(&app, "dark", DARK_TERMINAL, size, "approvals");

    // A console that cannot reach its server says so, at 80 columns too.
    let mut offline =
        App::new("mandate-api.payments.eu-west-1.prod.internal.example.com:7400", Some("prod".into()), false, now);
    update(&mut offline, Action::Offline("cannot connect".into()), &keymap);
    shoot(&offline, "dark", DARK_TERMINAL, (80, 24), "offline-80x24");
    server.stop().await;
}
