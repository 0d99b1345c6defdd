//! Every intervention, performed from the console's state machine (keys,
//! dialog, intent) and sent by the console's HTTP side to a real server on
//! loopback: the server's state and its audit log change, exactly once,
//! even when the request is sent again (a retry on a flaky link).

use crate::common::{self, AGENT, Db, RESPONDER, event_body, start};
use mandate::api::{AgentSummary, AuditPage, IncidentDetail, IncidentPage, Role, WhoAmI};
use mandate::console::app::{Action, App, Effect, update};
use mandate::console::config::Secret;
use mandate::console::intent::Intent;
use mandate::console::keymap::Keymap;
use mandate::console::poller::Http;
use mandate::console::screens::ScreenData;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::Value;

fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    update(app, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)), &Keymap::default()).1
}

/// Presses `key`; answers a dialog by filling empty fields with `fill`,
/// moving to the buttons and confirming as the dialog asks (y, or Ctrl-Y for
/// what cannot be undone), once the guard time has passed. Returns the one
/// intent sent.
fn intend(app: &mut App, key: char, fill: &str) -> Intent {
    let mut effects = press(app, KeyCode::Char(key));
    if app.dialog().is_some() {
        assert!(effects.is_empty(), "nothing leaves before the dialog is answered");
        let mut moves = 0;
        while let Some(d) = app.dialog().filter(|d| !d.on_buttons()) {
            if d.fields[d.focus].value.is_empty() {
                for c in fill.chars() {
                    press(app, KeyCode::Char(c));
                }
            }
            press(app, KeyCode::Tab);
            moves += 1;
            assert!(moves < 10);
        }
        let dialog = app.dialog_mut().unwrap();
        dialog.opened_at -= mandate::console::intent::CONFIRM_GUARD;
        let modifiers = if dialog.irreversible() { KeyModifiers::CONTROL } else { KeyModifiers::NONE };
        effects = update(app, Action::Key(KeyEvent::new(KeyCode::Char('y'), modifiers)), &Keymap::default()).1;
    }
    match &effects[..] {
        [Effect::Send(intent)] => intent.clone(),
        other => panic!("{key}: {other:?}, message {:?}", app.message),
    }
}

struct Console {
    t: common::TestServer,
    http: Http,
    app: App,
    incident: i64,
}

impl Console {
    async fn detail(&self, id: i64) -> IncidentDetail {
        serde_json::from_value(self.t.get(RESPONDER, &format!("/api/v1/incidents/{id}")).await.body).unwrap()
    }

    async fn audit(&self) -> AuditPage {
        serde_json::from_value(self.t.get(RESPONDER, "/api/v1/audit?limit=500").await.body).unwrap()
    }

    async fn agent(&self, id: &str) -> AgentSummary {
        let agents: Vec<AgentSummary> =
            serde_json::from_value(self.t.get(RESPONDER, "/api/v1/agents").await.body).unwrap();
        agents.into_iter().find(|a| a.agent_id == id).unwrap()
    }

    /// Sends an intent that changes nothing: the server says so, and the
    /// audit log stays as it was. Returns the server's words.
    async fn send_unchanged(&mut self, intent: &Intent) -> String {
        let before = self.audit().await;
        let answer = self.http.send(intent).await.unwrap_or_else(|e| panic!("{}: {e}", intent.label));
        assert_eq!(self.audit().await.entries.len(), before.entries.len(), "{}: no audit entry", intent.label);
        let sent = Action::Sent { key: intent.key.clone(), outcome: Ok(answer.clone()) };
        update(&mut self.app, sent, &Keymap::default());
        assert!(self.app.message.as_deref().unwrap().contains("nothing to record"), "{:?}", self.app.message);
        answer.strip_suffix(" (nothing to record)").unwrap_or_else(|| panic!("{answer}")).to_owned()
    }

    /// The console's screen as text at 100×40.
    fn screen(&self) -> String {
        self.screen_sized(100, 40)
    }

