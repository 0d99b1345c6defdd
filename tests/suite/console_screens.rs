//! The console's screens, drawn into a fixed-size buffer from fixtures and
//! scripted keys: snapshots of the text, and colours checked on cell styles.

use chrono::{DateTime, Duration, Utc};
use mandate::api::{
    IncidentDetail, IncidentPage, IncidentStatus, IncidentSummary, Role, Severity, StatusCounts, WhoAmI,
};
use mandate::console::app::{Action, App, Connection, Effect, Screen, Watch, update};
use mandate::console::keymap::{KeyAction, Keymap};
use mandate::console::sanitize::decode_clean;
use mandate::console::screens::{ScreenData, View};
use mandate::console::theme::{StyleKey, Theme};
use mandate::console::view::render;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Modifier;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T14:30:00Z").unwrap().with_timezone(&Utc)
}

fn summary(
    id: i64,
    title: &str,
    severity: Severity,
    status: IncidentStatus,
    minutes_ago: i64,
    resources: &[&str],
) -> IncidentSummary {
    IncidentSummary {
        id,
        title: title.into(),
        severity,
        status,
        started_at: now() - Duration::minutes(minutes_ago),
        updated_at: now(),
        resolved_at: None,
        duration_seconds: minutes_ago * 60,
        resources: resources.iter().map(|r| (*r).to_owned()).collect(),
        responders: if status == IncidentStatus::Acknowledged { vec!["alice".into()] } else { vec![] },
        coordinator: None,
        escalation_level: 0,
        auto_recovered: false,
        flagged_for_review: false,
        event_count: 3,
        version: 7,
        silenced: None,
        merged_into: None,
    }
}

/// A server whose paging reaches people.
fn receiving() -> mandate::api::PagingHealth {
    mandate::api::PagingHealth { receivers: vec!["slack".into(), "pagerduty".into()], dead_last_day: 0 }
}

fn page() -> IncidentPage {
    IncidentPage {
        incidents: vec![
            summary(
                12,
                "CONFIG_INVALID on payments-service",
                Severity::Critical,
                IncidentStatus::Open,
                4,
                &["payments-service"],
            ),
            summary(
                11,
                "TIMEOUT on user-db",
                Severity::High,
                IncidentStatus::Acknowledged,
                35,
                &["user-db", "user-service"],
            ),
            summary(9, "HTTP_503 on notifications", Severity::Low, IncidentStatus::Resolved, 180, &["notifications"]),
            summary(10, "errors from report-generator", Severity::Medium, IncidentStatus::Open, 95, &[]),
        ],
        version: 7,
        counts: StatusCounts { open: 2, acknowledged: 1, resolved: 1 },
        next_cursor: None,
        paging: Some(receiving()),
        watch: Default::default(),
    }
}

fn app() -> App {
    let mut app = App::new("mandate.internal:7400", Some("prod".into()), false, now());
    let keymap = Keymap::default();
    update(&mut app, Action::Incidents(Box::new(page()), now()), &keymap);
    update(
        &mut app,
        Action::Whoami(WhoAmI { name: "alice".into(), role: Role::Responder }, Some("0.2.0 (API v1)".into())),
        &keymap,
    );
    app
}

fn blast(app: &App) -> &mandate::console::screens::BlastRadiusView {
    match app.view() {
        View::BlastRadius(v) => v,
        other => panic!("not the blast radius: {other:?}"),
    }
}

fn activity(app: &App) -> &mandate::console::screens::ActivityView {
    match app.view() {
        View::Activity(v) => v,
        other => panic!("not activity: {other:?}"),
    }
}

fn draw(app: &App, theme: &Theme, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| render(app, theme, &Keymap::default(), f)).unwrap();
    terminal
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    update(app, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)), &Keymap::default()).1
}

fn detail() -> IncidentDetail {
    let raw = include_str!("../fixtures/incident_detail.json");
    decode_clean(raw.as_bytes()).unwrap()
}

#[test]
fn incident_list_at_80x24_and_160x48() {
    let app = app();
    let dark = Theme::builtin("dark").unwrap();
    insta::assert_snapshot!("incidents_80x24", draw(&app, &dark, 80, 24).backend());
    insta::assert_snapshot!("incidents_160x48", draw(&app, &dark, 160, 48).backend());
}

#[test]
fn incident_levels_one_to_three() {
    let mut app = app();
    assert_eq!(key(&mut app, KeyCode::Enter), [Effect::Watch(Watch::Incident(12))]);
    update(&mut app, Action::Detail(Box::new(detail())), &Keymap::default());
    let dark = Theme::builtin("dark").unwrap();
    insta::assert_snapshot!("incident_level1_80x24", draw(&app, &dark, 80, 24).backend());
    insta::assert_snapshot!("incident_level1_160x48", draw(&app, &dark, 160, 48).backend());
    key(&mut app, KeyCode::Enter);
    insta::assert_snapshot!("incident_level2_80x24", draw(&app, &dark, 80, 24).backend());
    insta::assert_snapshot!("incident_level2_160x48", draw(&app, &dark, 160, 48).backend());
    key(&mut app, KeyCode::Char('+'));
    insta::assert_snapshot!("incident_level3_80x24", draw(&app, &dark, 80, 24).backend());
    insta::assert_snapshot!("incident_level3_160x48", draw(&app, &dark, 160, 48).backend());
    assert_eq!(app.screen(), Screen::Incident { id: 12, level: 3 });
    key(&mut app, KeyCode::Backspace);
    assert_eq!(app.screen(), Screen::Incident { id: 12, level: 2 });
    assert_eq!(key(&mut app, KeyCode::Esc), [Effect::Watch(Watch::Nothing)]);
    assert_eq!(app.screen(), Screen::Incidents);
}

#[test]
fn help_and_command_line() {
    let mut app = app();
    key(&mut app, KeyCode::Char('?'));
    let dark = Theme::builtin("dark").unwrap();
    insta::assert_snapshot!("help_80x24", draw(&app, &dark, 80, 24).backend());
    insta::assert_snapshot!("help_160x48", draw(&app, &dark, 160, 48).backend());
    key(&mut app, KeyCode::Esc);
    // The incident screen has more keys than 24 rows: help takes two columns.
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('?'));
    let shown = format!("{:?}", draw(&app, &dark, 80, 24).backend());
    for needle in ["more detail", "propose rule", "back", "copy incident summary", "last"] {
        assert!(shown.contains(needle), "{needle}: {shown}");
    }
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char(':'));
    for c in "them".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Tab);
    for c in "light".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    assert_eq!(key(&mut app, KeyCode::Enter), [Effect::SetTheme("light".into())]);
    key(&mut app, KeyCode::Char(':'));
    key(&mut app, KeyCode::Char('q'));
    assert_eq!(key(&mut app, KeyCode::Enter), [Effect::Quit]);
}

#[test]
fn filter_sort_and_a_selection_that_survives_refreshes() {
    let mut app = app();
    assert_eq!(app.list.selected(), Some(12), "the most severe first");
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(app.list.selected(), Some(11));
    // A refresh that adds an incident keeps the selection on #11 and marks the new one.
    let mut next = page();
    next.incidents.insert(
        0,
        summary(13, "DISK_FULL on reports-db", Severity::Critical, IncidentStatus::Open, 1, &["reports-db"]),
    );
    update(&mut app, Action::Incidents(Box::new(next), now()), &Keymap::default());
    assert_eq!(app.list.selected(), Some(11));
    assert!(app.changed_since_seen(&app.incidents[0].clone()), "the new one is marked");
    assert!(!app.changed_since_seen(&app.incidents[1].clone()), "the ones already listed are not");
    key(&mut app, KeyCode::Char('/'));
    for c in "!user".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    let ids: Vec<i64> = app.visible().iter().map(|i| i.id).collect();
    assert_eq!(ids, [13, 12, 10, 9], "! inverts the filter");
    // "!u" already hid #11 (and #13, for a moment): the selection moved to the first row then.
    assert_eq!(app.list.selected(), Some(12), "a filtered-out selection moves to the first row");
    key(&mut app, KeyCode::Char('s'));
    let ids: Vec<i64> = app.visible().iter().map(|i| i.id).collect();
    assert_eq!(ids, [13, 12, 10, 9], "newest first");
    let dark = Theme::builtin("dark").unwrap();
    insta::assert_snapshot!("incidents_filtered_80x24", draw(&app, &dark, 80, 24).backend());
}

#[test]
fn changes_merge_into_the_list_without_moving_the_selection() {
    let mut app = app();
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(app.list.selected(), Some(11));
    // #12 is acknowledged and #14 appears: only those two come.
    let mut acked = page().incidents[0].clone();
    acked.status = IncidentStatus::Acknowledged;
    let fresh = summary(14, "OOM on search-service", Severity::Critical, IncidentStatus::Open, 2, &["search-service"]);
    let changes = IncidentPage {
        incidents: vec![acked, fresh],
        version: 9,
        counts: StatusCounts { open: 2, acknowledged: 2, resolved: 1 },
        next_cursor: None,
        paging: Some(receiving()),
        watch: Default::default(),
    };
    let (redraw, _) = update(&mut app, Action::IncidentChanges(Box::new(changes), now()), &Keymap::default());
    assert!(redraw);
    let ids: Vec<i64> = app.incidents.iter().map(|i| i.id).collect();
    assert_eq!(ids, [14, 12, 11, 10, 9], "merged and kept newest first, none doubled");
    assert_eq!(app.incidents[1].status, IncidentStatus::Acknowledged);
    assert_eq!((app.version, app.counts.acknowledged), (9, 2));
    assert_eq!(app.list.selected(), Some(11), "the selection stays on its incident");
    let marked: Vec<i64> = app.incidents.iter().filter(|i| app.changed_since_seen(i)).map(|i| i.id).collect();
    assert_eq!(marked, [14], "only the new one is marked");
    // #11 changes: marked until it is opened, then not.
    let mut busier = app.incidents.iter().find(|i| i.id == 11).unwrap().clone();
    busier.version += 1;
    busier.event_count += 5;
    let changes = IncidentPage {
        incidents: vec![busier],
        version: 10,
        counts: StatusCounts { open: 2, acknowledged: 2, resolved: 1 },
        next_cursor: None,
        paging: Some(receiving()),
        watch: Default::default(),
    };
    update(&mut app, Action::IncidentChanges(Box::new(changes), now()), &Keymap::default());
    let marked: Vec<i64> = app.incidents.iter().filter(|i| app.changed_since_seen(i)).map(|i| i.id).collect();
    assert_eq!(marked, [14, 11], "changed since last looked at");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Esc);
    let marked: Vec<i64> = app.incidents.iter().filter(|i| app.changed_since_seen(i)).map(|i| i.id).collect();
    assert_eq!(marked, [14], "looking at #11 cleared it");
}

#[test]
fn offline_keeps_the_data_and_says_so() {
    let mut app = app();
    let keymap = Keymap::default();
    update(&mut app, Action::Offline("connection refused".into()), &keymap);
    update(&mut app, Action::Tick(now() + Duration::seconds(42)), &keymap);
    assert!(matches!(app.connection, Connection::Offline { .. }));
    let text = format!("{:?}", draw(&app, &Theme::builtin("dark").unwrap(), 120, 10).backend());
    assert!(text.contains("STALE  no answer for 42s (connection refused); last confirmed 14:30:00"), "{text}");
    assert!(text.contains("CONFIG_INVALID on payments-service"), "the last data stays visible");
}

#[test]
fn nothing_visible_changes_means_no_redraw() {
    let mut app = app();
    let keymap = Keymap::default();
    let (changed, _) = update(&mut app, Action::Tick(now() + Duration::seconds(20)), &keymap);
    assert!(!changed, "live, and the minute did not turn");
    let (changed, _) = update(&mut app, Action::Tick(now() + Duration::seconds(61)), &keymap);
    assert!(changed, "ages are shown in minutes");
    let (changed, _) = update(&mut app, Action::Key(KeyEvent::new(KeyCode::Char('z'), KeyModifiers::NONE)), &keymap);
    assert!(!changed, "an unbound key changes nothing");
}

#[test]
fn colours_follow_the_theme_and_mono_marks_selection_without_colour() {
    let app = app();
    let dark = Theme::builtin("dark").unwrap();
    let terminal = draw(&app, &dark, 80, 24);
    let buffer = terminal.backend().buffer();
    // Row 3 is the first incident: critical, selected.
    let sev = buffer.cell((3, 3)).unwrap();
    assert_eq!(sev.symbol(), "C");
    assert_eq!(sev.bg, dark.style(StyleKey::Selection).bg.unwrap(), "the selected row carries the selection style");
    let prod = (0..80).map(|x| buffer.cell((x, 0)).unwrap()).find(|c| c.symbol() == "P").unwrap();
    assert_eq!(prod.bg, dark.style(StyleKey::EnvironmentProd).bg.unwrap(), "prod is a loud banner");

    let mono = Theme::builtin("mono").unwrap();
    let terminal = draw(&app, &mono, 80, 24);
    let buffer = terminal.backend().buffer();
    for cell in buffer.content() {
        assert!(
            matches!(cell.fg, ratatui::style::Color::Reset) && matches!(cell.bg, ratatui::style::Color::Reset),
            "mono draws no colour"
        );
    }
    let selected = buffer.cell((3, 3)).unwrap();
    assert!(selected.modifier.contains(Modifier::REVERSED), "mono shows the selection in reverse video");
    assert_eq!(buffer.cell((0, 3)).unwrap().symbol(), "▶", "and with a marker");
}

