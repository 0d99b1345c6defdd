//! Rendering: pure functions of the state onto a frame. Only the rows that
//! fit are built, so a frame costs the same for ten incidents or ten thousand.

use super::app::{App, Connection, Input, Overlay};
use super::keymap::Keymap;
use super::screens::{IncidentView, Scroll};
use super::theme::{StyleKey as K, Theme};
use crate::api::{
    Band, IncidentDetail, IncidentStatus, IncidentSummary, InterventionKind, InterventionNote, Severity, Suggestion,
    TimelineEntry,
};
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, Wrap};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

pub(super) mod activity;
mod dialog;
pub(super) mod learning;
pub(super) mod operations;
pub(super) mod paging;
mod pane;
pub(super) mod rollout;
pub(super) mod routing;
pub(super) mod triage;

pub fn render(app: &App, theme: &Theme, keymap: &Keymap, frame: &mut Frame) {
    let area = frame.area();
    if area.height < 3 || area.width < 10 {
        frame.render_widget(Paragraph::new("mandate: window too small"), area);
        return;
    }
    let [top, main, bottom] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)]).areas(area);
    status_bar(app, theme, frame, top);
    app.view().draw(app, theme, frame, main);
    match &app.overlay {
        Some(Overlay::Help { scroll }) => help(app, theme, keymap, frame, main, scroll),
        Some(Overlay::Dialog(d)) => dialog::dialog(d, theme, frame, main),
        Some(Overlay::Quit) => dialog::quit(app.pending.len(), theme, frame, main),
        Some(Overlay::Input(_)) | None => {}
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

/// One piece of the status bar. `give_up` orders what yields space when the
/// bar is too narrow (lowest first: the host, then the operator, …); None
/// never yields: the connection state, the environment and READ-ONLY.
struct Segment {
    text: String,
    style: Style,
    give_up: Option<u8>,
}

impl Segment {
    fn fixed(text: String, style: Style) -> Segment {
        Segment { text, style, give_up: None }
    }

    fn yields(text: String, style: Style, order: u8) -> Segment {
        Segment { text, style, give_up: Some(order) }
    }
}

/// Fits the segments into `width`: the ones that yield are cut with an
/// ellipsis, then dropped, in their order, until the rest fits whole.
fn fit(mut segments: Vec<Segment>, width: usize) -> Vec<Span<'static>> {
    let mut order: Vec<usize> = (0..segments.len()).filter(|&i| segments[i].give_up.is_some()).collect();
    order.sort_by_key(|&i| segments[i].give_up);
    for i in order {
        let total: usize = segments.iter().map(|s| s.text.width()).sum();
        if total <= width {
            break;
        }
        let over = total - width;
        let own = segments[i].text.width();
        // Cut to what is left, keeping at least a few characters and the
        // ellipsis; too little left to read is dropped instead.
        let keep = own.saturating_sub(over + 1);
        segments[i].text = if keep >= 4 { format!("{}…", truncate(&segments[i].text, keep)) } else { String::new() };
    }
    segments.into_iter().filter(|s| !s.text.is_empty()).map(|s| Span::styled(s.text, s.style)).collect()
}

/// The longest prefix of `text` at most `width` columns wide.
fn truncate(text: &str, width: usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if (out.as_str().width() + c.width().unwrap_or(0)) > width {
            break;
        }
        out.push(c);
    }
    out
}