    fn screen_sized(&self, width: u16, height: u16) -> String {
        let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height)).unwrap();
        let theme = mandate::console::theme::Theme::builtin("mono").unwrap();
        terminal.draw(|f| mandate::console::view::render(&self.app, &theme, &Keymap::default(), f)).unwrap();
        let buffer = terminal.backend().buffer();
        (0..height)
            .map(|y| (0..width).map(|x| buffer.cell((x, y)).unwrap().symbol()).collect::<String>() + "\n")
            .collect()
    }

    /// Refreshes the console's view of the incident, as the poller would.
    async fn refresh(&mut self) {
        let detail = self.detail(self.incident).await;
        update(&mut self.app, Action::Detail(Box::new(detail)), &Keymap::default());
    }

    /// Sends the intent twice with its one Idempotency-Key: the server acts
    /// once, records one audit entry, and answers the retry the same way.
    async fn send_twice(&mut self, intent: &Intent) -> String {
        let before = self.audit().await;
        let first = self.http.send(intent).await.unwrap_or_else(|e| panic!("{}: {e}", intent.label));
        let again = self.http.send(intent).await.unwrap();
        assert_eq!(first, again, "{}: the retry gets the first answer", intent.label);
        let after = self.audit().await;
        assert_eq!(after.entries.len(), before.entries.len() + 1, "{}: exactly one audit entry", intent.label);
        assert!(after.chain.verified);
        let newest = &after.entries[0];
        assert_eq!(newest.actor, "alice");
        assert_eq!(newest.details["attribution"]["actor_type"], "HUMAN");
        assert_eq!(newest.details["attribution"]["agent_id"], "mandate-console");
        update(&mut self.app, Action::Sent { key: intent.key.clone(), outcome: Ok(first.clone()) }, &Keymap::default());
        assert!(self.app.message.as_deref().unwrap().starts_with('✓'), "{:?}", self.app.message);
        self.refresh().await;
        newest.action.clone()
    }
}

async fn console(db: Db) -> Console {
    let t = start(db).await;
    let mut deploy = event_body("deploy-1", -5.0, "deployer", "deploy", "payments-service", "ok");
    deploy["tool"] = "helm".into();
    let mut error = event_body("err-1", 0.0, "runtime", "tool_call", "payments-service", "error");
    error["error_code"] = "CONFIG_INVALID".into();
    for e in [deploy, error] {
        let answer = t.post(AGENT, "/api/v1/events", &e).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
    }
    let page: IncidentPage = serde_json::from_value(t.get(RESPONDER, "/api/v1/incidents").await.body).unwrap();
    let incident = page.incidents[0].id;
    let keymap = Keymap::default();
    let mut app = App::new("loopback", None, false, chrono::Utc::now());
    update(&mut app, Action::Incidents(Box::new(page), chrono::Utc::now()), &keymap);
    let who: WhoAmI = serde_json::from_value(t.get(RESPONDER, "/api/v1/whoami").await.body).unwrap();
    assert_eq!(who.role, Role::Responder);
    update(&mut app, Action::Whoami(who, Some("0.2.0 (API v1)".into())), &keymap);
    let http = Http::new(&t.server.url(), Secret::new(RESPONDER));
    let mut c = Console { t, http, app, incident };
    press(&mut c.app, KeyCode::Enter);
    c.refresh().await;
    c
}

