//! Rendering: pure functions of the state onto a frame. Only the rows that
//! fit are built, so a frame costs the same for ten incidents or ten thousand.

use super::app::{App, Connection, Input, Screen};
use super::keymap::Keymap;
use super::theme::{StyleKey as K, Theme};
use crate::api::{Band, IncidentDetail, IncidentStatus, IncidentSummary, Severity, TimelineEntry};
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, Wrap};

mod activity;
mod dialog;
mod operations;
mod triage;

pub fn render(app: &App, theme: &Theme, keymap: &Keymap, frame: &mut Frame) {
    let area = frame.area();
    if area.height < 3 || area.width < 10 {
        frame.render_widget(Paragraph::new("mandate: window too small"), area);
        return;
    }
    let [top, main, bottom] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)]).areas(area);
    status_bar(app, theme, frame, top);
    match app.base_screen() {
        Screen::Incident { id, level } => incident(app, theme, frame, main, id, level),
        Screen::BlastRadius { id } => triage::blast_radius(app, theme, frame, main, id),
        Screen::RootCauses { id } => triage::root_causes(app, theme, frame, main, id),
        Screen::Activity => activity::activity(app, theme, frame, main),
        Screen::Agents => operations::agents(app, theme, frame, main),
        Screen::Audit => operations::audit(app, theme, frame, main),
        Screen::Attribution => operations::attribution(app, theme, frame, main),
        Screen::Incidents | Screen::Help => incidents(app, theme, frame, main),
    }
    if app.screen() == Screen::Help {
        help(app, theme, keymap, frame, main);
    }
    if let Some(d) = &app.dialog {
        dialog::dialog(d, theme, frame, main);
    }
    bottom_line(app, theme, keymap, frame, bottom);
}

fn age(from: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let s = (now - from).num_seconds().max(0);
    match s {
        0..=59 => "<1m".to_owned(),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d", s / 86_400),
    }
}

fn severity(theme: &Theme, s: Severity) -> Span<'static> {
    let (label, key) = match s {
        Severity::Critical => ("CRIT", K::SeverityCritical),
        Severity::High => ("HIGH", K::SeverityHigh),
        Severity::Medium => ("MED", K::SeverityMedium),
        Severity::Low => ("LOW", K::SeverityLow),
    };
    Span::styled(label, theme.style(key))
}

fn status(theme: &Theme, s: IncidentStatus) -> Span<'static> {
    let key = match s {
        IncidentStatus::Open => K::StatusOpen,
        IncidentStatus::Acknowledged => K::StatusAcknowledged,
        IncidentStatus::Resolved => K::StatusResolved,
    };
    Span::styled(s.as_str().to_uppercase(), theme.style(key))
}

fn band(theme: &Theme, b: Band) -> Style {
    theme.style(match b {
        Band::Confirmed => K::ConfidenceConfirmed,
        Band::Likely => K::ConfidenceLikely,
        Band::Suspected => K::ConfidenceSuspected,
        Band::Possible => K::ConfidencePossible,
    })
}