fn status_bar(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let mut segments = vec![
        Segment::yields(" mandate".to_owned(), theme.style(K::Title), 5),
        Segment::yields(format!(" {}", app.host), theme.style(K::Muted), 0),
        Segment::fixed(" ".to_owned(), Style::default()),
    ];
    if let Some(env) = &app.environment {
        let key = if env.eq_ignore_ascii_case("prod") || env.eq_ignore_ascii_case("production") {
            K::EnvironmentProd
        } else {
            K::Environment
        };
        segments.push(Segment::fixed(format!(" {} ", env.to_uppercase()), theme.style(key)));
        segments.push(Segment::fixed(" ".to_owned(), Style::default()));
    }
    let (word, reason, key) = match &app.connection {
        Connection::Connecting => (" CONNECTING ".to_owned(), None, K::Stale),
        Connection::Live => (" LIVE ".to_owned(), None, K::Live),
        Connection::Offline { reason, since } if app.data_at.is_some() => {
            let for_s = (app.now - *since).num_seconds().max(0);
            (format!(" STALE {for_s}s "), Some(reason), K::Stale)
        }
        Connection::Offline { reason, .. } => (" OFFLINE ".to_owned(), Some(reason), K::Offline),
        Connection::Unauthorized { reason } => (" UNAUTHORIZED ".to_owned(), Some(reason), K::Offline),
    };
    segments.push(Segment::fixed(word, theme.style(key)));
    if let Some(reason) = reason {
        segments.push(Segment::yields(format!("{reason} "), theme.style(key), 3));
    }
    // Live data is current: say when it last changed (no per-second redraw).
    // Otherwise say how old it is.
    match (&app.connection, app.data_at, app.data_age()) {
        (Connection::Live, Some(at), _) => {
            segments.push(Segment::yields(format!(" as of {}", at.format("%H:%M:%S")), theme.style(K::Muted), 2))
        }
        (_, _, Some(age_s)) => segments.push(Segment::yields(format!(" data {age_s}s old"), theme.style(K::Muted), 2)),
        _ => {}
    }
    if let Some(who) = &app.operator {
        segments.push(Segment::yields(format!("  {} ({})", who.name, who.role), theme.style(K::Text), 1));
    }
    if app.is_readonly() {
        segments.push(Segment::fixed(" ".to_owned(), Style::default()));
        segments.push(Segment::fixed(" READ-ONLY ".to_owned(), theme.style(K::Readonly)));
    }
    frame.render_widget(Paragraph::new(Line::from(fit(segments, area.width as usize))), area);
}

/// Why a screen has no data yet: never an empty list that could be read
/// as "nothing is wrong".
fn not_known(app: &App, theme: &Theme, frame: &mut Frame, area: Rect, what: &str) {
    let host = &app.host;
    let (text, key) = match &app.connection {
        Connection::Connecting => (format!("{what}: connecting to {host}…"), K::Muted),
        Connection::Live => (format!("loading {what}…"), K::Muted),
        Connection::Offline { reason, .. } => (
            format!(
                "OFFLINE — {what} not known: cannot reach {host} ({reason}). Retrying every few seconds; \
                 nothing here means \"all clear\"."
            ),
            K::Offline,
        ),
        Connection::Unauthorized { reason } => (
            format!(
                "UNAUTHORIZED — {host} refused the token ({reason}), so nothing can be shown. Check the token \
                 the console was given (--token, --token-file or --token-command; MANDATE_TOKEN; token or \
                 token_command in config.toml): a mistyped, revoked or other server's token is refused. \
                 Ctrl-R tries again."
            ),
            K::Error,
        ),
    };
    frame.render_widget(Paragraph::new(Span::styled(text, theme.style(key))).wrap(Wrap { trim: false }), area);
}