async fn every_intervention_once(db: Db) {
    let mut c = console(db).await;
    let id = c.incident;
    let candidates = &c.detail(id).await.analysis.candidates;
    assert_eq!(candidates[0].agent_id.as_deref(), Some("deployer"), "the deploy is the suspect");

    let intent = intend(&mut c.app, 'a', "");
    assert_eq!(c.send_twice(&intent).await, "acknowledge");
    assert_eq!(c.detail(id).await.summary.status.as_str(), "acknowledged");
    // What was done is on the incident's screen, with who and when.
    let shown = c.screen();
    assert!(shown.contains("Done so far") && shown.contains("alice acknowledged"), "{shown}");
    // Acknowledging again changes nothing: said, and not recorded.
    let again = intend(&mut c.app, 'a', "");
    assert_eq!(c.send_unchanged(&again).await, format!("incident #{id} is already acknowledged (by alice)"));

    let intent = intend(&mut c.app, 'f', "");
    assert_eq!(c.send_twice(&intent).await, "flag_for_review");
    assert!(c.detail(id).await.summary.flagged_for_review);

    let intent = intend(&mut c.app, 'e', "");
    assert_eq!(c.send_twice(&intent).await, "escalate");
    assert_eq!(c.detail(id).await.summary.escalation_level, 1);

    let intent = intend(&mut c.app, 'p', "");
    assert_eq!(intent.body["target_agent"], "deployer");
    assert_eq!(c.send_twice(&intent).await, "pause_agent");
    assert_eq!(c.agent("deployer").await.status, "paused");

    let intent = intend(&mut c.app, 'u', "");
    assert_eq!(c.send_twice(&intent).await, "resume_agent");
    assert_eq!(c.agent("deployer").await.status, "active");
    let again = intend(&mut c.app, 'u', "");
    assert_eq!(c.send_unchanged(&again).await, "agent deployer is not paused: nothing to do");

    let intent = intend(&mut c.app, 'T', "the deploy broke payments");
    assert_eq!(intent.body["tool"], "helm", "the suspect's tool, prefilled");
    assert_eq!(c.send_twice(&intent).await, "disable_tool");
    assert_eq!(c.agent("deployer").await.disabled_tools, ["helm"]);

    let intent = intend(&mut c.app, 'R', "helm rollback payments-service");
    assert_eq!(c.send_twice(&intent).await, "trigger_rollback");
    assert_eq!(c.audit().await.entries[0].details["command"].as_str().map(|s| !s.is_empty()), Some(true));

    // A rule pasted over several lines keeps them, stored and shown.
    press(&mut c.app, KeyCode::Char('W'));
    let rule = "when: deploy to payments-service\nrequire: approval by @payments-lead";
    let clear = KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL);
    update(&mut c.app, Action::Key(clear), &Keymap::default());
    update(&mut c.app, Action::Paste(rule.into()), &Keymap::default());
    press(&mut c.app, KeyCode::Tab);
    for ch in "repeats three times".chars() {
        press(&mut c.app, KeyCode::Char(ch));
    }
    press(&mut c.app, KeyCode::Tab);
    c.app.dialog_mut().unwrap().opened_at -= mandate::console::intent::CONFIRM_GUARD;
    let confirm = KeyEvent::new(KeyCode::Char('y'), KeyModifiers::CONTROL);
    let [Effect::Send(intent)] = &update(&mut c.app, Action::Key(confirm), &Keymap::default()).1[..] else {
        panic!("no intent: {:?}", c.app.message)
    };
    assert_eq!(intent.body["rule"], rule);
    assert_eq!(c.send_twice(intent).await, "update_rule");
    let stored = c.detail(id).await.interventions.into_iter().last().unwrap();
    assert_eq!(stored.detail.as_deref(), Some(rule), "stored with its line break");
    press(&mut c.app, KeyCode::Char('+'));
    press(&mut c.app, KeyCode::Char('+'));
    let shown = c.screen_sized(160, 200);
    assert!(
        shown.lines().any(|l| l.trim() == "require: approval by @payments-lead"),
        "the rule's second line on its own line:\n{shown}"
    );

    let before: IncidentPage = serde_json::from_value(c.t.get(RESPONDER, "/api/v1/incidents").await.body).unwrap();
    let intent = intend(&mut c.app, 'N', "needs a formal record");
    assert_eq!(c.send_twice(&intent).await, "create_incident");
    // A named responder, then a hand-over: each asks who before anything leaves.
    let intent = intend(&mut c.app, 'A', "bob");
    assert_eq!(intent.body["responder"], "bob");
    assert_eq!(c.send_twice(&intent).await, "add_responder");
    let intent = intend(&mut c.app, 'H', "carol");
    assert_eq!((intent.body["responder"].as_str(), intent.body["reason"].as_str()), (Some("carol"), Some("carol")));
    assert_eq!(c.send_twice(&intent).await, "hand_over");
    assert_eq!(c.detail(id).await.summary.coordinator.as_deref(), Some("carol"));
    let after: IncidentPage = serde_json::from_value(c.t.get(RESPONDER, "/api/v1/incidents").await.body).unwrap();
    assert_eq!(after.incidents.len(), before.incidents.len() + 1);

    // Verdicts from the root-cause screen; the ranking comes from the server.
    press(&mut c.app, KeyCode::Char('c'));
    let event = c.app.selected_candidate().unwrap().event_id.clone();
    for (key, verdict) in [('i', "investigate"), ('X', "rejected"), ('C', "confirmed")] {
        // Each of the three asks first and wants a reason: they all teach calibration.
        press(&mut c.app, KeyCode::Char(key));
        let dialog = c.app.dialog().unwrap_or_else(|| panic!("{key} asks before recording a verdict"));
        assert!(dialog.fields[0].required, "{key}: no verdict without a reason");
        press(&mut c.app, KeyCode::Esc);
        let intent = intend(&mut c.app, key, "the timeline says so");
        assert_eq!(intent.body["event_id"], event.as_str());
        assert_eq!(intent.body["reason"], "the timeline says so");
        assert_eq!(c.send_twice(&intent).await, "verdict");
        let judged = c.detail(id).await.analysis.candidates.into_iter().find(|x| x.event_id == event).unwrap();
        assert_eq!(judged.verdict.map(|v| v.as_str()), Some(verdict));
        let shown = c.app.selected_candidate().unwrap();
        assert_eq!(shown.verdict.map(|v| v.as_str()), Some(verdict), "the screen shows the server's state");
    }
    let confirmed = c.app.selected_candidate().unwrap();
    assert_eq!(confirmed.confidence, 100, "a human confirmation is certain");

    // Disputing the candidate's attribution: a reason is required, and the
    // candidate shows DISPUTED from the server's state.
    press(&mut c.app, KeyCode::Char('D'));
    let dialog = c.app.dialog().expect("a dialog asks for the reason");
    assert!(dialog.fields[0].required, "no dispute without a reason");
    press(&mut c.app, KeyCode::Esc);
    let intent = intend(&mut c.app, 'D', "the deployer was paused at the time");
    assert_eq!((intent.path.as_str(), intent.body["claim"].as_str()), ("/api/v1/disputes", Some("not_this_agent")));
    assert_eq!(intent.body["incident_id"], id);
    let answer = c.http.send(&intent).await.unwrap();
    assert!(answer.starts_with("disputed (dispute #"), "{answer}");
    assert_eq!(c.http.send(&intent).await.unwrap(), answer, "the retry gets the first answer");
    c.refresh().await;
    let shown = c.screen();
    assert!(shown.contains("DISPUTED"), "{shown}");
    assert!(shown.contains("not this agent by alice"), "{shown}");
    press(&mut c.app, KeyCode::Char('D'));
    assert!(c.app.message.as_deref().unwrap().contains("already disputed"), "{:?}", c.app.message);

    // A refusal shows the server's code and text.
    press(&mut c.app, KeyCode::Esc);
    press(&mut c.app, KeyCode::Esc);
    let mut intent = intend(&mut c.app, 'a', "");
    intent.path = "/api/v1/incidents/999999/interventions".into();
    let error = c.http.send(&intent).await.unwrap_err();
    assert!(error.starts_with("INCIDENT_NOT_FOUND"), "{error}");
    let body: Value = intent.body.clone();
    assert_eq!(body["actor_id"], "alice");
}