#[test]
fn tiny_terminals_and_resize_storms_do_not_panic() {
    let mut app = app();
    key(&mut app, KeyCode::Enter);
    update(&mut app, Action::Detail(Box::new(detail())), &Keymap::default());
    let theme = Theme::builtin("dark").unwrap();
    for (w, h) in [(1, 1), (2, 1), (1, 5), (9, 2), (10, 3), (20, 4), (80, 3), (3, 80), (500, 200)] {
        let terminal = draw(&app, &theme, w, h);
        let text = screen_text(&terminal);
        if w < 10 || h < 3 {
            // Said as far as it fits, never a half-drawn screen.
            let said: String = "mandate: window too small".chars().take(usize::from(w)).collect();
            assert!(text.starts_with(&said), "{w}x{h}: {text:?}");
        } else {
            // Whatever the size: the status bar says where this is, the
            // incident's number heads the view, the key line offers help
            // ("more" keys when they do not all fit).
            let rows: Vec<&str> = text.lines().collect();
            assert_eq!(rows.len(), usize::from(h), "{w}x{h}: {text:?}");
            assert!(rows[0].contains("PROD"), "{w}x{h}: {text:?}");
            assert!(rows[1].starts_with(" #12 CON"), "{w}x{h}: {text:?}");
            let keys = rows[rows.len() - 1];
            assert!(keys.contains("? more") || keys.contains("? help"), "{w}x{h}: {text:?}");
        }
    }
}

/// What the screen reads, row after row.
fn screen_text(terminal: &Terminal<TestBackend>) -> String {
    let buffer = terminal.backend().buffer();
    let width = usize::from(buffer.area.width);
    buffer.content().chunks(width).map(|row| row.iter().map(|c| c.symbol()).collect::<String>() + "\n").collect()
}

#[test]
fn hostile_strings_from_the_api_never_reach_the_buffer() {
    let hostile = r#"{"incidents": [{"id": 1, "title": "\u001b]52;c;cHduZWQ=\u0007evil \u001b[2J\u202etxt.exe", "severity": "critical",
        "status": "open", "started_at": "2026-03-02T14:29:00Z", "updated_at": "2026-03-02T14:29:00Z", "resolved_at": null,
        "duration_seconds": 60, "resources": ["db\u009b31m"], "responders": ["\u0000root"], "coordinator": null,
        "escalation_level": 0, "auto_recovered": false, "flagged_for_review": false, "event_count": 1, "version": 1}],
        "version": 1, "counts": {"open": 1, "acknowledged": 0, "resolved": 0}, "next_cursor": null}"#;
    let page: IncidentPage = decode_clean(hostile.as_bytes()).unwrap();
    let mut app = App::new("h", None, false, now());
    update(&mut app, Action::Incidents(Box::new(page), now()), &Keymap::default());
    let terminal = draw(&app, &Theme::builtin("dark").unwrap(), 120, 10);
    for cell in terminal.backend().buffer().content() {
        assert!(
            !cell.symbol().chars().any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
            "{:?}",
            cell.symbol()
        );
    }
}

// ---- Triage screens (issue 5) -------------------------------------------

use mandate::api::{
    AgentSummary, AuditEntry, AuditPage, Bucket, ChainStatus, CountBy, Dimension, Distribution, MatchLevel,
    PatternMatch, PreviousOccurrence, Signature, Topic,
};
use mandate::catalog::OwnershipFlag;
use mandate::console::keymap::Mode;

fn rich_detail() -> IncidentDetail {
    let mut d = detail();
    d.blast_radius.likely[1].ownership =
        vec![OwnershipFlag::OrphanedOwner { owner: "@bea".into(), route_to: Some("@billing-oncall".into()) }];
    d.blast_radius.possibly[0].ownership = vec![OwnershipFlag::External {
        name: "GatewayCo".into(),
        contact: "support@gatewayco.example".into(),
        channel: "email".into(),
        sla: "4h".into(),
        escalation: None,
    }];
    d.pattern = Some(PatternMatch {
        level: MatchLevel::Exact,
        signature: Signature::default(),
        previous: vec![
            PreviousOccurrence {
                incident_id: 3,
                started_at: now() - Duration::days(9),
                level: MatchLevel::Exact,
                score: 100,
            },
            PreviousOccurrence {
                incident_id: 7,
                started_at: now() - Duration::days(2),
                level: MatchLevel::Exact,
                score: 100,
            },
        ],
        occurrence: 3,
        suggested_rule: Some("require approval for config changes to payments-service pool_size".into()),
        pattern_id: Some(4),
        score: 100,
        suggestions: vec![mandate::api::SuggestionHistory {
            title: "Revert config pool_size on payments-service".into(),
            kind: mandate::api::SuggestionKind::Contain,
            suggested: 3,
            acted: 0,
            ignored: 3,
            incidents: 3,
        }],
        rule: None,
    });
    let page =
        |target: &str, channel: &str, delay_seconds: u64, level: &str, reason: &str| mandate::api::Notification {
            target: target.into(),
            channel: channel.into(),
            urgency: mandate::api::Urgency::Critical,
            reason: reason.into(),
            delay_seconds,
            level: level.into(),
            digest: false,
            open_with: "mandate --incident 12".into(),
        };
    d.routing = Some(mandate::api::RoutingDecision {
        decision: mandate::api::RoutingVerdict::Gated,
        notifications: vec![
            page("@alice", "pagerduty", 0, "primary", "owner of payments-service (level primary)"),
            page("@alice", "slack", 0, "primary", "owner of payments-service (level primary)"),
            page("@payments-oncall", "pagerduty", 300, "secondary", "on call for payments (level secondary)"),
            page("@payments-lead", "pagerduty", 900, "management", "leads payments (level management)"),
            page("@vp-engineering", "pagerduty", 2700, "executive", "named in the escalation chain (level executive)"),
        ],
        escalation_path: vec![
            "@alice".into(),
            "@payments-oncall".into(),
            "@payments-lead".into(),
            "@vp-engineering".into(),
        ],
        rule_matched: Some("critical".into()),
        automation: None,
    });
    d
}

/// The app with incident #12 open on `screen_key` ('b' or 'c').
fn triage(screen_key: char) -> App {
    let mut app = app();
    key(&mut app, KeyCode::Enter);
    update(&mut app, Action::Detail(Box::new(rich_detail())), &Keymap::default());
    key(&mut app, KeyCode::Char(screen_key));
    app
}

fn text(terminal: &Terminal<TestBackend>) -> String {
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push_str(buffer.cell((x, y)).unwrap().symbol());
        }
        out.push('\n');
    }
    out
}

#[test]
fn blast_radius_tree_opens_and_closes() {
    let mut app = triage('b');
    assert_eq!(app.screen(), Screen::BlastRadius { id: 12 });
    let dark = Theme::builtin("dark").unwrap();
    insta::assert_snapshot!("blast_radius_80x24", draw(&app, &dark, 80, 24).backend());
    // Down to payments-service, open it: owner, team, on-call and why.
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(blast(&app).selected, ["definitely", "payments-service"]);
    key(&mut app, KeyCode::Char('l'));
    let shown = text(&draw(&app, &dark, 80, 24));
    assert!(shown.contains("owner @alice, team payments, on-call @payments-oncall"), "{shown}");
    assert!(shown.contains("why: failed"), "{shown}");
    // Open the possibly band: the external vendor shows with its SLA.
    for _ in 0..6 {
        key(&mut app, KeyCode::Char('j'));
    }
    assert_eq!(blast(&app).selected, ["possibly"]);
    key(&mut app, KeyCode::Right);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Right);
    insta::assert_snapshot!("blast_radius_160x48", draw(&app, &dark, 160, 48).backend());
    let shown = text(&draw(&app, &dark, 160, 48));
    assert!(shown.contains("[EXTERNAL]") && shown.contains("SLA 4h"), "{shown}");
    assert!(shown.contains("[ORPHANED]"), "{shown}");
    // h closes the node, then goes to its parent.
    key(&mut app, KeyCode::Char('h'));
    assert_eq!(blast(&app).selected, ["possibly", "api-gateway"]);
    key(&mut app, KeyCode::Char('h'));
    assert_eq!(blast(&app).selected, ["possibly"]);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.screen(), Screen::Incident { id: 12, level: 1 });
}

#[test]
fn root_causes_rank_and_judge_from_the_servers_answer() {
    let mut app = triage('c');
    let dark = Theme::builtin("dark").unwrap();
    insta::assert_snapshot!("root_causes_80x24", draw(&app, &dark, 80, 24).backend());
    insta::assert_snapshot!("root_causes_160x48", draw(&app, &dark, 160, 48).backend());
    let shown = text(&draw(&app, &dark, 160, 48));
    assert!(shown.contains("EXACT match, occurrence 3") && shown.contains("previously #7"), "{shown}");
    assert!(shown.contains("Option A (alternative)"), "{shown}");
    let first = app.selected_candidate().unwrap().event_id.clone();
    key(&mut app, KeyCode::Char('j'));
    let second = app.selected_candidate().unwrap().event_id.clone();
    assert_ne!(first, second);
    // Unrelated asks first, like confirming: a reason, then y on the buttons.
    assert!(key(&mut app, KeyCode::Char('X')).is_empty(), "nothing is recorded at once");
    for c in "retry storm, not this".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Tab);
    app.dialog_mut().unwrap().opened_at -= mandate::console::intent::CONFIRM_GUARD;
    let effects = key(&mut app, KeyCode::Char('y'));
    let [Effect::Send(intent)] = &effects[..] else { panic!("{effects:?}") };
    assert_eq!(intent.path, "/api/v1/incidents/12/verdicts");
    assert_eq!(intent.body["verdict"], "rejected");
    assert_eq!(intent.body["reason"], "retry storm, not this");
    assert_eq!(intent.body["event_id"], second.as_str());
    assert_eq!(intent.body["actor_type"], "HUMAN");
    assert_eq!(intent.body["actor_id"], "alice");
    assert!(app.selected_candidate().unwrap().verdict.is_none(), "not optimistic");
    // Confirming asks first.
    assert!(key(&mut app, KeyCode::Char('C')).is_empty());
    assert!(app.dialog().is_some());
}

fn distribution(topic: Topic, dim: Dimension, buckets: &[(&str, i64)]) -> Distribution {
    Distribution {
        topic,
        dim,
        buckets: buckets.iter().map(|(v, c)| Bucket { value: (*v).into(), count: *c }).collect(),
        total: buckets.iter().map(|(_, c)| c).sum(),
        generated_at: now(),
    }
}

#[test]
fn activity_panels_side_by_side_and_stacked() {
    let mut app = app();
    let keymap = Keymap::default();
    key(&mut app, KeyCode::Char(':'));
    for c in "activity".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    assert_eq!(key(&mut app, KeyCode::Enter), [Effect::Watch(Watch::Activity(Dimension::ProviderType))]);
    let live = distribution(Topic::Live, Dimension::ProviderType, &[("anthropic", 41), ("openai", 17), ("local", 2)]);
    let done = distribution(Topic::Completed, Dimension::ProviderType, &[("anthropic", 1200), ("openai", 311)]);
    update(&mut app, Action::Data(ScreenData::Distribution(Box::new(live))), &keymap);
    update(&mut app, Action::Data(ScreenData::Distribution(Box::new(done))), &keymap);
    let dark = Theme::builtin("dark").unwrap();
    insta::assert_snapshot!("activity_160x48", draw(&app, &dark, 160, 48).backend());
    insta::assert_snapshot!("activity_80x24", draw(&app, &dark, 80, 24).backend());
    let shown = text(&draw(&app, &dark, 160, 48));
    assert!(shown.contains("LIVE-O5 · runs in flight now by provider — total 60"), "{shown}");
    assert!(shown.contains("COMP-O5 · finished runs by provider — total 1511"), "{shown}");
    assert!(shown.contains(" 2   3.3%"), "counts exactly as given, with their share: {shown}");
    // Another dimension: the old bars go, and a late answer for the old one is ignored.
    assert_eq!(key(&mut app, KeyCode::Char('2')), [Effect::Watch(Watch::Activity(Dimension::AgentId))]);
    assert!(activity(&app).live.is_none() && activity(&app).completed.is_none());
    let late = distribution(Topic::Live, Dimension::ProviderType, &[("anthropic", 1)]);
    update(&mut app, Action::Data(ScreenData::Distribution(Box::new(late))), &keymap);
    assert!(activity(&app).live.is_none());
    assert_eq!(key(&mut app, KeyCode::Char('h')), [Effect::Watch(Watch::Activity(Dimension::ProviderType))]);
}

fn agents() -> Vec<AgentSummary> {
    vec![
        AgentSummary {
            agent_id: "deployer".into(),
            status: "paused".into(),
            paused_at: Some(now() - Duration::minutes(3)),
            paused_by: Some("alice".into()),
            last_seen: now() - Duration::minutes(4),
            live_runs: 0,
            failure_rate: 0.25,
            disabled_tools: vec!["kubectl_apply".into()],
            acted_while_stopped: 2,
            refused_attempts: 3,
            paused_until: None,
            last_contact: Some(now() - Duration::minutes(5)),
            sdk: Some("python 0.1.0".into()),
        },
        AgentSummary {
            agent_id: "config-gen".into(),
            status: "active".into(),
            paused_at: None,
            paused_by: None,
            last_seen: now(),
            live_runs: 3,
            failure_rate: 0.01,
            disabled_tools: vec![],
            acted_while_stopped: 0,
            refused_attempts: 0,
            paused_until: None,
            last_contact: Some(now()),
            sdk: Some("rust 0.1.0".into()),
        },
    ]
}