fn status_bar(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let mut spans = vec![
        Span::styled(" mandate ", theme.style(K::Title)),
        Span::styled(app.host.clone(), theme.style(K::Muted)),
        Span::raw(" "),
    ];
    if let Some(env) = &app.environment {
        let key = if env.eq_ignore_ascii_case("prod") || env.eq_ignore_ascii_case("production") {
            K::EnvironmentProd
        } else {
            K::Environment
        };
        spans.push(Span::styled(format!(" {} ", env.to_uppercase()), theme.style(key)));
        spans.push(Span::raw(" "));
    }
    let (label, key) = match &app.connection {
        Connection::Connecting => (" CONNECTING ".to_owned(), K::Stale),
        Connection::Live => (" LIVE ".to_owned(), K::Live),
        Connection::Offline { reason, since } if app.data_at.is_some() => {
            let for_s = (app.now - *since).num_seconds().max(0);
            (format!(" STALE {for_s}s: {reason} "), K::Stale)
        }
        Connection::Offline { reason, .. } => (format!(" OFFLINE: {reason} "), K::Offline),
    };
    spans.push(Span::styled(label, theme.style(key)));
    // Live data is current: say when it last changed (no per-second redraw).
    // Otherwise say how old it is.
    match (&app.connection, app.data_at, app.data_age()) {
        (Connection::Live, Some(at), _) => {
            spans.push(Span::styled(format!(" as of {}", at.format("%H:%M:%S")), theme.style(K::Muted)))
        }
        (_, _, Some(age_s)) => spans.push(Span::styled(format!(" data {age_s}s old"), theme.style(K::Muted))),
        _ => {}
    }
    if let Some(who) = &app.operator {
        spans.push(Span::styled(format!("  {} ({})", who.name, who.role), theme.style(K::Text)));
    }
    if app.is_readonly() {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(" READ-ONLY ", theme.style(K::Readonly)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn incidents(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let count = app.row_count();
    let c = &app.counts;
    let mut title = format!(
        " Incidents: {} open · {} acknowledged · {} resolved — sort: {} ",
        c.open,
        c.acknowledged,
        c.resolved,
        app.sort.label()
    );
    if !app.filter.is_empty() {
        title.push_str(&format!("— filter: {} ({count} shown) ", app.filter));
    }
    let block = titled(theme, title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if count == 0 {
        let text = match (&app.connection, app.incidents.is_empty()) {
            (Connection::Connecting, _) => "connecting…",
            (_, true) => "no incidents",
            _ => "no incident matches the filter",
        };
        frame.render_widget(Paragraph::new(Span::styled(text, theme.style(K::Muted))), inner);
        return;
    }
    let height = inner.height.saturating_sub(1) as usize;
    let selected = app.selected_row().unwrap_or(0);
    let offset = selected.saturating_sub(height.saturating_sub(1));
    let visible: Vec<Row> = app
        .rows(offset, height)
        .enumerate()
        .map(|(n, i)| incident_row(app, theme, i, offset + n == selected))
        .collect();
    let widths = [
        Constraint::Length(2),
        Constraint::Length(4),
        Constraint::Length(6),
        Constraint::Length(12),
        Constraint::Length(6),
        Constraint::Fill(3),
        Constraint::Fill(2),
        Constraint::Fill(1),
    ];
    let header =
        Row::new(["", "SEV", "ID", "STATUS", "AGE", "TITLE", "RESOURCES", "RESPONDERS"]).style(theme.style(K::Header));
    frame.render_widget(Table::new(visible, widths).header(header).column_spacing(1), inner);
}

/// A screen's frame: a top rule carrying its title.
fn titled(theme: &Theme, title: String) -> Block<'static> {
    Block::default()
        .borders(Borders::TOP)
        .title(Span::styled(title, theme.style(K::Title)))
        .border_style(theme.style(K::Border))
}

fn incident_row<'a>(app: &App, theme: &Theme, i: &'a IncidentSummary, selected: bool) -> Row<'a> {
    let marker = if selected {
        "▶"
    } else if app.new_ids.contains(&i.id) {
        "●"
    } else {
        " "
    };
    let marker_style = if app.new_ids.contains(&i.id) { theme.style(K::NewMarker) } else { theme.style(K::Text) };
    let row = Row::new(vec![
        Cell::from(Span::styled(marker, marker_style)),
        Cell::from(severity(theme, i.severity)),
        Cell::from(format!("#{}", i.id)),
        Cell::from(status(theme, i.status)),
        Cell::from(age(i.started_at, app.now)),
        Cell::from(if i.auto_recovered { format!("{} (flash)", i.title) } else { i.title.clone() }),
        Cell::from(i.resources.join(", ")),
        Cell::from(i.responders.join(", ")),
    ]);
    if selected { row.style(theme.style(K::Selection)) } else { row }
}

fn incident(app: &App, theme: &Theme, frame: &mut Frame, area: Rect, id: i64, level: u8) {
    let summary = app.incidents.iter().find(|i| i.id == id);
    let title = match summary {
        Some(s) => format!(" #{id} {} — level {level} of 3 ", s.title),
        None => format!(" #{id} — level {level} of 3 "),
    };
    let block = titled(theme, title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines = match (&app.detail, summary) {
        (Some(d), _) if d.summary.id == id => detail_lines(app, theme, d, level),
        (_, Some(s)) => vec![
            Line::from(vec![status(theme, s.status), Span::raw("  "), severity(theme, s.severity)]),
            Line::from(Span::styled("loading the incident…", theme.style(K::Muted))),
        ],
        _ => vec![Line::from(Span::styled("loading the incident…", theme.style(K::Muted)))],
    };
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).scroll((app.scroll, 0)), inner);
}

fn heading(theme: &Theme, text: &str) -> Line<'static> {
    Line::from(Span::styled(text.to_owned(), theme.style(K::Header)))
}