/// `o` on `:attribution`: the outreach to a violating service's owner goes
/// once, even sent twice with its key; a compliant service is refused
/// before anything is sent.
async fn outreach_from_the_rollout_screen(db: Db) {
    let mut c = console(db).await;
    let run = serde_json::json!({"goal": "g", "agent_id": "exporter", "origin_system_id": "billing-batch",
                                 "source": "SDK", "provider_type": "internal", "risk_level": "low"});
    assert_eq!(c.t.post(AGENT, "/api/v1/runs", &run).await.status, 400, "no actor_type: refused");
    let keymap = Keymap::default();
    for c_ in ":attribution".chars() {
        press(&mut c.app, KeyCode::Char(c_));
    }
    press(&mut c.app, KeyCode::Enter);
    let rollout: mandate::api::RolloutStatus =
        serde_json::from_value(c.t.get(RESPONDER, "/api/v1/attribution/rollout").await.body).unwrap();
    update(&mut c.app, Action::Data(ScreenData::Attribution(Box::new(rollout))), &keymap);
    assert_eq!(c.app.selected_service().unwrap().name, "billing-batch");
    let intent = intend(&mut c.app, 'o', "soft fail is near");
    assert_eq!(intent.path, "/api/v1/attribution/services/billing-batch/outreach");
    assert_eq!(c.send_twice(&intent).await, "attribution_outreach");
    assert!(c.app.message.as_deref().unwrap().contains("sent to @platform-oncall"), "{:?}", c.app.message);
    let rollout = c.t.get(RESPONDER, "/api/v1/attribution/rollout").await.body;
    assert_eq!(rollout["services"][0]["last_outreach"]["by"], "alice");
}