/// The deployer's own stop (violated, its SDK unheard) and a fleet stop
/// that holds, for an hour.
fn stops() -> Vec<mandate::api::StopSummary> {
    use mandate::api::{AgentStop, StopScope, StopSummary};
    let stop = |scope, target: &str, by: &str, ago: i64, until: Option<i64>, reason: &str| AgentStop {
        by: by.into(),
        reason: Some(reason.into()).filter(|r: &String| !r.is_empty()),
        since: now() - Duration::minutes(ago),
        until: until.map(|m| now() + Duration::minutes(m)),
        scope,
        target: target.into(),
        incident_id: None,
    };
    vec![
        StopSummary {
            stop: stop(StopScope::Agent, "deployer", "alice", 3, None, ""),
            acted: 2,
            refused: 3,
            out_of_contact: 1,
        },
        StopSummary {
            stop: stop(StopScope::Fleet, "*", "root", 1, Some(59), "all hands"),
            acted: 0,
            refused: 0,
            out_of_contact: 0,
        },
    ]
}

fn audit_page(verified: bool) -> AuditPage {
    let entry = |seq: i64, action: &str, target: &str| AuditEntry {
        seq,
        at: now() - Duration::minutes(10 - seq),
        actor: "alice".into(),
        action: action.into(),
        target: target.into(),
        details: serde_json::json!({"reason": "stop the bad deploys"}),
        prev_hash: "0".repeat(64),
        hash: format!("{seq:064}"),
    };
    AuditPage {
        entries: vec![entry(2, "pause_agent", "agent:deployer"), entry(1, "acknowledge", "incident:12")],
        chain: ChainStatus {
            verified,
            entries_checked: 2,
            first_broken_seq: if verified { None } else { Some(2) },
            problem: if verified { None } else { Some("hash does not match its contents".into()) },
        },
        next_before: None,
    }
}

/// A rollout in soft fail, four days before the override is disabled:
/// one service of each status, one fixed, the legacy sentinel's origin, and
/// an open breach.
fn rollout() -> mandate::api::RolloutStatus {
    use mandate::api::{
        Breach, ComplianceStatus as C, IncidentStatus, Milestone, NextPhase, OutreachNote, OwnerTarget, Phase,
        RolloutStatus, ServiceCompliance, Trend, TrendMetric, ViolationSample,
    };
    let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    let service = |name: &str, status: C, since: &str, runs: i64, viol: i64, viol7: i64, owner: &str, team: &str| {
        ServiceCompliance {
            name: name.into(),
            status,
            since: Some(at(since)),
            previous_status: None,
            first_seen: at("2026-02-01T09:00:00Z"),
            last_seen: at("2026-03-02T14:00:00Z"),
            runs_24h: runs,
            runs_7d: runs * 7,
            violations_24h: viol,
            violations_7d: viol7,
            violations_by_code: if viol7 > 0 {
                vec![CountBy { key: "ATTR_ACTOR_TYPE_MISSING".into(), count: viol7 }]
            } else {
                vec![]
            },
            override_use_7d: if status == C::UsingOverride { viol7 } else { 0 },
            legacy_use_7d: if name == "legacy-migration" { viol7 } else { 0 },
            first_violation: (viol7 > 0).then(|| at("2026-02-10T08:00:00Z")),
            team: Some(team.into()),
            owners: vec![OwnerTarget { who: owner.into(), why: format!("owner of {name}") }],
            fails_next_phase: matches!(status, C::Violating | C::UsingOverride),
            latest_violation: (viol7 > 0).then(|| ViolationSample {
                at: at("2026-03-02T13:55:00Z"),
                subject: "run".into(),
                codes: vec!["ATTR_ACTOR_TYPE_MISSING".into()],
                override_claimed: status == C::UsingOverride,
                fields: [
                    ("agent_id", "invoice-exporter"),
                    ("actor_type", "(missing)"),
                    ("origin_system_id", name),
                    ("actor_id", "(missing)"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            }),
            last_outreach: None,
        }
    };
    let mut fixed = service("checkout-api", C::Compliant, "2026-02-24T10:00:00Z", 310, 0, 0, "@carla", "payments");
    fixed.previous_status = Some(C::Violating);
    let mut violating = service("billing-batch", C::Violating, "2026-02-20T10:00:00Z", 0, 48, 320, "@vic", "billing");
    violating.last_outreach =
        Some(OutreachNote { at: at("2026-03-01T09:12:00Z"), by: "alice".into(), to: vec!["@vic".into()] });
    let services = vec![
        violating,
        service("legacy-migration", C::Violating, "2026-03-02T11:00:00Z", 0, 3, 3, "@platform-oncall", "platform"),
        service("search-indexer", C::UsingOverride, "2026-02-23T10:00:00Z", 0, 12, 84, "@olga", "search"),
        service("nightly-reports", C::Silent, "2026-02-27T02:00:00Z", 0, 0, 0, "@rita", "reports"),
        fixed,
        service("deploy-bot", C::Compliant, "2026-02-01T09:00:00Z", 1200, 0, 0, "@dana", "platform"),
    ];
    let daily = |values: &[f64]| values.iter().map(|v| Some(*v)).collect::<Vec<_>>();
    let metric =
        |key: &str, label: &str, value: f64, previous: f64, trend: Trend, improving: bool, d: &[f64]| TrendMetric {
            key: key.into(),
            label: label.into(),
            value: Some(value),
            previous: Some(previous),
            trend,
            improving,
            daily: daily(d),
        };
    let ramp = [40.0, 42.0, 45.0, 50.0, 61.0, 70.0, 74.0, 80.0, 84.0, 88.0, 90.0, 91.0, 93.0, 93.5];
    let falling = [90.0, 85.0, 80.0, 82.0, 70.0, 66.0, 60.0, 58.0, 55.0, 52.0, 50.0, 49.0, 48.0, 51.0];
    let mut rate = metric("validation_success_rate", "Validation success rate", 0.935, 0.801, Trend::Up, true, &ramp);
    rate.daily = ramp.iter().map(|v| Some(v / 100.0)).collect();
    rate.daily[2] = None;
    let milestone = |phase, name: &str, when: &str, days: i64| Milestone {
        phase,
        name: name.into(),
        at: at(when),
        days_remaining: days,
        passed: days <= 0,
    };
    RolloutStatus {
        now: now(),
        phase: Phase::Soft,
        planned: true,
        milestones: vec![
            milestone(Phase::Shadow, "Shadow mode begins", "2026-02-02T00:00:00Z", -28),
            milestone(Phase::Soft, "Soft fail begins", "2026-02-23T00:00:00Z", -7),
            milestone(Phase::SoftNoOverride, "Override flag disabled", "2026-03-06T00:00:00Z", 4),
            milestone(Phase::Hard, "Hard fail enforcement", "2026-03-13T00:00:00Z", 11),
        ],
        next: Some(NextPhase {
            milestone: milestone(Phase::SoftNoOverride, "Override flag disabled", "2026-03-06T00:00:00Z", 4),
            would_fail: vec!["billing-batch".into(), "legacy-migration".into(), "search-indexer".into()],
            unknown: vec!["nightly-reports".into()],
        }),
        metrics: vec![
            rate,
            metric("violations", "Total violations (7d)", 407.0, 980.0, Trend::Down, true, &falling),
            metric("override_use", "Override usage", 84.0, 84.0, Trend::Stable, true, &[12.0; 14]),
            metric("legacy_bucket_growth", "Legacy bucket growth", 0.0, 0.0, Trend::Stable, true, &[0.0; 14]),
            metric("legacy_attempts", "Legacy sentinel attempts (refused)", 3.0, 0.0, Trend::Up, false, &[0.0; 14]),
        ],
        services_total: services.len(),
        services,
        breach: Some(Breach {
            incident_id: 12,
            status: IncidentStatus::Open,
            opened_at: at("2026-03-02T11:04:00Z"),
            runs: 3,
        }),
        action_items: vec!["billing: Complete migration of billing-batch by 2026-03-06".into()],
        weekly_status: Some("mon 09:00 utc to @platform-team via email".into()),
    }
}

fn calibration() -> mandate::api::Calibration {
    use mandate::api::{Band, BandCalibration, CalibrationFlag, CauseTypeCalibration, ReliabilityBin};
    let band = |band, low, high, judged, confirmed: i64, flag| BandCalibration {
        band,
        low,
        high,
        judged,
        confirmed,
        observed: (judged > 0).then(|| confirmed as f64 / judged as f64),
        mean_score: Some(f64::from(low + high) / 200.0),
        flag,
    };
    mandate::api::Calibration {
        since: now() - Duration::days(30),
        until: now(),
        judged: 45,
        confirmed: 24,
        investigating: 2,
        brier: Some(0.184),
        min_judged: 5,
        bands: vec![
            band(Band::Likely, 70, 90, 30, 16, CalibrationFlag::Overconfident),
            band(Band::Suspected, 40, 70, 12, 7, CalibrationFlag::WithinRange),
            band(Band::Possible, 0, 40, 3, 1, CalibrationFlag::TooFew),
        ],
        cause_types: vec![
            CauseTypeCalibration {
                cause_type: "deploy".into(),
                judged: 25,
                confirmed: 12,
                observed: Some(0.48),
                mean_score: Some(0.78),
                brier: Some(0.21),
            },
            CauseTypeCalibration {
                cause_type: "config_change".into(),
                judged: 20,
                confirmed: 12,
                observed: Some(0.6),
                mean_score: Some(0.66),
                brier: Some(0.15),
            },
        ],
        reliability: (0..10)
            .map(|i| ReliabilityBin {
                from: i * 10,
                to: if i == 9 { 100 } else { i * 10 + 9 },
                judged: [0, 1, 2, 0, 5, 7, 0, 12, 18, 0][i as usize],
                predicted: Some(f64::from(i * 10 + 5) / 100.0),
                observed: Some([0.0, 0.0, 0.5, 0.0, 0.4, 0.57, 0.0, 0.58, 0.5, 0.0][i as usize]),
            })
            .collect(),
    }
}

fn suggestion_stats() -> mandate::api::SuggestionStats {
    use mandate::api::{ActedWith, InterventionKind, SuggestionKind, SuggestionKindStats};
    let kind = |kind, shown, acted, ignored, superseded, p50| SuggestionKindStats {
        kind,
        shown,
        acted,
        superseded,
        ignored,
        acceptance: Some(acted as f64 / (acted + ignored + superseded) as f64),
        time_to_action_p50_s: p50,
        time_to_action_max_s: p50.map(|s| s * 4),
        acted_with: vec![ActedWith { intervention: InterventionKind::PauseAgent, by: "alice".into(), count: acted }],
    };
    mandate::api::SuggestionStats {
        since: now() - Duration::days(30),
        kinds: vec![
            kind(SuggestionKind::Contain, 14, 9, 3, 2, Some(95)),
            kind(SuggestionKind::Investigate, 20, 0, 15, 5, None),
            kind(SuggestionKind::Coordinate, 8, 2, 6, 0, Some(1_260)),
        ],
    }
}

fn learned_rule(id: i64, state: mandate::api::RuleState) -> mandate::api::LearnedRule {
    mandate::api::LearnedRule {
        id,
        name: "Gate after-hours deploy on payments-* (from PAT-004)".into(),
        pattern_id: Some(4),
        matches: mandate::api::RuleMatch {
            action_type: Some("deploy".into()),
            resource: Some("payments-*".into()),
            business_hours: Some(false),
        },
        decision: mandate::api::RuleDecision::Gated,
        automation: None,
        state,
        source: "pattern:PAT-004 (third occurrence, incident #12)".into(),
        proposed_by: "mandate-learning".into(),
        proposed_at: now() - Duration::days(6),
        decided_by: Some("root-admin".into()),
        decided_at: Some(now() - Duration::days(5)),
        activated_at: Some(now() - Duration::days(5)),
        ended_at: None,
        sunset_proposed_at: None,
        last_fired_at: Some(now() - Duration::minutes(42)),
        fired: 3,
        interruptions_7d: 1,
    }
}

fn patterns() -> (mandate::api::PatternList, mandate::api::RuleList) {
    use mandate::api::{IncidentStatus, MatchLevel, PatternIncident, RuleState, Signature};
    let signature = Signature {
        action_type: Some("deploy".into()),
        resource_pattern: Some("payments-*".into()),
        failure_mode: Some("TIMEOUT".into()),
        actor_pattern: Some("deployer".into()),
        time_pattern: Some("after_hours".into()),
        sequence_pattern: Some("config_change".into()),
    };
    let incident = |id, days, level, score, status| PatternIncident {
        incident_id: id,
        title: "TIMEOUT on payments-service".into(),
        started_at: now() - Duration::days(days),
        status,
        level,
        score,
        undetermined: false,
    };
    let pattern = mandate::api::Pattern {
        id: 4,
        name: "PAT-004".into(),
        features: mandate::incident::patterns::feature_list(&signature),
        signature,
        frequency: 3,
        first_seen: now() - Duration::days(20),
        last_seen: now() - Duration::days(6),
        incidents: vec![
            incident(3, 20, MatchLevel::Exact, 100, IncidentStatus::Resolved),
            incident(7, 13, MatchLevel::Similar, 91, IncidentStatus::Resolved),
            incident(12, 6, MatchLevel::Exact, 100, IncidentStatus::Resolved),
            incident(14, 2, MatchLevel::Possible, 66, IncidentStatus::Open),
        ],
        suggestions: vec![mandate::api::SuggestionHistory {
            title: "Roll back payments-service to v41".into(),
            kind: mandate::api::SuggestionKind::Contain,
            suggested: 3,
            acted: 0,
            ignored: 3,
            incidents: 3,
        }],
        rule: Some(learned_rule(2, RuleState::Active)),
        escalated_incident: None,
    };
    let mut proposed = learned_rule(5, RuleState::Proposed);
    proposed.name = "require approval for schema migrations on user-db".into();
    proposed.proposed_by = "alice".into();
    let rules = mandate::api::RuleList {
        rules: vec![proposed, learned_rule(2, RuleState::Active)],
        friction: mandate::api::Friction {
            window_days: 7,
            interruptions: 4,
            budget: 20,
            over_budget: false,
            idle_days: 30,
            auto_allowed: false,
        },
    };
    (mandate::api::PatternList { patterns: vec![pattern] }, rules)
}

#[test]
fn calibration_and_patterns_screens() {
    let mut app = app();
    let keymap = Keymap::default();
    let dark = Theme::builtin("dark").unwrap();
    assert_eq!(command(&mut app, "calibration"), [Effect::Watch(Watch::Calibration)]);
    let waiting = text(&draw(&app, &dark, 80, 24));
    assert!(waiting.contains("calibration figures") && !waiting.contains("judged"), "{waiting}");
    update(&mut app, Action::Data(ScreenData::Calibration(Box::new(calibration()))), &keymap);
    update(&mut app, Action::Data(ScreenData::SuggestionStats(Box::new(suggestion_stats()))), &keymap);
    insta::assert_snapshot!("calibration_80x24", draw(&app, &dark, 80, 24).backend());
    insta::assert_snapshot!("calibration_160x48", draw(&app, &dark, 160, 48).backend());
    let shown = text(&draw(&app, &dark, 160, 48));
    assert!(shown.contains("LIKELY") && shown.contains("OVERCONFIDENT"), "{shown}");
    assert!(shown.contains("Brier score 0.184"), "{shown}");

    assert_eq!(command(&mut app, "patterns"), [Effect::Watch(Watch::Patterns)]);
    let (list, rules) = patterns();
    update(&mut app, Action::Data(ScreenData::Patterns(Box::new(list))), &keymap);
    update(&mut app, Action::Data(ScreenData::Rules(Box::new(rules))), &keymap);
    insta::assert_snapshot!("patterns_80x24", draw(&app, &dark, 80, 24).backend());
    insta::assert_snapshot!("patterns_160x48", draw(&app, &dark, 160, 48).backend());
    let shown = text(&draw(&app, &dark, 160, 48));
    assert!(shown.contains("suggested 3 times, ignored 3 times, 3 incidents"), "{shown}");
    assert!(shown.contains("#2 ACTIVE Gate after-hours deploy"), "{shown}");
    assert!(shown.contains("#5 PROPOSED require approval"), "{shown}");
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.screen(), Screen::Incidents);
}

/// Seed 11.3: the root-cause screen says when the operator leans on the scores.
#[test]
fn the_root_cause_screen_points_out_over_reliance() {
    let mut app = app();
    let keymap = Keymap::default();
    let dark = Theme::builtin("dark").unwrap();
    go_to(&mut app, "c");
    assert!(!text(&draw(&app, &dark, 80, 24)).contains("faster than"));
    let prompt = "4 of your last 5 confirmations came faster than their evidence can be read";
    let reliance = mandate::api::Reliance {
        person: "alice".into(),
        since: now() - Duration::days(30),
        confirmations: 5,
        timed: 5,
        quick: 4,
        likely_judged: 5,
        likely_confirmed: 5,
        prompts: vec![prompt.into()],
    };
    update(&mut app, Action::Reliance(Box::new(reliance)), &keymap);
    let shown = text(&draw(&app, &dark, 160, 48));
    assert!(shown.contains(prompt), "{shown}");
}

fn command(app: &mut App, line: &str) -> Vec<Effect> {
    key(app, KeyCode::Char(':'));
    for c in line.chars() {
        key(app, KeyCode::Char(c));
    }
    key(app, KeyCode::Enter)
}

#[test]
fn agents_audit_and_attribution_screens() {
    let mut app = app();
    let keymap = Keymap::default();
    let dark = Theme::builtin("dark").unwrap();
    assert_eq!(command(&mut app, "agents"), [Effect::Watch(Watch::Agents)]);
    update(&mut app, Action::Data(ScreenData::Agents(agents())), &keymap);
    let shown = text(&draw(&app, &dark, 80, 24));
    assert!(shown.contains("stops in force: not known yet"), "not known is not none: {shown}");
    update(&mut app, Action::Stops(stops()), &keymap);
    let wide = text(&draw(&app, &dark, 200, 40));
    for expected in [
        "Agents: 2 · 2 stopped · 1 out of contact",
        "■ agent deployer · stopped 14:27:00 by alice: 2 actions since, 3 attempts refused, 1 out of contact",
        "■ the fleet · stopped 14:29:00 by root: 0 actions since, 0 attempts refused, 0 out of contact · until 15:29:00 · all hands",
        "STOPPED (the fleet) · by root",
    ] {
        assert!(wide.contains(expected), "{expected:?}:\n{wide}");
    }
    insta::assert_snapshot!("agents_80x24", draw(&app, &dark, 80, 24).backend());
    insta::assert_snapshot!("agents_160x48", draw(&app, &dark, 160, 48).backend());
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(app.selected_agent().unwrap().agent_id, "config-gen");

    assert_eq!(command(&mut app, "audit"), [Effect::Watch(Watch::Audit)]);
    update(&mut app, Action::Data(ScreenData::Audit(Box::new(audit_page(true)))), &keymap);
    insta::assert_snapshot!("audit_80x24", draw(&app, &dark, 80, 24).backend());
    insta::assert_snapshot!("audit_160x48", draw(&app, &dark, 160, 48).backend());
    update(&mut app, Action::Data(ScreenData::Audit(Box::new(audit_page(false)))), &keymap);
    let shown = text(&draw(&app, &dark, 120, 24));
    assert!(shown.contains("CHAIN BROKEN at entry #2"), "{shown}");

    assert_eq!(command(&mut app, "attribution"), [Effect::Watch(Watch::Attribution)]);
    update(&mut app, Action::Data(ScreenData::Attribution(Box::new(rollout()))), &keymap);
    insta::assert_snapshot!("attribution_80x24", draw(&app, &dark, 80, 24).backend());
    insta::assert_snapshot!("attribution_160x48", draw(&app, &dark, 160, 48).backend());
    let shown = text(&draw(&app, &dark, 80, 24));
    for expected in [
        "Soft fail since 02-23 · next: Override flag disabled 03-06, in 4 days",
        "3 would fail it now: billing-batch +2 more · 1 silent, not known",
        "BREACH #12 OPEN since 03-02 11:04: 3 legacy runs — b opens it",
        "Success rate (7d)",
        "93.5% ▲ from 80.1%",
        "▶ billing-batch",
        "VIOLATING",
        "nightly-reports",
    ] {
        assert!(shown.contains(expected), "{expected:?}:\n{shown}");
    }
    let wide = text(&draw(&app, &dark, 160, 48));
    assert!(wide.contains("3 would fail it now: billing-batch, legacy-migration, search-indexer"), "{wide}");
    // The same answer again (the server's clock moved): nothing to redraw.
    let mut later = rollout();
    later.now = now() + chrono::Duration::seconds(10);
    assert!(!update(&mut app, Action::Data(ScreenData::Attribution(Box::new(later))), &keymap).0);

    // The selection moves; Enter opens the owner and the latest refusal.
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(app.selected_service().unwrap().name, "legacy-migration");
    key(&mut app, KeyCode::Char('k'));
    key(&mut app, KeyCode::Enter);
    insta::assert_snapshot!("attribution_detail_80x24", draw(&app, &dark, 80, 24).backend());
    let shown = text(&draw(&app, &dark, 120, 30));
    assert!(shown.contains("Owner: @vic (owner of billing-batch)"), "{shown}");
    assert!(shown.contains("agent_id=invoice-exporter"), "{shown}");
    assert!(shown.contains("Reached out 03-01 09:12 by alice to @vic"), "{shown}");
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.screen(), Screen::Attribution, "Esc closes the detail first");

    // f: one status at a time; past the last, all again.
    key(&mut app, KeyCode::Char('f'));
    key(&mut app, KeyCode::Char('f'));
    let shown = text(&draw(&app, &dark, 80, 24));
    assert!(shown.contains("showing using override") && shown.contains("SERVICE (1 of 6)"), "{shown}");
    assert_eq!(app.selected_service().unwrap().name, "search-indexer");
    for _ in 0..3 {
        key(&mut app, KeyCode::Char('f'));
    }
    assert!(text(&draw(&app, &dark, 80, 24)).contains("SERVICE (6)"));

    // o on a compliant service explains; on a violating one, a dialog.
    key(&mut app, KeyCode::Char('G'));
    key(&mut app, KeyCode::Char('o'));
    assert!(app.dialog().is_none());
    assert!(app.message.as_deref().unwrap().contains("deploy-bot is compliant"), "{:?}", app.message);
    key(&mut app, KeyCode::Char('g'));
    key(&mut app, KeyCode::Char('o'));
    let dialog = app.dialog().expect("outreach asks first");
    assert!(dialog.plan.effects().iter().any(|e| e.contains("@vic") && e.contains("billing-batch")));
    key(&mut app, KeyCode::Esc);

    // b: the breach incident.
    key(&mut app, KeyCode::Char('b'));
    assert_eq!(app.focused_incident(), Some(12));
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.screen(), Screen::Incidents);
}