fn detail_lines(app: &App, theme: &Theme, d: &IncidentDetail, level: u8) -> Vec<Line<'static>> {
    let s = &d.summary;
    let mut lines = Vec::new();
    let mut first = vec![status(theme, s.status), Span::raw("  "), severity(theme, s.severity)];
    first.push(Span::raw(format!("  started {} ago, {} events", age(s.started_at, app.now), s.event_count)));
    if s.auto_recovered {
        first.push(Span::styled("  auto-recovered", theme.style(K::Success)));
    }
    lines.push(Line::from(first));
    let br = &d.blast_radius;
    lines.push(Line::from(format!(
        "Impact: {} — {} definitely, {} likely, {} possibly affected",
        if s.resources.is_empty() { "unknown resource".to_owned() } else { s.resources.join(", ") },
        br.definitely.len(),
        br.likely.len(),
        br.possibly.len()
    )));
    let responding = if s.responders.is_empty() { "nobody yet".to_owned() } else { s.responders.join(", ") };
    let coordinator = s.coordinator.as_deref().map(|c| format!(" (coordinator {c})")).unwrap_or_default();
    lines.push(Line::from(format!("Responding: {responding}{coordinator}; escalation level {}", s.escalation_level)));
    lines.push(Line::from(""));
    lines.push(heading(theme, "Top 3 now"));
    for (n, t) in d.top3.iter().enumerate() {
        let action = t.intervention.map(|i| format!(" [{i}]")).unwrap_or_default();
        lines.push(Line::from(vec![
            Span::styled(format!("{}. {}: ", n + 1, t.kind.as_str().to_uppercase()), theme.style(K::Accent)),
            Span::raw(format!("{}{action}", t.title)),
        ]));
        lines.push(Line::from(Span::styled(format!("   {}", t.reason), theme.style(K::Muted))));
    }
    if d.top3.is_empty() {
        lines.push(Line::from(Span::styled("nothing to suggest yet", theme.style(K::Muted))));
    }
    if level >= 2 {
        lines.push(Line::from(""));
        let timeline: Vec<&TimelineEntry> = d.timeline.iter().collect();
        let take = if level >= 3 { timeline.len() } else { 5 };
        lines.push(heading(theme, if level >= 3 { "Timeline" } else { "Last 5 events" }));
        for entry in timeline.iter().rev().take(take).rev() {
            lines.push(timeline_line(app, theme, entry));
        }
        lines.push(Line::from(""));
        lines.push(heading(theme, "Root causes"));
        let shown = if level >= 3 { d.analysis.candidates.len() } else { 2 };
        if d.analysis.undetermined {
            lines.push(Line::from(Span::styled("UNDETERMINED: no candidate reaches 40 %", theme.style(K::Warning))));
        }
        for c in d.analysis.candidates.iter().take(shown) {
            let what = format!(
                " {} {} on {} by {}",
                c.action_type.as_deref().unwrap_or("action"),
                c.event_id,
                c.resource.as_deref().unwrap_or("?"),
                c.agent_id.as_deref().unwrap_or("unknown actor")
            );
            lines.push(Line::from(vec![
                Span::styled(format!("[{} {}%]", c.band, c.confidence), band(theme, c.band)),
                Span::raw(what),
            ]));
            if level >= 3 {
                for e in &c.evidence {
                    lines.push(Line::from(Span::styled(format!("    {}", evidence_text(e)), theme.style(K::Muted))));
                }
            }
        }
        if level >= 3 && !d.analysis.contributing.is_empty() {
            lines.push(Line::from(""));
            lines.push(heading(theme, "Contributing actions"));
            for c in &d.analysis.contributing {
                let who = c.actor_id.as_deref().or(c.agent_id.as_deref()).unwrap_or("unknown actor");
                lines.push(Line::from(format!(
                    "  {} {:<10} {} by {}: {}",
                    c.occurred_at.format("%H:%M:%S"),
                    c.role.as_str(),
                    c.action_type.as_deref().unwrap_or("action"),
                    who,
                    c.note
                )));
            }
            for (a, b) in &d.analysis.concurrent_modifications {
                lines.push(Line::from(Span::styled(
                    format!("  ⚠ concurrent modification: {a} and {b}"),
                    theme.style(K::Warning),
                )));
            }
        }
        lines.push(Line::from(""));
        lines.push(heading(theme, if level >= 3 { "All suggestions" } else { "Suggestions" }));
        let shown = if level >= 3 { d.suggestions.len() } else { 2 };
        for sg in d.suggestions.iter().take(shown) {
            let alt = sg.alternative.as_deref().map(|a| format!("Option {a}: ")).unwrap_or_default();
            lines.push(Line::from(format!("{alt}{} — risk {}, {}%", sg.title, sg.risk, sg.confidence)));
            if level >= 3 {
                if let Some(cmd) = &sg.command {
                    lines.push(Line::from(Span::styled(format!("    $ {cmd}"), theme.style(K::Muted))));
                }
                for w in &sg.warnings {
                    lines.push(Line::from(Span::styled(format!("    ! {w}"), theme.style(K::Warning))));
                }
            }
        }
    }
    lines
}