/// `M` on an incident: the survivor is prefilled with the other open
/// incident listed on its resources; confirmed with Ctrl-Y (it cannot be
/// undone), the incident then says where it went.
async fn merging_a_duplicate_from_the_console(db: Db) {
    let mut c = console(db).await;
    let id = c.incident;
    let mut other = event_body("err-2", 0.5, "cron", "tool_call", "payments-service", "error");
    other["error_code"] = "DISK_FULL".into();
    let report = c.t.post(AGENT, "/api/v1/events", &other).await;
    let survivor = report.body["incidents"][0].as_i64().unwrap();
    assert_ne!(survivor, id, "a second incident on the same resource");
    let page: IncidentPage = serde_json::from_value(c.t.get(RESPONDER, "/api/v1/incidents").await.body).unwrap();
    update(&mut c.app, Action::Incidents(Box::new(page), chrono::Utc::now()), &Keymap::default());

    press(&mut c.app, KeyCode::Char('M'));
    let dialog = c.app.dialog().expect("M asks first");
    assert_eq!(dialog.fields[0].value, survivor.to_string(), "the other open incident on payments-service");
    assert!(dialog.irreversible(), "a merge cannot be undone");
    let preview = dialog.plan.effects().join("\n");
    assert!(preview.contains(&format!("into incident #{survivor}")), "{preview}");
    press(&mut c.app, KeyCode::Esc);
    let intent = intend(&mut c.app, 'M', "the same outage, reported twice");
    assert_eq!((intent.body["into_incident"].as_i64(), intent.body["confirm"].as_bool()), (Some(survivor), Some(true)));
    assert_eq!(c.send_twice(&intent).await, "merge");
    assert_eq!(c.detail(id).await.summary.merged_into, Some(survivor));
    let shown = c.screen();
    assert!(shown.contains(&format!("MERGED into #{survivor}")), "{shown}");
    press(&mut c.app, KeyCode::Char('M'));
    assert!(c.app.message.as_deref().unwrap().contains("already merged"), "{:?}", c.app.message);
}

on_both_databases!(every_intervention_once, outreach_from_the_rollout_screen, merging_a_duplicate_from_the_console);

#[tokio::test]
async fn a_dead_api_fails_visibly_and_is_not_sent_twice() {
    let mut c = console(Db::Sqlite).await;
    let intent = intend(&mut c.app, 'a', "");
    let url = c.t.server.url();
    c.t.stop().await;
    let http = Http::new(&url, Secret::new(RESPONDER));
    let error = http.send(&intent).await.unwrap_err();
    assert!(error.contains("gave up after 4 tries"), "{error}");
    assert!(error.contains("cannot connect"), "{error}");
    update(&mut c.app, Action::Sent { key: intent.key.clone(), outcome: Err(error) }, &Keymap::default());
    assert!(c.app.message.as_deref().unwrap().starts_with("✗ acknowledge incident"), "{:?}", c.app.message);
    assert!(c.app.pending.is_empty(), "the operator may try again: a new intent, a new key");
}

/// With several servers given, an intent whose server cannot be reached is
/// retried on the next one with the same Idempotency-Key: it happens once.
#[tokio::test]
async fn an_intent_fails_over_to_the_next_server_once() {
    let mut c = console(Db::Sqlite).await;
    let intent = intend(&mut c.app, 'a', "");
    // Port 1 on loopback: nothing listens there.
    let http = Http::new(&format!("http://127.0.0.1:1, {}", c.t.server.url()), Secret::new(RESPONDER));
    let before = c.audit().await.entries.len();
    let answer = http.send(&intent).await.expect("sent on the second server");
    assert!(answer.contains("acknowledged"), "{answer}");
    assert_eq!(http.base(), c.t.server.url(), "the second server is the one in use now");
    assert_eq!(http.send(&intent).await.unwrap(), answer, "the same key: the same answer");
    assert_eq!(c.audit().await.entries.len(), before + 1, "applied once");
}