#[test]
fn the_dialog_previews_defaults_to_no_and_needs_an_explicit_y() {
    let mut app = app();
    let keymap = Keymap::default();
    command(&mut app, "agents");
    update(&mut app, Action::Data(ScreenData::Agents(agents())), &keymap);
    key(&mut app, KeyCode::Char('j'));
    assert!(key(&mut app, KeyCode::Char('p')).is_empty(), "pausing asks first");
    let dark = Theme::builtin("dark").unwrap();
    insta::assert_snapshot!("dialog_pause_80x24", draw(&app, &dark, 80, 24).backend());
    insta::assert_snapshot!("dialog_pause_160x48", draw(&app, &dark, 160, 48).backend());
    let shown = text(&draw(&app, &dark, 80, 24));
    assert!(shown.contains("This will:") && shown.contains("stop agent config-gen"), "{shown}");
    // Focus starts in the reason field: typed words go there, not to the buttons.
    assert!(!app.dialog().unwrap().on_buttons());
    for c in "paging dba".chars() {
        assert!(key(&mut app, KeyCode::Char(c)).is_empty(), "{c} is text");
    }
    assert_eq!(app.dialog().unwrap().fields[0].value, "paging dba");
    let shown = text(&draw(&app, &dark, 80, 24));
    assert!(shown.contains("give the reason: paging dba"), "the preview follows the typing:\n{shown}");
    // Enter moves on (past how long it lasts) to the buttons; there Enter
    // takes the default: No.
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert!(app.dialog().unwrap().on_buttons());
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert!(app.dialog().is_none());
    assert!(app.message.as_deref().unwrap().contains("nothing sent"));
    // On the buttons, y right after opening is refused: keys already on
    // their way must not answer a question nobody has read.
    key(&mut app, KeyCode::Char('p'));
    key(&mut app, KeyCode::BackTab);
    assert!(app.dialog().unwrap().on_buttons(), "shift-tab wraps to the buttons");
    assert!(key(&mut app, KeyCode::Char('y')).is_empty());
    assert!(app.dialog().unwrap().problem.as_deref().unwrap().contains("read it first"));
    app.dialog_mut().unwrap().opened_at -= mandate::console::intent::CONFIRM_GUARD;
    let effects = key(&mut app, KeyCode::Char('y'));
    let [Effect::Send(intent)] = &effects[..] else { panic!("{effects:?}") };
    assert_eq!(intent.path, "/api/v1/agents/config-gen/interventions");
    assert_eq!(intent.body["kind"], "pause_agent");
    assert_eq!(intent.body["actor_type"], "HUMAN");
    key(&mut app, KeyCode::Char('p'));
    key(&mut app, KeyCode::BackTab);
    app.dialog_mut().unwrap().opened_at -= mandate::console::intent::CONFIRM_GUARD;
    assert!(key(&mut app, KeyCode::Char('y')).is_empty(), "the same intent is not sent twice while pending");
    assert!(app.message.as_deref().unwrap().starts_with("already sending"));
    update(
        &mut app,
        Action::Sent { key: intent.key.clone(), outcome: Err("AGENT_UNKNOWN no such agent".into()) },
        &keymap,
    );
    assert_eq!(app.message.as_deref(), Some("✗ stop agent config-gen failed: AGENT_UNKNOWN no such agent"));

    // An irreversible one needs its fields and Ctrl-Y: y alone is refused.
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Enter);
    update(&mut app, Action::Detail(Box::new(rich_detail())), &keymap);
    assert!(key(&mut app, KeyCode::Char('R')).is_empty());
    let dialog = app.dialog().unwrap();
    assert_eq!(dialog.fields[dialog.focus].label(), "command", "the first field has the focus");
    // Prefilled with the revert the suggestion names; the responder makes it exact.
    assert_eq!(dialog.fields[dialog.focus].value, "Revert config pool_size on payments-service");
    update(&mut app, Action::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)), &keymap);
    for c in "kubectl rollout undo deploy/payments".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    app.dialog_mut().unwrap().opened_at -= mandate::console::intent::CONFIRM_GUARD;
    assert!(key(&mut app, KeyCode::Char('y')).is_empty());
    assert_eq!(app.dialog().unwrap().problem.as_deref(), Some("this cannot be undone: press Ctrl-Y to confirm"));
    let ctrl_y = |app: &mut App| {
        update(app, Action::Key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::CONTROL)), &Keymap::default()).1
    };
    assert!(ctrl_y(&mut app).is_empty());
    assert_eq!(app.dialog().unwrap().problem.as_deref(), Some("reason is required"));
    for c in "bad pool size".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Tab);
    let effects = ctrl_y(&mut app);
    let [Effect::Send(intent)] = &effects[..] else { panic!("{effects:?}") };
    assert_eq!(intent.body["kind"], "trigger_rollback");
    assert_eq!(intent.body["confirm"], true);
    assert_eq!(intent.body["command"], "kubectl rollout undo deploy/payments");
    assert_eq!(intent.body["reason"], "bad pool size");
    assert_eq!(intent.body["resource"], "payments-service");
}