pub(super) fn incidents(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    if !app.loaded_once {
        let block = titled(theme, " Incidents — not loaded yet ".to_owned());
        let inner = block.inner(area);
        frame.render_widget(block, area);
        return not_known(app, theme, frame, inner, "incidents");
    }
    let count = app.row_count();
    let c = &app.counts;
    let mut title = format!(
        " Incidents: {} open · {} acknowledged · {} resolved — sort: {} ",
        c.open,
        c.acknowledged,
        c.resolved,
        app.list.sort.label()
    );
    if !app.list.filter.is_empty() {
        title.push_str(&format!("— filter: {} ({count} shown) ", app.list.filter));
    }
    let block = titled(theme, title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if count == 0 {
        let text = if app.incidents.is_empty() { "no incidents" } else { "no incident matches the filter" };
        frame.render_widget(Paragraph::new(Span::styled(text, theme.style(K::Muted))), inner);
        return;
    }
    let height = inner.height.saturating_sub(1) as usize;
    let selected = app.selected_row().unwrap_or(0);
    let offset = selected.saturating_sub(height.saturating_sub(1));
    let widths = column_widths(list_columns(inner.width).iter().map(|c| c.1), inner);
    let visible: Vec<Row> = app
        .rows(offset, height)
        .enumerate()
        .map(|(n, i)| incident_row(app, theme, i, offset + n == selected, &widths))
        .collect();
    let columns = list_columns(inner.width);
    let header = Row::new(columns.iter().map(|c| c.0)).style(theme.style(K::Header));
    let widths: Vec<Constraint> = columns.iter().map(|c| c.1).collect();
    frame.render_widget(Table::new(visible, widths).header(header).column_spacing(1), inner);
}

/// The list's columns for a width. Below 100 columns the title gets the
/// space: RESOURCES goes (titles name the failing resource) and RESPONDERS
/// narrows.
fn list_columns(width: u16) -> Vec<(&'static str, Constraint)> {
    let mut columns = vec![
        ("", Constraint::Length(2)),
        ("SEV", Constraint::Length(4)),
        ("ID", Constraint::Length(6)),
        ("STATUS", Constraint::Length(12)),
        ("AGE", Constraint::Length(6)),
    ];
    if width < 100 {
        columns.extend([("TITLE", Constraint::Fill(1)), ("RESPONDERS", Constraint::Length(10))]);
    } else {
        columns.extend([
            ("TITLE", Constraint::Fill(3)),
            ("RESOURCES", Constraint::Fill(2)),
            ("RESPONDERS", Constraint::Fill(1)),
        ]);
    }
    columns
}

/// The width each column of a table gets in `area` (one space between
/// columns, as the tables are drawn), so cells can be cut with an ellipsis.
pub(super) fn column_widths(constraints: impl IntoIterator<Item = Constraint>, area: Rect) -> Vec<usize> {
    Layout::horizontal(constraints).spacing(1).split(area).iter().map(|r| r.width as usize).collect()
}

/// `text` cut to `width` columns, with an ellipsis where it was cut.
pub(super) fn ellipsize(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    format!("{}…", truncate(text, width - 1))
}

/// A screen's frame: a top rule carrying its title.
fn titled(theme: &Theme, title: String) -> Block<'static> {
    Block::default()
        .borders(Borders::TOP)
        .title(Span::styled(title, theme.style(K::Title)))
        .border_style(theme.style(K::Border))
}

fn incident_row<'a>(app: &App, theme: &Theme, i: &'a IncidentSummary, selected: bool, widths: &[usize]) -> Row<'a> {
    let marker = if selected {
        "▶"
    } else if app.new_ids.contains(&i.id) {
        "●"
    } else {
        " "
    };
    let marker_style = if app.new_ids.contains(&i.id) { theme.style(K::NewMarker) } else { theme.style(K::Text) };
    let title = if i.auto_recovered { format!("{} (flash)", i.title) } else { i.title.clone() };
    let mut texts = vec![title];
    if widths.len() > 7 {
        texts.push(i.resources.join(", "));
    }
    texts.push(i.responders.join(", "));
    let mut cells = vec![
        Cell::from(Span::styled(marker, marker_style)),
        Cell::from(severity(theme, i.severity)),
        Cell::from(ellipsize(&format!("#{}", i.id), widths[2])),
        Cell::from(status(theme, i.status)),
        Cell::from(age(i.started_at, app.now)),
    ];
    cells.extend(texts.iter().zip(&widths[5..]).map(|(t, w)| Cell::from(ellipsize(t, *w))));
    let row = Row::new(cells);
    if selected { row.style(theme.style(K::Selection)) } else { row }
}

pub(super) fn incident(app: &App, view: &IncidentView, theme: &Theme, frame: &mut Frame, area: Rect) {
    let (id, level) = (view.id, view.level);
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
        (_, Some(s)) => {
            let [first, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
            let line = Line::from(vec![status(theme, s.status), Span::raw("  "), severity(theme, s.severity)]);
            frame.render_widget(Paragraph::new(line), first);
            return not_known(app, theme, frame, rest, "the incident's detail");
        }
        _ if app.missing == Some(id) => {
            let text =
                format!("There is no incident #{id} on this server (404). Esc goes back; :incidents lists them.");
            let line = Span::styled(text, theme.style(K::Warning));
            return frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: false }), inner);
        }
        _ => return not_known(app, theme, frame, inner, "the incident"),
    };
    pane::scrolled(&view.scroll, theme, frame, inner, Rect { height: 1, ..area }, lines);
}

