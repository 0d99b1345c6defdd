//! The console's screens, drawn into a fixed-size buffer from fixtures and
//! scripted keys: snapshots of the text, and colours checked on cell styles.

use chrono::{DateTime, Duration, Utc};
use mandate::api::{
    IncidentDetail, IncidentPage, IncidentStatus, IncidentSummary, Role, Severity, StatusCounts, WhoAmI,
};
use mandate::console::app::{Action, App, Connection, Effect, Screen, update};
use mandate::console::keymap::Keymap;
use mandate::console::sanitize::decode_clean;
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
    }
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
    }
}

fn app() -> App {
    let mut app = App::new("mandate.internal:7400", Some("prod".into()), false, now());
    let keymap = Keymap::default();
    update(&mut app, Action::Incidents(Box::new(page()), now()), &keymap);
    update(&mut app, Action::Whoami(WhoAmI { name: "alice".into(), role: Role::Responder }), &keymap);
    app
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
    let raw = include_str!("fixtures/incident_detail.json");
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
    assert_eq!(key(&mut app, KeyCode::Enter), [Effect::Watch(Some(12))]);
    update(&mut app, Action::Detail(Box::new(detail())), &Keymap::default());
    let dark = Theme::builtin("dark").unwrap();
    insta::assert_snapshot!("incident_level1_80x24", draw(&app, &dark, 80, 24).backend());
    key(&mut app, KeyCode::Enter);
    insta::assert_snapshot!("incident_level2_160x48", draw(&app, &dark, 160, 48).backend());
    key(&mut app, KeyCode::Char('+'));
    insta::assert_snapshot!("incident_level3_160x48", draw(&app, &dark, 160, 48).backend());
    assert_eq!(app.screen(), Screen::Incident { id: 12, level: 3 });
    key(&mut app, KeyCode::Backspace);
    assert_eq!(app.screen(), Screen::Incident { id: 12, level: 2 });
    assert_eq!(key(&mut app, KeyCode::Esc), [Effect::Watch(None)]);
    assert_eq!(app.screen(), Screen::Incidents);
}

#[test]
fn help_and_command_line() {
    let mut app = app();
    key(&mut app, KeyCode::Char('?'));
    let dark = Theme::builtin("dark").unwrap();
    insta::assert_snapshot!("help_80x24", draw(&app, &dark, 80, 24).backend());
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
    assert_eq!(app.selected, Some(12), "the most severe first");
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(app.selected, Some(11));
    // A refresh that adds an incident keeps the selection on #11 and marks the new one.
    let mut next = page();
    next.incidents.insert(
        0,
        summary(13, "DISK_FULL on reports-db", Severity::Critical, IncidentStatus::Open, 1, &["reports-db"]),
    );
    update(&mut app, Action::Incidents(Box::new(next), now()), &Keymap::default());
    assert_eq!(app.selected, Some(11));
    assert!(app.new_ids.contains(&13));
    key(&mut app, KeyCode::Char('/'));
    for c in "!user".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    let ids: Vec<i64> = app.visible().iter().map(|i| i.id).collect();
    assert_eq!(ids, [13, 12, 10, 9], "! inverts the filter");
    // "!u" already hid #11 (and #13, for a moment): the selection moved to the first row then.
    assert_eq!(app.selected, Some(12), "a filtered-out selection moves to the first row");
    key(&mut app, KeyCode::Char('s'));
    let ids: Vec<i64> = app.visible().iter().map(|i| i.id).collect();
    assert_eq!(ids, [13, 12, 10, 9], "newest first");
    let dark = Theme::builtin("dark").unwrap();
    insta::assert_snapshot!("incidents_filtered_80x24", draw(&app, &dark, 80, 24).backend());
}

#[test]
fn offline_keeps_the_data_and_says_so() {
    let mut app = app();
    let keymap = Keymap::default();
    update(&mut app, Action::Offline("connection refused".into()), &keymap);
    update(&mut app, Action::Tick(now() + Duration::seconds(42)), &keymap);
    assert!(matches!(app.connection, Connection::Offline { .. }));
    let text = format!("{:?}", draw(&app, &Theme::builtin("dark").unwrap(), 120, 10).backend());
    assert!(text.contains("STALE 42s: connection refused") && text.contains("data 42s old"), "{text}");
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
        draw(&app, &theme, w, h);
    }
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