/// Opens a screen as an operator would, with its data: "incidents",
/// "incident", "b" (blast radius), "c" (root causes), or a `:` command.
fn go_to(app: &mut App, how: &str) {
    let keymap = Keymap::default();
    match how {
        "incidents" => {}
        "incident" | "b" | "c" => {
            key(app, KeyCode::Enter);
            update(app, Action::Detail(Box::new(rich_detail())), &keymap);
            if how != "incident" {
                key(app, KeyCode::Char(how.chars().next().unwrap()));
            }
        }
        other => {
            command(app, other);
            update(app, Action::Data(ScreenData::Agents(agents())), &keymap);
            update(app, Action::Data(ScreenData::Attribution(Box::new(rollout()))), &keymap);
        }
    }
}

/// Every intervention key of every screen, for an app on `screen`.
fn intervention_keys(keymap: &Keymap, mode: Mode) -> Vec<(ratatui::crossterm::event::KeyEvent, KeyAction)> {
    keymap.bindings_for(mode).iter().filter(|b| b.action.is_intervention()).map(|b| (b.key.event(), b.action)).collect()
}

#[test]
fn read_only_blocks_every_intervention_key_on_every_screen() {
    let keymap = Keymap::default();
    let screens: [(&str, Mode); 8] = [
        ("incidents", Mode::Incidents),
        ("incident", Mode::Incident),
        ("b", Mode::BlastRadius),
        ("c", Mode::RootCauses),
        ("activity", Mode::Activity),
        ("agents", Mode::Agents),
        ("audit", Mode::Audit),
        ("attribution", Mode::Attribution),
    ];
    let open = |how: &str, readonly: bool, role: Role| {
        let mut app = App::new("h", None, readonly, now());
        update(&mut app, Action::Incidents(Box::new(page()), now()), &keymap);
        update(&mut app, Action::Whoami(WhoAmI { name: "alice".into(), role }, Some("0.2.0 (API v1)".into())), &keymap);
        go_to(&mut app, how);
        app
    };
    let mut checked = 0;
    for (how, mode) in screens {
        for (press, action) in intervention_keys(&keymap, mode) {
            for (readonly, role) in [(true, Role::Responder), (false, Role::Viewer)] {
                let mut app = open(how, readonly, role);
                if action == KeyAction::Dispute && !readonly {
                    // A viewer may dispute an attribution: it may be their name on it.
                    update(&mut app, Action::Key(press), &keymap);
                    assert!(app.dialog().is_some(), "{how} {press:?}: a viewer disputes");
                    continue;
                }
                assert_eq!(app.mode(), mode);
                let (_, effects) = update(&mut app, Action::Key(press), &keymap);
                assert!(effects.is_empty(), "{how} {press:?}: {effects:?}");
                assert!(app.dialog().is_none(), "{how} {press:?}: no dialog either");
                let message = app.message.clone().unwrap_or_default();
                assert!(message.contains("read-only"), "{how} {press:?}: {message}");
                checked += 1;
            }
            // The same key does act for a responder: the test could fail.
            let mut app = open(how, false, Role::Responder);
            let (_, effects) = update(&mut app, Action::Key(press), &keymap);
            let acted = !effects.is_empty() || app.dialog().is_some();
            let message = app.message.clone().unwrap_or_default();
            assert!(acted || !message.contains("read-only"), "{how} {press:?}: {message}");
        }
    }
    assert!(checked >= 40, "{checked} keys checked");
}

#[test]
fn y_copies_the_incident_with_osc52() {
    let mut app = app();
    let effects = key(&mut app, KeyCode::Char('y'));
    let [Effect::Copy(text)] = &effects[..] else { panic!("{effects:?}") };
    assert!(text.starts_with("Incident #12 [CRITICAL OPEN] CONFIG_INVALID on payments-service"), "{text}");
    let seq = mandate::console::clipboard::osc52(text);
    assert!(seq.starts_with("\u{1b}]52;c;") && seq.ends_with('\u{7}'));
}

// ---- Hostile strings in every field (issue 7) ---------------------------

const HOSTILE: &str = "\u{1b}[2J\u{1b}]52;c;cHduZWQ=\u{7}\u{9b}31m\u{202e}evil\u{2066}\u{0}\r\n漢字🚨e\u{301}";

/// `value` with every string the type accepts as free text replaced by an
/// attack and 3,000 more characters, decoded as the console decodes.
fn hostile_everywhere<T: serde::Serialize + serde::de::DeserializeOwned>(value: &T) -> T {
    fn strings(value: &serde_json::Value, at: String, out: &mut Vec<String>) {
        match value {
            serde_json::Value::String(_) => out.push(at),
            serde_json::Value::Array(items) => {
                items.iter().enumerate().for_each(|(i, v)| strings(v, format!("{at}/{i}"), out))
            }
            serde_json::Value::Object(fields) => fields
                .iter()
                .for_each(|(k, v)| strings(v, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out)),
            _ => {}
        }
    }
    let mut doc = serde_json::to_value(value).unwrap();
    let mut pointers = vec![];
    strings(&doc, String::new(), &mut pointers);
    let attack = format!("{HOSTILE}{}", "W".repeat(3000));
    let mut replaced = 0;
    for pointer in pointers {
        let old = std::mem::replace(doc.pointer_mut(&pointer).unwrap(), attack.clone().into());
        // Enums and timestamps refuse it: those are not free text.
        if serde_json::from_value::<T>(doc.clone()).is_err() {
            *doc.pointer_mut(&pointer).unwrap() = old;
        } else {
            replaced += 1;
        }
    }
    assert!(replaced > 0);
    decode_clean(&serde_json::to_vec(&doc).unwrap()).unwrap()
}

/// Every screen, from the same data, plain or hostile.
fn every_screen(hostile: bool) -> Vec<(String, App)> {
    let keymap = Keymap::default();
    let pick = |v: IncidentPage| if hostile { hostile_everywhere(&v) } else { v };
    let mut app = App::new("mandate.internal:7400", Some("prod".into()), false, now());
    let mut list = pick(page());
    for (plain, attacked) in page().incidents.iter().zip(list.incidents.iter_mut()) {
        // The list is sorted by these; the attack is in the text.
        (attacked.id, attacked.started_at) = (plain.id, plain.started_at);
    }
    update(&mut app, Action::Incidents(Box::new(list), now()), &keymap);
    update(
        &mut app,
        Action::Whoami(WhoAmI { name: "alice".into(), role: Role::Responder }, Some("0.2.0 (API v1)".into())),
        &keymap,
    );
    let detail = if hostile { hostile_everywhere(&rich_detail()) } else { rich_detail() };
    let mut screens = vec![("incidents".to_owned(), app.clone())];
    key(&mut app, KeyCode::Enter);
    let mut detail = detail;
    detail.summary.id = app.focused_incident().unwrap();
    update(&mut app, Action::Detail(Box::new(detail)), &keymap);
    for level in 1..=3 {
        screens.push((format!("level {level}"), app.clone()));
        key(&mut app, KeyCode::Char('+'));
    }
    for (name, k) in [("blast radius", 'b'), ("root causes", 'c')] {
        let mut triage = app.clone();
        key(&mut triage, KeyCode::Char(k));
        screens.push((name.to_owned(), triage));
    }
    command(&mut app, "activity");
    for topic in [Topic::Live, Topic::Completed] {
        let d = distribution(topic, Dimension::ProviderType, &[("anthropic", 41), ("openai", 17)]);
        let d = if hostile { hostile_everywhere(&d) } else { d };
        update(&mut app, Action::Data(ScreenData::Distribution(Box::new(d))), &keymap);
    }
    screens.push(("activity".to_owned(), app.clone()));
    command(&mut app, "agents");
    let a = if hostile { hostile_everywhere(&agents()) } else { agents() };
    update(&mut app, Action::Data(ScreenData::Agents(a)), &keymap);
    screens.push(("agents".to_owned(), app.clone()));
    command(&mut app, "audit");
    let a = if hostile { hostile_everywhere(&audit_page(true)) } else { audit_page(true) };
    update(&mut app, Action::Data(ScreenData::Audit(Box::new(a))), &keymap);
    screens.push(("audit".to_owned(), app.clone()));
    command(&mut app, "attribution");
    let s = if hostile { hostile_everywhere(&rollout()) } else { rollout() };
    update(&mut app, Action::Data(ScreenData::Attribution(Box::new(s))), &keymap);
    screens.push(("attribution".to_owned(), app.clone()));
    command(&mut app, "routing");
    let doc = mandate::routing::Routing::builtin().document().clone();
    let usage = mandate::api::RoutingUsage {
        days: 30,
        rules: vec![
            mandate::api::RuleUsage {
                rule: Some("critical".into()),
                incidents: 4,
                last_matched: Some(now()),
                never_matched: false,
            },
            mandate::api::RuleUsage { rule: Some("low".into()), incidents: 0, last_matched: None, never_matched: true },
            mandate::api::RuleUsage { rule: None, incidents: 2, last_matched: Some(now()), never_matched: false },
        ],
    };
    let (doc, usage) = if hostile { (hostile_everywhere(&doc), hostile_everywhere(&usage)) } else { (doc, usage) };
    update(&mut app, Action::Data(ScreenData::Routing(Box::new(doc))), &keymap);
    update(&mut app, Action::Data(ScreenData::RoutingUsage(Box::new(usage))), &keymap);
    screens.push(("routing".to_owned(), app.clone()));
    command(&mut app, "notifications");
    let mut pages = self::detail().pages;
    let mut ack = pages[0].clone();
    ack.kind = mandate::api::NoticeKind::Acknowledged;
    ack.id = "ack-1".into();
    pages.insert(0, ack);
    pages[2].last_error = Some("HTTP 404: no_service (the Slack webhook was removed)".into());
    let list = mandate::api::PageList {
        counts: vec![
            mandate::api::StateCount { state: mandate::api::DeliveryState::Sent, count: 3 },
            mandate::api::StateCount { state: mandate::api::DeliveryState::Dead, count: 1 },
            mandate::api::StateCount { state: mandate::api::DeliveryState::Pending, count: 2 },
        ],
        notifications: pages,
    };
    let list = if hostile { hostile_everywhere(&list) } else { list };
    update(&mut app, Action::Data(ScreenData::Notifications(Box::new(list))), &keymap);
    screens.push(("notifications".to_owned(), app.clone()));
    command(&mut app, "silences");
    let list = if hostile { hostile_everywhere(&silences()) } else { silences() };
    update(&mut app, Action::Data(ScreenData::Silences(Box::new(list))), &keymap);
    screens.push(("silences".to_owned(), app.clone()));
    command(&mut app, "calibration");
    let (c, s) = (calibration(), suggestion_stats());
    let (c, s) = if hostile { (hostile_everywhere(&c), hostile_everywhere(&s)) } else { (c, s) };
    update(&mut app, Action::Data(ScreenData::Calibration(Box::new(c))), &keymap);
    update(&mut app, Action::Data(ScreenData::SuggestionStats(Box::new(s))), &keymap);
    screens.push(("calibration".to_owned(), app.clone()));
    command(&mut app, "patterns");
    let (p, r) = patterns();
    let (p, r) = if hostile { (hostile_everywhere(&p), hostile_everywhere(&r)) } else { (p, r) };
    update(&mut app, Action::Data(ScreenData::Patterns(Box::new(p))), &keymap);
    update(&mut app, Action::Data(ScreenData::Rules(Box::new(r))), &keymap);
    screens.push(("patterns".to_owned(), app.clone()));
    command(&mut app, "approvals");
    let list = if hostile { hostile_everywhere(&approvals()) } else { approvals() };
    update(&mut app, Action::Approvals(Box::new(list)), &keymap);
    screens.push(("approvals".to_owned(), app.clone()));
    key(&mut app, KeyCode::Char('?'));
    screens.push(("help".to_owned(), app));
    screens
}