/// A verdict in words, the same at every width.
pub(super) fn verdict_word(v: crate::api::Verdict) -> &'static str {
    match v {
        crate::api::Verdict::Confirmed => "CONFIRMED",
        crate::api::Verdict::Rejected => "UNRELATED",
        crate::api::Verdict::Investigate => "INVESTIGATING",
    }
}

/// "12:03 alice escalated to level 2 — paging dba": one intervention.
fn intervention_text(i: &InterventionNote) -> String {
    let what = match i.kind {
        InterventionKind::Acknowledge => "acknowledged".to_owned(),
        InterventionKind::FlagForReview => "flagged it for review".to_owned(),
        InterventionKind::PauseAgent => "paused agent".to_owned(),
        InterventionKind::ResumeAgent => "resumed agent".to_owned(),
        InterventionKind::Escalate => "escalated".to_owned(),
        InterventionKind::CreateIncident => "opened a formal incident".to_owned(),
        InterventionKind::TriggerRollback => "requested a rollback:".to_owned(),
        InterventionKind::DisableTool => "disabled tool".to_owned(),
        InterventionKind::UpdateRule => "proposed a rule:".to_owned(),
    };
    let mut text = format!("{} {} {what}", i.at.format("%H:%M"), i.actor_id);
    if let Some(agent) = i.agent_id.as_deref().filter(|_| {
        matches!(i.kind, InterventionKind::PauseAgent | InterventionKind::ResumeAgent | InterventionKind::DisableTool)
    }) {
        text.push_str(&format!(" {agent}"));
    }
    if let Some(detail) = &i.detail {
        // A rule may span lines: its first line here, all of them at level 3.
        text.push_str(&format!(" {}", detail.lines().next().unwrap_or_default()));
    }
    if let Some(reason) = &i.reason {
        text.push_str(&format!(" — {reason}"));
    }
    text
}

/// Whether a suggestion has been acted on: its intervention was done, on the
/// same agent where it names one.
fn done_by<'a>(s: &Suggestion, done: &'a [InterventionNote]) -> Option<&'a InterventionNote> {
    let kind = s.intervention?;
    done.iter().rev().find(|i| i.kind == kind && (s.agent_id.is_none() || s.agent_id == i.agent_id))
}

fn heading(theme: &Theme, text: &str) -> Line<'static> {
    Line::from(Span::styled(text.to_owned(), theme.style(K::Header)))
}