fn evidence_text(e: &crate::api::Evidence) -> String {
    use crate::api::Evidence::*;
    match e {
        TimeProximity { minutes_before } => format!("{minutes_before} min before the first error"),
        SameResource { resource } => format!("touched {resource}, which failed"),
        DependencyHop { resource, dependency_of } => format!("touched {resource}, a dependency of {dependency_of}"),
        TraceMatch { trace_id } => format!("same trace {trace_id} as a failing call"),
        ErrorMentions { text } => format!("an error message names {text}"),
        ConcurrentModification { other_event_id } => {
            format!("modified the same resource within 5 s as {other_event_id}")
        }
        PastPattern { incident_id } => format!("the same change caused incident #{incident_id}"),
        DelayedEffect { minutes } => format!("delayed effect: {minutes} min between change and impact"),
    }
}

fn timeline_line(app: &App, theme: &Theme, entry: &TimelineEntry) -> Line<'static> {
    match entry {
        TimelineEntry::Gap { gap } => Line::from(Span::styled(
            format!(
                "  ⚠ events may be missing between {} and {} ({} seq {}–{})",
                gap.after.format("%H:%M:%S"),
                gap.before.format("%H:%M:%S"),
                gap.agent_id,
                gap.first_missing,
                gap.last_missing
            ),
            theme.style(K::Gap),
        )),
        TimelineEntry::Event { event, related } => {
            let mark = if *related {
                "·"
            } else if event.is_error() {
                "✗"
            } else {
                "✓"
            };
            let style = if event.is_error() { theme.style(K::Error) } else { theme.style(K::Text) };
            let what = event.error_code.as_deref().or(event.action_type.as_deref()).unwrap_or("event");
            Line::from(Span::styled(
                format!(
                    "  {} {mark} {} {what} on {} by {}",
                    event.occurred_at.format("%H:%M:%S"),
                    age(event.occurred_at, app.now),
                    event.resource.as_deref().unwrap_or("?"),
                    event.agent_id.as_deref().unwrap_or("unknown actor")
                ),
                style,
            ))
        }
    }
}

/// The keys of the screen under the overlay, one line per action with all
/// its keys; in two columns when one would not fit the height.
fn help(app: &App, theme: &Theme, keymap: &Keymap, frame: &mut Frame, area: Rect) {
    let lines: Vec<Line> = keymap
        .actions(app.base_mode())
        .into_iter()
        .map(|a| {
            let keys: Vec<String> = a.keys.iter().map(|k| k.label()).collect();
            Line::from(vec![
                Span::styled(format!("{:>10}  ", keys.join(" ")), theme.style(K::KeyHint)),
                Span::raw(a.description),
            ])
        })
        .collect();
    let columns = if lines.len() as u16 + 2 > area.height && area.width >= 76 { 2 } else { 1 };
    let per_column = lines.len().div_ceil(columns);
    let width = area.width.min(46 * columns as u16 + 2);
    let height = area.height.min(per_column as u16 + 2);
    let popup = Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height };
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(" Keys (esc closes) ", theme.style(K::Title)))
        .border_style(theme.style(K::Border));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let halves = Layout::horizontal(vec![Constraint::Ratio(1, columns as u32); columns]).split(inner);
    for (n, chunk) in lines.chunks(per_column.max(1)).enumerate() {
        if let Some(rect) = halves.get(n) {
            frame.render_widget(Paragraph::new(chunk.to_vec()), *rect);
        }
    }
}

fn bottom_line(app: &App, theme: &Theme, keymap: &Keymap, frame: &mut Frame, area: Rect) {
    let line = match (&app.input, &app.message) {
        (Some(Input::Filter(t)), _) => {
            Line::from(vec![Span::styled("/", theme.style(K::KeyHint)), Span::raw(t.clone()), Span::raw("▏")])
        }
        (Some(Input::Command(t)), _) => {
            Line::from(vec![Span::styled(":", theme.style(K::KeyHint)), Span::raw(t.clone()), Span::raw("▏")])
        }
        (None, Some(m)) => Line::from(Span::styled(m.clone(), theme.style(K::Warning))),
        (None, None) => {
            let mut spans = Vec::new();
            for (key, what) in keymap.hints(app.mode()) {
                spans.push(Span::styled(format!(" {key}"), theme.style(K::KeyHint)));
                spans.push(Span::styled(format!(" {what} "), theme.style(K::Muted)));
            }
            Line::from(spans)
        }
    };
    frame.render_widget(Paragraph::new(line), area);
}