/// A gated drop waiting (four eyes), a two-key rotation with one approval
/// given, and one denied; a week's friction over the budget.
fn approvals() -> mandate::api::ApprovalList {
    use mandate::api::{ApprovalFriction, ApprovalRequest, ApprovalStatus, ApprovalVote, GateFriction};
    let one = |id: i64, agent: &str, action: &str, resource: &str, summary: &str| ApprovalRequest {
        id,
        status: ApprovalStatus::Waiting,
        proceed: false,
        agent_id: agent.into(),
        run_id: None,
        on_behalf_of: None,
        action_type: action.into(),
        resource: Some(resource.into()),
        summary: summary.into(),
        critical_point: Some("production data deletion".into()),
        rule: None,
        reason: "Irreversible production data operation".into(),
        blast_preview: vec!["payments-service".into(), "billing-service".into()],
        past_incidents: vec![],
        incident_id: Some(40 + id),
        created_at: now() - chrono::Duration::minutes(2),
        expires_at: now() + chrono::Duration::minutes(8),
        on_timeout: "deny".into(),
        four_eyes: true,
        approvals_needed: 1,
        approvals: vec![],
        decided_at: None,
        decided_by: None,
        decision_reason: None,
        digest: "9f2c".repeat(16),
    };
    let mut drop =
        one(3, "schema-janitor", "drop_table", "payments-db", "DROP TABLE sessions_2019: unread for 90 days");
    drop.on_behalf_of = Some("ola".into());
    let mut keys = one(2, "key-rotator", "rotate_keys", "payments-service", "rotate the card-vault signing keys");
    keys.critical_point = Some("two keys for payments".into());
    keys.approvals_needed = 2;
    keys.expires_at = now() + chrono::Duration::seconds(95);
    keys.approvals = vec![ApprovalVote { by: "dana".into(), at: now(), reason: "scheduled rotation".into() }];
    let mut denied = one(1, "db-migrator", "truncate", "user-db", "TRUNCATE audit_log");
    denied.status = ApprovalStatus::Denied;
    denied.decided_at = Some(now() - chrono::Duration::minutes(30));
    denied.decided_by = Some("alice".into());
    denied.decision_reason = Some("audit log is evidence".into());
    let friction = ApprovalFriction {
        window_days: 7,
        actions: 1200,
        gated: 72,
        share: 0.06,
        budget: 0.05,
        over_budget: true,
        approved: 51,
        denied: 12,
        timed_out: 6,
        abandoned: 1,
        waiting: 2,
        median_seconds: Some(42.0),
        p95_seconds: Some(190.0),
        gates: vec![GateFriction {
            gate: "critical point production data deletion".into(),
            gated: 64,
            share: 0.053,
            over_budget: true,
        }],
    };
    mandate::api::ApprovalList { approvals: vec![keys, drop, denied], waiting: 2, friction }
}

/// An active silence, a weekly window to come, and one that ended unused.
fn silences() -> mandate::api::SilenceList {
    use mandate::api::{Silence, SilenceMatch, SilenceState, WeeklyWindow};
    let one = |id: i64, resource: &str, reason: &str, state: SilenceState, incidents: i64| Silence {
        id,
        matches: SilenceMatch { resource: Some(resource.into()), severity: Some(Severity::High), ..Default::default() },
        owner: "alice".into(),
        reason: reason.into(),
        starts_at: now() - Duration::minutes(30),
        ends_at: now() + Duration::minutes(90),
        weekly: None,
        created_at: now() - Duration::minutes(30),
        lifted_at: None,
        lifted_by: None,
        incidents,
        state,
        unused: false,
        routing_name: None,
    };
    let active = one(3, "payments-db", "payments-db migration (CHG-2231)", SilenceState::Active, 2);
    let mut weekly = one(2, "search-*", "weekly reindex", SilenceState::Scheduled, 0);
    weekly.weekly = Some(WeeklyWindow { days: vec!["sat".into()], start: "02:00".into(), minutes: 120 });
    weekly.ends_at = now() + Duration::days(60);
    weekly.routing_name = Some("search-reindex".into());
    let mut unused = one(1, "ledger", "quarter close", SilenceState::Expired, 0);
    unused.ends_at = now() - Duration::hours(2);
    unused.unused = true;
    mandate::api::SilenceList { silences: vec![active, weekly, unused] }
}

#[test]
fn hostile_strings_in_every_field_never_reach_the_screen_and_the_layout_holds() {
    let dark = Theme::builtin("dark").unwrap();
    let plain = every_screen(false);
    let hostile = every_screen(true);
    assert_eq!(plain.len(), 17);
    for ((name, plain), (_, hostile)) in plain.iter().zip(&hostile) {
        for (w, h) in [(80u16, 24u16), (160, 48)] {
            let attacked = draw(hostile, &dark, w, h);
            let buffer = attacked.backend().buffer();
            for cell in buffer.content() {
                assert_eq!(
                    mandate::console::sanitize::clean(cell.symbol()),
                    cell.symbol(),
                    "{name} at {w}x{h}: a dangerous character reached the screen"
                );
            }
            // The frame holds: status and hint rows, and the outer borders, are
            // where they are with harmless data.
            let reference = draw(plain, &dark, w, h);
            let row = |b: &ratatui::buffer::Buffer, y: u16| -> String { (0..w).map(|x| b[(x, y)].symbol()).collect() };
            let edges = |b: &ratatui::buffer::Buffer| -> Vec<String> {
                (0..h).map(|y| format!("{}{}", b[(0, y)].symbol(), b[(w - 1, y)].symbol())).collect()
            };
            let expected = reference.backend().buffer();
            assert_eq!(row(buffer, h - 1), row(expected, h - 1), "{name} at {w}x{h}: the hint row moved");
            assert_eq!(row(buffer, 0), row(expected, 0), "{name} at {w}x{h}: the status row moved");
            let is_border = |s: &String| s.chars().all(|c| "│┌┐└┘├┤─╭╮╰╯".contains(c));
            let borders = |e: Vec<String>| -> Vec<bool> { e.iter().map(is_border).collect() };
            assert_eq!(borders(edges(buffer)), borders(edges(expected)), "{name} at {w}x{h}: the borders moved");
        }
    }
}

// ---- Deliberate actions and honest state (issue 12) ----------------------

/// A runbook with every letter, upper and lower case, digits and line breaks:
/// typed as keys it would trigger every binding there is.
const RUNBOOK: &str = "1. deploy: kubectl rollout undo deploy/payments -n prod\n\
    2. verify pool_size=20; page the DBA if QPS > 5k (JIRA-4711)\n\
    3. BCFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz y y Y q q\n";

/// The same text as a terminal without bracketed paste delivers it: a run
/// of key presses, as the event loop sees them together.
fn burst(text: &str) -> Vec<ratatui::crossterm::event::Event> {
    use ratatui::crossterm::event::Event;
    text.chars()
        .map(|c| match c {
            '\n' => Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
            c => Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        })
        .collect()
}

#[test]
fn keys_typed_ahead_act_and_a_question_waits_for_keys_after_it() {
    use mandate::console::app::update_batch;
    use mandate::console::paste::actions;
    let keymap = Keymap::default();
    let mut app = self::app();
    update_batch(&mut app, actions(burst(":11\n")), &keymap);
    assert_eq!(app.screen(), Screen::Incident { id: 11, level: 1 }, "a command typed fast still runs");
    let mut app = self::app();
    let before = app.list.selected();
    update_batch(&mut app, actions(burst("jj")), &keymap);
    assert_ne!(app.list.selected(), before, "both moves taken");
    // q opens the prompt; the y that came with it is not its answer.
    let mut app = self::app();
    let (_, effects) = update_batch(&mut app, actions(burst("qy")), &keymap);
    assert!(!effects.contains(&Effect::Quit), "{effects:?}");
    assert!(matches!(app.overlay, Some(mandate::console::overlay::Overlay::Quit)));
    assert!(app.message.as_deref().unwrap_or("").contains("not taken as its answer"), "{:?}", app.message);
    let (_, effects) = update_batch(&mut app, actions(burst("y")), &keymap);
    assert_eq!(effects, [Effect::Quit], "a later y answers");
}

/// Every screen, each with every dialog its keys open, for a responder.
fn every_screen_and_dialog() -> Vec<(String, App)> {
    let keymap = Keymap::default();
    let mut out = Vec::new();
    for how in
        ["incidents", "incident", "b", "c", "activity", "agents", "audit", "attribution", "calibration", "patterns"]
    {
        let mut app = app();
        go_to(&mut app, how);
        for (press, _) in intervention_keys(&keymap, app.mode()) {
            let mut with_dialog = app.clone();
            update(&mut with_dialog, Action::Key(press), &keymap);
            if with_dialog.dialog().is_some() {
                out.push((format!("{how} + dialog of {press:?}"), with_dialog.clone()));
                // The same dialog with the focus on its buttons.
                update(&mut with_dialog, Action::Key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::NONE)), &keymap);
                with_dialog.dialog_mut().unwrap().opened_at -= mandate::console::intent::CONFIRM_GUARD;
                out.push((format!("{how} + dialog of {press:?} on its buttons"), with_dialog));
            }
        }
        out.push((how.to_owned(), app));
    }
    out
}

#[test]
fn a_pasted_runbook_acts_on_nothing_on_any_screen_or_in_any_dialog() {
    let keymap = Keymap::default();
    let cases = every_screen_and_dialog();
    assert!(cases.len() > 30, "{} cases", cases.len());
    for (name, start) in cases {
        for (how, actions) in [
            ("bracketed", vec![Action::Paste(RUNBOOK.to_owned())]),
            ("unbracketed", mandate::console::paste::actions(burst(RUNBOOK))),
        ] {
            let mut app = start.clone();
            for action in actions {
                let (_, effects) = update(&mut app, action, &keymap);
                let acted: Vec<&Effect> =
                    effects.iter().filter(|e| matches!(e, Effect::Send(_) | Effect::Quit | Effect::Copy(_))).collect();
                assert!(acted.is_empty(), "{name}, {how} paste: {acted:?}");
            }
            let screens = |a: &App| a.screens.iter().map(View::screen).collect::<Vec<_>>();
            assert_eq!(screens(&app), screens(&start), "{name}, {how} paste: the screen did not change");
            assert_eq!(app.dialog().is_some(), start.dialog().is_some(), "{name}, {how}: the dialog stays as it was");
            match app.dialog() {
                Some(d) if !d.on_buttons() => {
                    let field = &d.fields[d.focus];
                    assert!(
                        field.value.contains("kubectl rollout undo"),
                        "{name}, {how}: the text went into the field"
                    );
                }
                Some(d) => assert!(d.problem.as_deref().unwrap_or("").contains("pasted text ignored"), "{name}"),
                None => {
                    let message = app.message.clone().unwrap_or_default();
                    assert!(message.starts_with("ignored pasted text"), "{name}, {how}: {message}");
                }
            }
        }
    }
}

#[test]
fn a_reason_typed_into_the_escalate_dialog_stays_text() {
    let mut app = app();
    assert_eq!(key(&mut app, KeyCode::Char('e')), [Effect::FetchDetail(12)], "the detail is read first");
    update(&mut app, Action::Detail(Box::new(rich_detail())), &Keymap::default());
    assert!(app.dialog().is_some(), "escalating asks first");
    for c in "paging dba".chars() {
        assert!(key(&mut app, KeyCode::Char(c)).is_empty(), "{c:?} acts on nothing");
    }
    let dialog = app.dialog().expect("the dialog is still open: n did not cancel it");
    assert_eq!(dialog.fields[dialog.focus].value, "paging dba");
    assert_eq!(
        app.incidents.iter().find(|i| i.id == 12).unwrap().status,
        IncidentStatus::Open,
        "a did not acknowledge"
    );
}

#[test]
fn the_escalate_dialog_names_who_the_next_level_reaches() {
    let mut opened = triage('b');
    key(&mut opened, KeyCode::Esc);
    key(&mut opened, KeyCode::Char('e'));
    let shown = text(&draw(&opened, &Theme::builtin("dark").unwrap(), 120, 40));
    assert!(shown.contains("page the next level now: secondary: @payments-oncall"), "{shown}");
    // From the list, the same key reads the incident first and previews
    // the same level: one source for the preview and the action.
    let mut listed = app();
    assert_eq!(key(&mut listed, KeyCode::Char('e')), [Effect::FetchDetail(12)]);
    assert!(listed.dialog().is_none(), "no preview before the detail says who is next");
    update(&mut listed, Action::Detail(Box::new(rich_detail())), &Keymap::default());
    let from_list = text(&draw(&listed, &Theme::builtin("dark").unwrap(), 120, 40));
    assert!(from_list.contains("page the next level now: secondary: @payments-oncall"), "{from_list}");
    // Acknowledged: the timers are cancelled, and the preview still names
    // the next level of the chain, as escalating pages it.
    let mut acked = rich_detail();
    acked.summary.status = IncidentStatus::Acknowledged;
    for page in &mut acked.pages {
        if page.state == mandate::api::DeliveryState::Pending {
            page.state = mandate::api::DeliveryState::Cancelled;
        }
    }
    let mut listed = app();
    key(&mut listed, KeyCode::Char('e'));
    update(&mut listed, Action::Detail(Box::new(acked)), &Keymap::default());
    let acked_preview = text(&draw(&listed, &Theme::builtin("dark").unwrap(), 120, 40));
    assert!(acked_preview.contains("page the next level now: secondary: @payments-oncall"), "{acked_preview}");
}