fn detail_lines(app: &App, theme: &Theme, d: &IncidentDetail, level: u8) -> Vec<Line<'static>> {
    let s = &d.summary;
    let mut lines = Vec::new();
    let mut first = vec![status(theme, s.status), Span::raw("  "), severity(theme, s.severity)];
    first.push(Span::raw(format!(
        "  started {} ago, {}",
        age(s.started_at, app.now),
        plural(s.event_count as usize, "event")
    )));
    if s.auto_recovered {
        first.push(Span::styled("  auto-recovered", theme.style(K::Success)));
    }
    if s.flagged_for_review {
        first.push(Span::styled("  ⚑ FLAGGED FOR REVIEW", theme.style(K::Warning)));
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
    if let Some(paged) = paging::summary_line(theme, d, app.now) {
        lines.push(paged);
    }
    if let Some(p) = d.pattern.as_ref().filter(|p| !p.previous.is_empty()) {
        // Seed 2.3: "has this happened before?" is answered first.
        let before: Vec<String> =
            p.previous.iter().map(|o| format!("#{} {}", o.incident_id, o.started_at.format("%m-%d"))).collect();
        lines.push(Line::from(Span::styled(
            format!(
                "Seen before{} ({}): {} — occurrence {}",
                p.pattern_id.map(|id| format!(", {}", crate::incident::patterns::pattern_name(id))).unwrap_or_default(),
                p.level,
                before.join(", "),
                p.occurrence
            ),
            theme.style(K::Warning),
        )));
    }
    if let Some(r) = &d.routing
        && let Some(name) = r.rule_matched.as_deref().and_then(|n| n.strip_prefix("learned: "))
    {
        lines.push(Line::from(Span::styled(
            format!("{} by learned rule: {name}", r.decision.as_str().to_uppercase()),
            theme.style(K::Warning),
        )));
    }
    if !d.interventions.is_empty() {
        lines.push(Line::from(""));
        lines.push(heading(theme, "Done so far"));
        let shown = if level >= 3 { d.interventions.len() } else { 3 };
        let hidden = d.interventions.len().saturating_sub(shown);
        if hidden > 0 {
            lines.push(Line::from(Span::styled(
                format!("  … {} earlier (level 3 shows all)", plural(hidden, "action")),
                theme.style(K::Muted),
            )));
        }
        for i in d.interventions.iter().skip(hidden) {
            lines.push(Line::from(format!("  ✓ {}", intervention_text(i))));
        }
    }
    lines.push(Line::from(""));
    lines.push(heading(theme, "Top 3 now"));
    // What is still to do first; what was done stays, marked, below.
    let (done, open): (Vec<&Suggestion>, Vec<&Suggestion>) =
        d.top3.iter().partition(|t| done_by(t, &d.interventions).is_some());
    for (n, t) in open.iter().enumerate() {
        let action = t.intervention.map(|i| format!(" [{i}]")).unwrap_or_default();
        lines.push(Line::from(vec![
            Span::styled(format!("{}. {}: ", n + 1, t.kind.as_str().to_uppercase()), theme.style(K::Accent)),
            Span::raw(format!("{}{action}", t.title)),
        ]));
        lines.push(Line::from(Span::styled(format!("   {}", t.reason), theme.style(K::Muted))));
    }
    for t in done {
        let by = done_by(t, &d.interventions).map(intervention_text).unwrap_or_default();
        lines.push(Line::from(vec![
            Span::styled("✓ DONE: ", theme.style(K::Success)),
            Span::styled(format!("{} ({by})", t.title), theme.style(K::Muted)),
        ]));
    }
    if d.top3.is_empty() {
        lines.push(Line::from(Span::styled("nothing to suggest yet", theme.style(K::Muted))));
    }
    if level >= 2 {
        lines.push(Line::from(""));
        paging::paging_lines(theme, d, level, app.now, &mut lines);
        if level >= 3 {
            lines.push(heading(theme, "Timeline"));
            for entry in &d.timeline {
                lines.push(timeline_line(app, theme, entry));
                // A rule spans lines: all of them, under its entry.
                if let TimelineEntry::Intervention { intervention } = entry {
                    for row in intervention.detail.iter().flat_map(|d| d.lines().skip(1)) {
                        lines.push(Line::from(Span::styled(format!("             {row}"), theme.style(K::Accent))));
                    }
                }
            }
        } else {
            // Repeats collapse, so the change that caused them stays in view.
            lines.push(heading(theme, "Last events"));
            let runs = repeats(&d.timeline);
            for (entry, n) in runs.iter().rev().take(5).rev() {
                let line = timeline_line(app, theme, entry);
                lines.push(if *n > 1 { counted(line, *n) } else { line });
            }
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
        PastPattern { incident_id } => format!("+10: the same change was confirmed as the cause of #{incident_id}"),
        PastRejections { times } => format!("−10: rejected {times} times before"),
        DelayedEffect { minutes } => format!("delayed effect: {minutes} min between change and impact"),
    }
}

/// The timeline as runs of the same error (or action) on the same resource
/// by the same agent: each run's last entry and its length.
fn repeats(timeline: &[TimelineEntry]) -> Vec<(&TimelineEntry, usize)> {
    let key = |e: &TimelineEntry| match e {
        TimelineEntry::Event { event, related } => Some((
            *related,
            event.error_code.clone().or(event.action_type.clone()),
            event.resource.clone(),
            event.agent_id.clone(),
        )),
        _ => None,
    };
    let mut runs: Vec<(&TimelineEntry, usize)> = Vec::new();
    for entry in timeline {
        match runs.last_mut() {
            Some((last, n)) if key(entry).is_some() && key(entry) == key(last) => {
                *last = entry;
                *n += 1;
            }
            _ => runs.push((entry, 1)),
        }
    }
    runs
}

/// A timeline line for a run of `n`: "  12:04:10 5 × ✗ CONFIG_INVALID …".
fn counted(line: Line<'static>, n: usize) -> Line<'static> {
    let style = line.style;
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    let span_style = line.spans.first().map(|s| s.style).unwrap_or_default();
    // The time (last of the run) stays first; the count goes before the mark.
    let (time, rest) = text.trim_start().split_once(' ').unwrap_or(("", text.trim_start()));
    Line::from(Span::styled(format!("  {time} {n} × {rest}"), span_style)).style(style)
}

/// "1 event", "5 events".
pub(super) fn plural(n: usize, noun: &str) -> String {
    match (n, noun.strip_suffix('y')) {
        (1, _) => format!("1 {noun}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        _ => format!("{n} {noun}s"),
    }
}

fn timeline_line(app: &App, theme: &Theme, entry: &TimelineEntry) -> Line<'static> {
    match entry {
        TimelineEntry::Intervention { intervention } => Line::from(Span::styled(
            format!(
                "  {} ★ {}",
                intervention.at.format("%H:%M:%S"),
                intervention_text(intervention).split_once(' ').map_or("", |(_, rest)| rest)
            ),
            theme.style(K::Accent),
        )),
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
fn help(app: &App, theme: &Theme, keymap: &Keymap, frame: &mut Frame, area: Rect, scroll: &Scroll) {
    let mut lines: Vec<Line> = keymap
        .actions(app.mode())
        .into_iter()
        .map(|a| {
            let keys: Vec<String> = a.keys.iter().map(|k| k.label()).collect();
            Line::from(vec![
                Span::styled(format!("{:>11} ", keys.join(" ")), theme.style(K::KeyHint)),
                Span::raw(a.description),
            ])
        })
        .collect();
    let entry = |key: &str, what: &str| {
        Line::from(vec![Span::styled(format!("{key:>11} "), theme.style(K::KeyHint)), Span::raw(what.to_owned())])
    };
    let keys = lines.len();
    lines.push(Line::from(Span::styled("Commands (after :)", theme.style(K::Header))));
    for (command, what) in COMMAND_HELP {
        lines.push(entry(command, what));
    }
    lines.push(Line::from(Span::styled("Legend", theme.style(K::Header))));
    for (mark, what) in LEGEND {
        lines.push(entry(mark, what));
    }
    let columns = if lines.len() as u16 + 2 > area.height && area.width >= 76 { 2 } else { 1 };
    let rows = (area.height.saturating_sub(2) as usize).max(1);
    let per_column = lines.len().div_ceil(columns).min(rows);
    // A section's heading never ends a column.
    if per_column > 1 && keys % per_column == per_column - 1 {
        lines.insert(keys, Line::from(""));
    }
    // What does not fit scrolls; the title says so.
    let room = per_column * columns;
    let first = pane::clamp(scroll, lines.len().saturating_sub(room));
    let more = lines.len() > room;
    let width = area.width.min(46 * columns as u16 + 2);
    let height = area.height.min(per_column as u16 + 2);
    let popup = Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height };
    frame.render_widget(Clear, popup);
    let title = if more {
        format!(" Keys {}–{} of {} (j/k scroll, esc closes) ", first + 1, first + room, lines.len())
    } else {
        " Keys (esc closes) ".to_owned()
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.style(K::Title)))
        .border_style(theme.style(K::Border));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let halves = Layout::horizontal(vec![Constraint::Ratio(1, columns as u32); columns]).split(inner);
    for (n, chunk) in lines[first..].chunks(per_column.max(1)).take(columns).enumerate() {
        frame.render_widget(Paragraph::new(chunk.to_vec()), halves[n]);
    }
}

/// The `:` commands, for help.
const COMMAND_HELP: [(&str, &str); 12] = [
    ("incidents", "the incident list"),
    ("activity", "LIVE-O5 / COMP-O5 runs"),
    ("agents", "agents: pause, resume"),
    ("audit", "the audit log"),
    ("attribution", "attribution rollout"),
    ("routing", "escalation chain, rules"),
    ("notifications", "pages sent, due, dead"),
    ("calibration", "scores vs verdicts"),
    ("patterns", "repeat incidents, rules"),
    ("123 #123", "open incident 123"),
    ("theme NAME", "dark, light, mono, …"),
    ("q", "quit"),
];

/// What the marks on screen mean, for help.
const LEGEND: [(&str, &str); 8] = [
    ("▶", "selected"),
    ("●", "new since the list loaded"),
    ("CRIT HIGH", "severity, then MED, LOW"),
    ("[LIKELY]", "cause band and confidence:"),
    ("", "CONFIRMED LIKELY SUSPECTED"),
    ("", "POSSIBLE (from high to low)"),
    ("[ORPHANED]", "owner flag; also OWNER"),
    ("", "AWAY, AMBIGUOUS, EXTERNAL"),
];

/// Whole hints only, in the keymap's order (most needed first); when some do
/// not fit, the bar ends with `? more`.
fn hint_spans(theme: &Theme, hints: &[(String, String)], width: usize) -> Vec<Span<'static>> {
    const MORE: &str = " ? more";
    let mut spans = Vec::new();
    let mut used = 0;
    for (n, (key, what)) in hints.iter().enumerate() {
        let key = format!(" {key}");
        let what = format!(" {what} ");
        let cost = key.width() + what.width();
        let last = n + 1 == hints.len();
        let room = if last { width } else { width.saturating_sub(MORE.width()) };
        if used + cost > room {
            spans.push(Span::styled(MORE, theme.style(K::KeyHint)));
            return spans;
        }
        used += cost;
        spans.push(Span::styled(key, theme.style(K::KeyHint)));
        spans.push(Span::styled(what, theme.style(K::Muted)));
    }
    spans
}

fn bottom_line(app: &App, theme: &Theme, keymap: &Keymap, frame: &mut Frame, area: Rect) {
    let input = match &app.overlay {
        Some(Overlay::Input(input)) => Some(input),
        _ => None,
    };
    let line = match (input, &app.message) {
        (Some(Input::Filter(t)), _) => {
            Line::from(vec![Span::styled("/", theme.style(K::KeyHint)), Span::raw(t.clone()), Span::raw("▏")])
        }
        (Some(Input::Command(t)), _) => {
            Line::from(vec![Span::styled(":", theme.style(K::KeyHint)), Span::raw(t.clone()), Span::raw("▏")])
        }
        (None, Some(m)) => Line::from(Span::styled(m.clone(), theme.style(K::Warning))),
        (None, None) => {
            let hints = match &app.overlay {
                // Help's own keys only: every other key is listed above it.
                Some(Overlay::Help { .. }) => {
                    let mut own: Vec<(String, String)> = keymap
                        .actions(super::keymap::Mode::Help)
                        .into_iter()
                        .filter(|a| a.action == super::keymap::KeyAction::Close)
                        .map(|a| (a.keys.iter().map(|k| k.label()).collect::<Vec<_>>().join(" "), a.description))
                        .collect();
                    own.push(("j k".into(), "scroll".into()));
                    own
                }
                Some(Overlay::Quit) => vec![("y".into(), "quit".into()), ("any other key".into(), "stay".into())],
                Some(Overlay::Dialog(_)) => vec![
                    ("tab".into(), "next field or buttons".into()),
                    ("s-tab".into(), "previous".into()),
                    ("esc".into(), "cancel".into()),
                ],
                _ => keymap.hints(app.mode()),
            };
            Line::from(hint_spans(theme, &hints, area.width as usize))
        }
    };
    frame.render_widget(Paragraph::new(line), area);
}
