//! Console rendering cost, into an in-memory 200×50 buffer.
//!
//!   cargo bench --bench console
//!
//! A frame must cost the same for 100 incidents or 10,000: only visible rows are built.

#[path = "support/mod.rs"]
mod support;
use support::resident_mib;

use chrono::{Duration, Utc};
use mandate::api::{IncidentPage, IncidentStatus, IncidentSummary, Severity, StatusCounts};
use mandate::console::app::{Action, App, update};
use mandate::console::keymap::Keymap;
use mandate::console::theme::Theme;
use mandate::console::view::render;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::Instant;

fn page(n: usize) -> IncidentPage {
    let now = Utc::now();
    let incidents = (0..n as i64)
        .map(|i| IncidentSummary {
            id: i + 1,
            title: format!("TIMEOUT on service-{}", i % 500),
            severity: [Severity::Critical, Severity::High, Severity::Medium, Severity::Low][(i % 4) as usize],
            status: [IncidentStatus::Open, IncidentStatus::Acknowledged, IncidentStatus::Resolved][(i % 3) as usize],
            started_at: now - Duration::seconds(i * 37),
            updated_at: now,
            resolved_at: None,
            duration_seconds: i * 37,
            resources: vec![format!("service-{}", i % 500), format!("db-{}", i % 50)],
            responders: vec!["alice".into()],
            coordinator: None,
            escalation_level: 0,
            auto_recovered: false,
            flagged_for_review: false,
            event_count: 3,
            version: 1,
            silenced: None,
            merged_into: None,
        })
        .collect();
    IncidentPage {
        incidents,
        version: 1,
        counts: StatusCounts::default(),
        next_cursor: None,
        paging: None,
        watch: Default::default(),
    }
}

fn main() {
    let theme = Theme::builtin("dark").unwrap();
    let keymap = Keymap::default();
    let before = resident_mib();
    for n in [100, 10_000] {
        let mut app = App::new("mandate.internal", Some("prod".into()), false, Utc::now());
        update(&mut app, Action::Incidents(Box::new(page(n)), Utc::now()), &keymap);
        let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
        for _ in 0..50 {
            terminal.draw(|f| render(&app, &theme, &keymap, f)).unwrap();
        }
        let frames = 2000;
        let started = Instant::now();
        for _ in 0..frames {
            terminal.draw(|f| render(&app, &theme, &keymap, f)).unwrap();
        }
        let per_frame = started.elapsed() / frames;
        println!(
            "frame at 200x50 with {n} incidents: {:.3} ms (mean of {frames}); resident {:.1} MiB (process start {:.1} MiB)",
            per_frame.as_secs_f64() * 1e3,
            resident_mib(),
            before
        );
    }
}