#[test]
fn an_intervention_awaiting_its_detail_does_not_act_once_the_operator_moved_on() {
    let mut app = app();
    assert_eq!(key(&mut app, KeyCode::Char('e')), [Effect::FetchDetail(12)]);
    key(&mut app, KeyCode::Char('j'));
    update(&mut app, Action::Detail(Box::new(rich_detail())), &Keymap::default());
    assert!(app.dialog().is_none(), "the selection moved: the escalate dialog does not open on another row");
    assert!(app.message.as_deref().unwrap_or("").contains("moved away from incident #12"), "{:?}", app.message);
}

#[test]
fn a_run_of_q_never_quits_without_a_prompt() {
    let mut app = app();
    for _ in 0..5 {
        assert!(!key(&mut app, KeyCode::Char('q')).contains(&Effect::Quit));
    }
    let shown = text(&draw(&app, &Theme::builtin("dark").unwrap(), 80, 24));
    assert!(shown.contains("Quit mandate?"), "{shown}");
    assert_eq!(key(&mut app, KeyCode::Char('y')), [Effect::Quit]);
    // q on a sub-screen goes back; Ctrl-C leaves at once.
    let mut app = triage('c');
    key(&mut app, KeyCode::Char('q'));
    assert_eq!(app.screen(), Screen::Incident { id: 12, level: 1 });
    let interrupt =
        update(&mut app, Action::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), &Keymap::default());
    assert_eq!(interrupt.1, [Effect::Quit]);
}

#[test]
fn esc_goes_back_where_you_came_from_and_an_incident_opens_by_number() {
    let mut app = app();
    command(&mut app, "agents");
    assert_eq!(command(&mut app, "11"), [Effect::Watch(Watch::Incident(11))]);
    assert_eq!(app.screen(), Screen::Incident { id: 11, level: 1 });
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.screen(), Screen::Agents, "back to the agents, where it was opened from");
    command(&mut app, "#9");
    assert_eq!(app.screen(), Screen::Incident { id: 9, level: 1 });
}

#[test]
fn the_filter_clears_with_ctrl_u_and_esc_cancels_it() {
    let mut app = app();
    key(&mut app, KeyCode::Char('/'));
    for c in "user".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    assert_eq!(app.row_count(), 1);
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('/'));
    update(&mut app, Action::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)), &Keymap::default());
    assert_eq!(app.row_count(), 4, "Ctrl-U cleared it");
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.list.filter, "user", "Esc put back the filter that was set");
    assert_eq!(app.row_count(), 1);
}

#[test]
fn the_connection_state_is_never_cut_from_the_status_bar() {
    let keymap = Keymap::default();
    let host = "mandate-api.payments.eu-west-1.prod.internal.example.com:7400";
    let states =
        [(Action::Offline("cannot connect".into()), "OFFLINE"), (Action::Unauthorized("401".into()), "UNAUTHORIZED")];
    for width in [80u16, 120, 200] {
        for readonly in [false, true] {
            let mut live = App::new(host, Some("prod".into()), readonly, now());
            update(&mut live, Action::Incidents(Box::new(page()), now()), &keymap);
            let who = WhoAmI { name: "a-very-long-operator-name@payments.example.com".into(), role: Role::Responder };
            update(&mut live, Action::Whoami(who, Some("0.2.0 (API v1)".into())), &keymap);
            let mut cases = vec![(live.clone(), "LIVE")];
            for (action, word) in states.clone() {
                let mut app = live.clone();
                update(&mut app, action, &keymap);
                cases.push((app, if word == "OFFLINE" { "STALE" } else { word }));
                let mut fresh = App::new(host, Some("prod".into()), readonly, now());
                update(&mut fresh, states.iter().find(|s| s.1 == word).unwrap().0.clone(), &keymap);
                cases.push((fresh, word));
            }
            for (app, word) in cases {
                let shown = text(&draw(&app, &Theme::builtin("dark").unwrap(), width, 24));
                let bar = shown.lines().next().unwrap();
                assert!(bar.contains(&format!(" {word} ")), "{width}: {word} whole in {bar:?}");
                assert!(bar.contains(" PROD "), "{width}: {bar:?}");
                assert_eq!(bar.contains(" READ-ONLY "), readonly, "{width}: {bar:?}");
            }
        }
    }
}

#[test]
fn a_server_that_pages_nobody_is_said_on_the_status_line_at_every_width() {
    let keymap = Keymap::default();
    let dark = Theme::builtin("dark").unwrap();
    let mut app = app();
    let bar = |app: &App, width| text(&draw(app, &dark, width, 24)).lines().next().unwrap().to_owned();
    assert!(!bar(&app, 200).contains("PAGING"), "receivers exist: nothing to say");
    let mut nobody = page();
    nobody.paging = Some(mandate::api::PagingHealth { receivers: vec![], dead_last_day: 0 });
    update(&mut app, Action::Incidents(Box::new(nobody), now()), &keymap);
    for width in [60, 80, 200] {
        assert!(bar(&app, width).contains(" PAGING "), "{width}: {}", bar(&app, width));
    }
    assert!(bar(&app, 80).contains("no receivers — nobody is woken"), "{}", bar(&app, 80));
    let mut dying = page();
    dying.paging = Some(mandate::api::PagingHealth { receivers: vec!["slack".into()], dead_last_day: 3 });
    update(&mut app, Action::Incidents(Box::new(dying), now()), &keymap);
    assert!(bar(&app, 120).contains("3 pages dead in the last day"), "{}", bar(&app, 120));
}

#[test]
fn the_status_line_says_when_the_server_last_confirmed_what_is_shown() {
    let keymap = Keymap::default();
    let dark = Theme::builtin("dark").unwrap();
    let mut app = app();
    let bar = |app: &App| text(&draw(app, &dark, 120, 24)).lines().next().unwrap().to_owned();
    assert!(bar(&app).contains(&format!("confirmed {}", now().format("%H:%M"))), "{}", bar(&app));
    // A long poll that ends with nothing changed confirms the data too.
    let later = now() + chrono::Duration::minutes(3);
    let (redraw, _) = update(&mut app, Action::Confirmed(later), &keymap);
    assert!(redraw, "the minute shown changed");
    assert!(bar(&app).contains(&format!("confirmed {}", later.format("%H:%M"))), "{}", bar(&app));
    let (redraw, _) = update(&mut app, Action::Confirmed(later + chrono::Duration::seconds(1)), &keymap);
    assert!(!redraw, "the same minute: nothing to draw");
    // Right after the server stops answering: live data, just unconfirmed.
    update(&mut app, Action::Tick(later + chrono::Duration::seconds(2)), &keymap);
    update(&mut app, Action::Offline("connection refused".into()), &keymap);
    let shown = bar(&app);
    assert!(shown.contains(" STALE ") && shown.contains("no answer for 0s"), "{shown}");
    assert!(
        shown.contains(&format!("last confirmed {}", (later + chrono::Duration::seconds(1)).format("%H:%M:%S"))),
        "{shown}"
    );
}

#[test]
fn before_the_first_answer_every_screen_says_why_it_has_no_data() {
    let keymap = Keymap::default();
    for (action, expected) in [
        (None, "connecting to mandate.internal:7400"),
        (Some(Action::Offline("cannot connect".into())), "OFFLINE — "),
        (Some(Action::Unauthorized("401".into())), "UNAUTHORIZED — "),
    ] {
        for screen in ["incidents", "agents", "audit", "attribution", "activity", "routing", "calibration", "patterns"]
        {
            let mut app = App::new("mandate.internal:7400", None, false, now());
            if let Some(a) = action.clone() {
                update(&mut app, a, &keymap);
            }
            if screen != "incidents" {
                command(&mut app, screen);
            }
            let shown = text(&draw(&app, &Theme::builtin("dark").unwrap(), 80, 24));
            assert!(shown.contains(expected), "{screen} {expected}:\n{shown}");
            for lie in ["no incidents", "0 open", "no agent has reported yet", "no intervention yet", "no run attempts"]
            {
                assert!(!shown.contains(lie), "{screen}: {lie:?} while nothing is known:\n{shown}");
            }
        }
    }
    let mut app = App::new("h", None, false, now());
    update(&mut app, Action::Unauthorized("401".into()), &keymap);
    let shown = text(&draw(&app, &Theme::builtin("dark").unwrap(), 80, 24));
    assert!(shown.contains("--token") && shown.contains("MANDATE_TOKEN"), "what to check:\n{shown}");
}

#[test]
fn the_hint_bar_shows_whole_hints_and_says_when_there_are_more() {
    let keymap = Keymap::default();
    for width in [60u16, 80, 120, 200] {
        for app in [app(), triage('b'), triage('c')] {
            let shown = text(&draw(&app, &Theme::builtin("dark").unwrap(), width, 24));
            let bar = shown.lines().last().unwrap().trim_end();
            let hints: Vec<_> = keymap.hints(app.mode()).into_iter().filter(|(k, _)| k != "?").collect();
            let mut rest = bar.trim_start();
            for (key, what) in &hints {
                let whole = format!("{key} {what}");
                match rest.strip_prefix(whole.as_str()) {
                    Some(after) => rest = after.trim_start(),
                    None => break,
                }
            }
            assert!(rest == "? help" || rest == "? more", "{width}: a cut hint in {bar:?} (left {rest:?})");
            assert!(!(bar.contains("? help") && bar.contains("? more")), "{width}: never both: {bar:?}");
        }
    }
}

#[test]
fn dialogs_and_screens_speak_a_responders_words() {
    let dark = Theme::builtin("dark").unwrap();
    let keymap = Keymap::default();
    // The incident's chain by name; the detail depth is not an escalation level.
    let app = triage('b');
    let mut opened = app.clone();
    key(&mut opened, KeyCode::Esc);
    let shown = text(&draw(&opened, &dark, 120, 40));
    assert!(shown.contains("detail 1/3") && !shown.contains("level 1 of 3"), "{shown}");
    assert!(shown.contains("escalation at primary (1 of 4)"), "{shown}");
    assert!(!shown.contains("escalation level 0"), "{shown}");
    // A verdict names the action, not the event's id.
    let mut causes = triage('c');
    key(&mut causes, KeyCode::Char('X'));
    let shown = text(&draw(&causes, &dark, 80, 24));
    assert!(shown.contains("config_change on payments-service by config-gen"), "{shown}");
    key(&mut causes, KeyCode::Esc);
    // The rollback names the revert the suggestion names when it has no command.
    key(&mut causes, KeyCode::Char('R'));
    let dialog = causes.dialog().expect("rollback asks");
    assert_eq!(dialog.fields[0].value, "Revert config pool_size on payments-service");
    assert!(!text(&draw(&causes, &dark, 120, 40)).contains("(no command)"));
    key(&mut causes, KeyCode::Esc);
    // A tie: pausing one agent says the other is not paused.
    let mut tie = rich_detail();
    let (a, b) = (tie.analysis.candidates[0].event_id.clone(), tie.analysis.candidates[1].event_id.clone());
    tie.analysis.concurrent_modifications = vec![(a, b)];
    let mut app = self::app();
    key(&mut app, KeyCode::Enter);
    update(&mut app, Action::Detail(Box::new(tie)), &keymap);
    key(&mut app, KeyCode::Char('c'));
    key(&mut app, KeyCode::Char('p'));
    let shown = text(&draw(&app, &dark, 200, 50));
    assert!(shown.contains("a tie: agent deployer (deploy on"), "{shown}");
    assert!(shown.contains("is not paused"), "{shown}");
    // No seed numbers or internal words on any screen.
    for how in
        ["incidents", "incident", "b", "c", "activity", "agents", "audit", "attribution", "calibration", "patterns"]
    {
        let mut app = self::app();
        go_to(&mut app, how);
        let shown = text(&draw(&app, &dark, 200, 50));
        for word in ["seed ", "§", "(server does not allow auto)", "rule critical, gated"] {
            assert!(!shown.contains(word), "{how}: {word:?} on screen:\n{shown}");
        }
    }
}

#[test]
fn a_message_too_long_for_the_line_is_cut_with_an_ellipsis_and_read_again_in_messages() {
    let keymap = Keymap::default();
    let dark = Theme::builtin("dark").unwrap();
    let mut app = app();
    let long = "✓ escalate incident #12: incident #12 escalated to level 1: paging @payments-oncall now (routing level secondary)";
    update(
        &mut app,
        Action::Sent { key: "k".into(), outcome: Ok(long.trim_start_matches("✓ escalate incident #12: ").into()) },
        &keymap,
    );
    let shown = text(&draw(&app, &dark, 80, 24));
    let bottom = shown.lines().last().unwrap();
    assert!(bottom.contains("…") && bottom.trim_end().ends_with(":messages"), "{bottom:?}");
    key(&mut app, KeyCode::Char('j'));
    command(&mut app, "messages");
    let shown = text(&draw(&app, &dark, 200, 24));
    assert!(shown.contains("Messages, newest last"), "{shown}");
    assert!(shown.contains("paging @payments-oncall now (routing level secondary)"), "whole again:\n{shown}");
    let narrow = text(&draw(&app, &dark, 60, 20));
    assert!(narrow.contains("(routing level"), "wrapped, not cut, at 60 columns:\n{narrow}");
    key(&mut app, KeyCode::Esc);
    assert!(app.overlay.is_none());
}

#[test]
fn the_tree_toggles_with_enter_and_space_and_star_opens_everything() {
    let mut app = triage('b');
    let first = blast(&app).selected.clone();
    assert!(blast(&app).open.contains(&first), "the first band starts open");
    key(&mut app, KeyCode::Enter);
    assert!(!blast(&app).open.contains(&first), "enter closed it");
    key(&mut app, KeyCode::Char(' '));
    assert!(blast(&app).open.contains(&first), "space opened it again");
    let closed = text(&draw(&app, &Theme::builtin("dark").unwrap(), 160, 48));
    key(&mut app, KeyCode::Char('*'));
    let open = text(&draw(&app, &Theme::builtin("dark").unwrap(), 160, 48));
    assert!(
        open.lines().filter(|l| !l.trim().is_empty()).count() > closed.lines().filter(|l| !l.trim().is_empty()).count()
    );
    assert!(open.contains("billing-oncall"), "a service's owner details, two levels down:\n{open}");
}

#[test]
fn home_and_end_reach_both_ends_of_a_long_screen_and_say_where_you_are() {
    let mut app = triage('b');
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('+'));
    key(&mut app, KeyCode::Char('+'));
    let dark = Theme::builtin("dark").unwrap();
    let top = text(&draw(&app, &dark, 80, 24));
    let title = top.lines().nth(1).unwrap();
    assert!(title.contains("1–21 of "), "the position on the title row: {title}");
    key(&mut app, KeyCode::Char('G'));
    let bottom = text(&draw(&app, &dark, 80, 24));
    let last = format!(" of {} ", title.split(" of ").nth(1).unwrap().split_whitespace().next().unwrap());
    assert!(bottom.lines().nth(1).unwrap().contains(&last), "at the end: {bottom}");
    assert_ne!(top, bottom);
    key(&mut app, KeyCode::Char('k'));
    let scroll = match app.view() {
        View::Incident(v) => &v.scroll,
        other => panic!("{other:?}"),
    };
    assert_eq!(scroll.top, scroll.limit.get() - 1, "up from the end moves one line, at once");
    key(&mut app, KeyCode::Home);
    assert_eq!(text(&draw(&app, &dark, 80, 24)), top);
}

/// The hint row holds whole hints of `hints`, in order, then `? help` when
/// all fit or `? more` when some do not.
fn assert_whole_hints(bar: &str, hints: &[(String, String)], what: &str) {
    let mut rest = bar.trim();
    for (key, does) in hints.iter().filter(|(k, _)| k != "?") {
        match rest.strip_prefix(format!("{key} {does}").as_str()) {
            Some(after) => rest = after.trim_start(),
            None => break,
        }
    }
    assert!(rest.is_empty() || rest == "? more" || rest == "? help", "{what}: a cut hint in {bar:?} (left {rest:?})");
}

#[test]
fn every_screen_at_60x20_80x24_120x40_and_200x50_and_at_its_end() {
    let keymap = Keymap::default();
    let dark = Theme::builtin("dark").unwrap();
    let mut screens = every_screen(false);
    let mut dialog = screens[1].1.clone();
    key(&mut dialog, KeyCode::Char('e'));
    screens.push(("escalate dialog".to_owned(), dialog));
    let mut quit = app();
    key(&mut quit, KeyCode::Char('q'));
    screens.push(("quit prompt".to_owned(), quit));
    for (name, app) in &screens {
        for (w, h) in [(60u16, 20u16), (80, 24), (120, 40), (200, 50)] {
            let shown = text(&draw(app, &dark, w, h));
            let rows: Vec<&str> = shown.lines().collect();
            assert!(rows[0].contains(" LIVE ") && rows[0].contains(" PROD "), "{name} {w}x{h}: {:?}", rows[0]);
            let hints = match &app.overlay {
                None => keymap.hints(app.mode()),
                Some(_) => vec![],
            };
            if !hints.is_empty() {
                assert_whole_hints(rows[h as usize - 1], &hints, &format!("{name} {w}x{h}"));
            }
            insta::assert_snapshot!(format!("screen_{}_{w}x{h}", name.replace(' ', "_")), shown);
            if app.overlay.is_some() || [(120, 40)].contains(&(w, h)) {
                continue;
            }
            // Scrolled to the end (G, once the screen knows its size): what
            // was cut is reached, and where it stands is said.
            let mut end = app.clone();
            draw(&end, &dark, w, h);
            key(&mut end, KeyCode::Char('G'));
            let shown = text(&draw(&end, &dark, w, h));
            for row in shown.lines().take(h as usize - 1) {
                if let Some((_, of)) = row.split_once('–')
                    && let Some((last, total)) = of.split_once(" of ")
                    && let (Ok(last), Ok(total)) =
                        (last.trim().parse::<usize>(), total.split_whitespace().next().unwrap_or("").parse::<usize>())
                {
                    assert_eq!(last, total, "{name} {w}x{h} at the end: {row:?}\n{shown}");
                }
            }
            insta::assert_snapshot!(format!("screen_{}_end_{w}x{h}", name.replace(' ', "_")), shown);
        }
    }
}

#[test]
fn help_taller_than_the_window_scrolls_like_a_text_screen() {
    let mut app = triage('b');
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('?'));
    let dark = Theme::builtin("dark").unwrap();
    let top = text(&draw(&app, &dark, 80, 24));
    assert!(top.contains("Keys 1–"), "help says it scrolls: {top}");
    key(&mut app, KeyCode::Char('G'));
    let bottom = text(&draw(&app, &dark, 80, 24));
    assert_ne!(top, bottom, "G shows the end");
    // Up from the end moves one line at once, not from a huge offset.
    key(&mut app, KeyCode::Char('k'));
    let one_up = text(&draw(&app, &dark, 80, 24));
    assert_ne!(one_up, bottom);
    key(&mut app, KeyCode::Char('g'));
    assert_eq!(text(&draw(&app, &dark, 80, 24)), top);
    key(&mut app, KeyCode::Esc);
    assert!(app.overlay.is_none());
}

/// The incident `#12` with what came in from outside: Alertmanager's alert
/// on it, and an acknowledgement made from Slack.
fn detail_with_alert_and_slack() -> IncidentDetail {
    let raw = include_str!("../fixtures/incident_detail.json");
    let mut value: serde_json::Value = serde_json::from_str(raw).unwrap();
    let alert = serde_json::json!({
        "name": "PaymentsLatencyHigh", "source": "alertmanager", "status": "firing", "fingerprint": "5f3c2a1b0e9d8c7a",
        "starts_at": "2026-03-02T14:21:00Z", "ends_at": null,
        "labels": {"alertname": "PaymentsLatencyHigh", "service": "payments-service"},
        "annotations": {"summary": "payments p99 over 800 ms"}, "url": null, "matched_by": "service",
    });
    let event = serde_json::json!({"entry": "event", "related": false, "event": {
        "event_id": "alert:00:1", "agent_id": null, "actor_type": "SYSTEM", "actor_id": null,
        "origin_system_id": "alertmanager", "run_id": null, "parent_event_id": null, "action_type": "alert",
        "tool": null, "resource": "payments-service", "scope": [], "outcome": "error",
        "error_code": "PaymentsLatencyHigh", "error_message": "payments p99 over 800 ms", "trace_id": null, "seq": null,
        "occurred_at": "2026-03-02T14:21:00Z", "received_at": "2026-03-02T14:21:01Z", "metadata": {"alert": alert},
        "flags": [], "incident_id": 12,
    }});
    value["timeline"].as_array_mut().unwrap().push(event);
    value["interventions"] = serde_json::json!([{
        "kind": "acknowledge", "actor_id": "alice", "at": "2026-03-02T14:23:00Z", "reason": null,
        "agent_id": null, "detail": null, "via": "slack",
    }]);
    decode_clean(value.to_string().as_bytes()).unwrap()
}

#[test]
fn alerts_from_monitors_and_actions_from_slack_are_shown_for_what_they_are() {
    let mut app = app();
    key(&mut app, KeyCode::Enter);
    update(&mut app, Action::Detail(Box::new(detail_with_alert_and_slack())), &Keymap::default());
    let impact = serde_json::json!({
        "incident_id": 12, "at": "2026-03-02T14:29:30Z", "duration_seconds": 240, "estimated_failed": 2400.0,
        "unmeasured": ["user-service"],
        "services": [{"service": "payments-service", "error_rate": 0.05, "latency_seconds": 0.812,
                      "requests_per_second": 200.0, "estimated_failed": 2400.0, "unavailable": null}],
    });
    let impact = decode_clean(impact.to_string().as_bytes()).unwrap();
    update(&mut app, Action::Impact(Box::new(impact)), &Keymap::default());
    let dark = Theme::builtin("dark").unwrap();
    for (w, h) in [(80, 24), (160, 48)] {
        let screen = text(&draw(&app, &dark, w, h));
        assert!(
            screen.contains("alert: PaymentsLatencyHigh firing since 14:21, from alertmanager"),
            "{w}x{h}:\n{screen}"
        );
        assert!(screen.contains("alice acknowledged from Slack"), "{w}x{h}:\n{screen}");
        assert!(
            screen.contains("payments-service: errors 5.0 % · latency 812 ms · 200 req/s · ~2400 failed"),
            "{w}x{h}:\n{screen}"
        );
    }
    insta::assert_snapshot!("incident_alert_and_slack_80x24", draw(&app, &dark, 80, 24).backend());
    // Nothing measured: said as not measured, never as no impact.
    let none = serde_json::json!({
        "incident_id": 12, "at": "2026-03-02T14:29:30Z", "duration_seconds": 240, "estimated_failed": null,
        "unmeasured": ["payments-service", "user-service", "api-gateway", "notifications"], "services": [],
    });
    update(&mut app, Action::Impact(Box::new(decode_clean(none.to_string().as_bytes()).unwrap())), &Keymap::default());
    let screen = text(&draw(&app, &dark, 80, 24));
    assert!(screen.contains("not measured: no impact queries for payments-service, user-service,"), "{screen}");
    assert!(screen.contains("api-gateway and 1 more"), "{screen}");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('+'));
    let screen = text(&draw(&app, &dark, 160, 48));
    assert!(screen.contains("alert PaymentsLatencyHigh firing on payments-service from alertmanager"), "{screen}");

    let mut page = audit_page(true);
    page.entries[1].details = serde_json::json!({"reason": "acknowledged from Slack",
        "attribution": {"agent_id": "mandate-slack", "actor_type": "HUMAN", "actor_id": "alice", "origin_system_id": "slack:T0"}});
    let mut audit = self::app();
    command(&mut audit, "audit");
    update(&mut audit, Action::Data(ScreenData::Audit(Box::new(page))), &Keymap::default());
    let screen = text(&draw(&audit, &dark, 120, 24));
    assert!(screen.contains("acknowledge from Slack"), "{screen}");
}

#[test]
fn degradations_and_unavailable_metrics_are_listed_above_the_incidents_as_their_own_kind() {
    let mut app = app();
    let mut page = page();
    page.watch = serde_json::from_value(serde_json::json!({
        "checks": [{
            "rule": "search p95 creeping up", "service": "search-service", "state": "unavailable",
            "checked_at": "2026-03-02T14:29:00Z", "since": "2026-03-02T14:20:00Z", "recent": null, "baseline": null,
            "change_pct": null, "threshold": 20.0, "error": "Prometheus gave no answer within 5s",
        }],
        "degradations": [{
            "id": 3, "rule": "checkout latency creeping up", "service": "payments-service", "status": "open",
            "opened_at": "2026-03-02T09:12:00Z", "cleared_at": null, "recent": 0.81, "baseline": 0.64,
            "change_pct": 26.6, "threshold": 20.0, "window": "7d", "baseline_window": "30d",
            "trend_url": "http://prometheus:9090/graph?g0.expr=x", "told": "@alice", "changes": [],
        }],
    }))
    .unwrap();
    update(&mut app, Action::Incidents(Box::new(page), now()), &Keymap::default());
    let dark = Theme::builtin("dark").unwrap();
    let wide = text(&draw(&app, &dark, 160, 48));
    assert!(
        wide.contains("DEGRADING payments-service +27 % in 7d vs the 30d before: checkout latency creeping up, since 03-02 09:12, @alice told"),
        "{wide}"
    );
    assert!(
        wide.contains(
            "METRICS UNAVAILABLE search-service: Prometheus gave no answer within 5s (rule search p95 creeping up, since 14:20)"
        ),
        "{wide}"
    );
    assert!(wide.contains("CONFIG_INVALID on payments-service"), "the incidents are still listed below:\n{wide}");
    insta::assert_snapshot!("incidents_with_degradations_80x24", draw(&app, &dark, 80, 24).backend());
}
