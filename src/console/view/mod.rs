//! Rendering: pure functions of the state onto a frame. The frame (status
//! bar, the screen shown, overlays, the key line) and what several screens
//! draw alike (titles, ages, severities, panes that scroll, the incident's
//! paging); each screen draws itself (`screens/`). Only the rows that fit
//! are built, so a frame costs the same for ten incidents or ten thousand.

use super::app::{App, Connection, Input, Overlay};
use super::keymap::Keymap;
use super::screens::Scroll;
use super::theme::{StyleKey as K, Theme};
use crate::api::{Band, IncidentStatus, Severity};
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Wrap};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

mod dialog;
mod list;
pub(in crate::console) use list::ListTable;
pub(super) mod learning;
pub(super) mod paging;
pub(super) mod pane;
pub(super) mod stops;

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
        Some(Overlay::Messages { scroll }) => messages(app, theme, frame, main, scroll),
        Some(Overlay::Reading { reading, scroll }) => {
            let width = reading.fields.iter().map(|(l, _)| l.width()).max().unwrap_or(0);
            let lines = reading
                .fields
                .iter()
                .map(|(label, value)| {
                    Line::from(vec![
                        Span::styled(format!("{label:>width$}  "), theme.style(K::Header)),
                        Span::raw(value.clone()),
                    ])
                })
                .collect();
            text_popup(theme, frame, main, &format!(" {} (j/k scroll, esc closes) ", reading.title), lines, scroll)
        }
        Some(Overlay::Input(_)) | None => {}
    }
    bottom_line(app, theme, keymap, frame, bottom);
}

pub(in crate::console) fn age(from: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let s = (now - from).num_seconds().max(0);
    match s {
        0..=59 => "<1m".to_owned(),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d", s / 86_400),
    }
}

pub(in crate::console) fn severity(theme: &Theme, s: Severity) -> Span<'static> {
    let (label, key) = match s {
        Severity::Critical => ("CRIT", K::SeverityCritical),
        Severity::High => ("HIGH", K::SeverityHigh),
        Severity::Medium => ("MED", K::SeverityMedium),
        Severity::Low => ("LOW", K::SeverityLow),
    };
    Span::styled(label, theme.style(key))
}

pub(in crate::console) fn status(theme: &Theme, s: IncidentStatus) -> Span<'static> {
    let key = match s {
        IncidentStatus::Open => K::StatusOpen,
        IncidentStatus::Acknowledged => K::StatusAcknowledged,
        IncidentStatus::Resolved => K::StatusResolved,
    };
    Span::styled(s.as_str().to_uppercase(), theme.style(key))
}

pub(in crate::console) fn band(theme: &Theme, b: Band) -> Style {
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
pub(in crate::console) struct Segment {
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
pub(in crate::console) fn fit(mut segments: Vec<Segment>, width: usize) -> Vec<Span<'static>> {
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
pub(in crate::console) fn truncate(text: &str, width: usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if (out.as_str().width() + c.width().unwrap_or(0)) > width {
            break;
        }
        out.push(c);
    }
    out
}

pub(in crate::console) fn status_bar(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
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
        // Its reason goes with how long, below.
        Connection::Offline { .. } if app.data_at.is_some() => (" STALE ".to_owned(), None, K::Stale),
        Connection::Offline { reason, .. } => (" OFFLINE ".to_owned(), Some(reason), K::Offline),
        Connection::Unauthorized { reason } => (" UNAUTHORIZED ".to_owned(), Some(reason), K::Offline),
    };
    segments.push(Segment::fixed(word, theme.style(key)));
    // Gated actions waiting for a person: never cut, like the connection.
    if let Some(n) = app.approvals_waiting().filter(|n| *n > 0) {
        segments.push(Segment::fixed(" ".to_owned(), Style::default()));
        let word = if n == 1 { "APPROVAL".to_owned() } else { "APPROVALS".to_owned() };
        segments.push(Segment::fixed(format!(" {n} {word} "), theme.style(K::Error)));
        segments.push(Segment::yields(" :approvals".to_owned(), theme.style(K::Muted), 1));
    }
    // Said before the reason: it outlives a cut of everything else.
    if let Some(alarm) = app.paging.as_ref().and_then(crate::api::PagingHealth::alarm) {
        segments.push(Segment::fixed(" ".to_owned(), Style::default()));
        segments.push(Segment::fixed(" PAGING ".to_owned(), theme.style(K::Error)));
        segments.push(Segment::yields(format!(" {alarm} "), theme.style(K::Error), 4));
    }
    if let Some(reason) = reason {
        segments.push(Segment::yields(format!(" {reason}"), theme.style(key), 3));
    }
    // When the server last confirmed what is shown: a change, or a long
    // poll that ended with nothing changed. To the minute while live (no
    // per-second redraw); with the seconds it has been unanswered otherwise.
    match (&app.connection, app.data_at) {
        (Connection::Live, Some(at)) => {
            segments.push(Segment::yields(format!(" confirmed {}", at.format("%H:%M")), theme.style(K::Muted), 2))
        }
        (Connection::Offline { since, reason }, Some(at)) => {
            let for_s = (app.now - *since).num_seconds().max(0);
            segments.push(Segment::yields(format!(" no answer for {for_s}s"), theme.style(K::Stale), 3));
            segments.push(Segment::yields(format!(" ({reason})"), theme.style(K::Stale), 0));
            segments.push(Segment::yields(
                format!("; last confirmed {}", at.format("%H:%M:%S")),
                theme.style(K::Muted),
                2,
            ))
        }
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
pub(in crate::console) fn not_known(app: &App, theme: &Theme, frame: &mut Frame, area: Rect, what: &str) {
    let host = &app.host;
    let (text, key) = match &app.connection {
        Connection::Connecting => (format!("{what}: connecting to {host}…"), K::Muted),
        Connection::Live => (format!("loading {what}…"), K::Muted),
        Connection::Offline { reason, since } => (
            format!(
                "OFFLINE — {what}: unknown. This screen is empty because {host} has not answered for {}s \
                 ({reason}); retrying every few seconds.",
                (app.now - *since).num_seconds().max(0)
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

/// The width each column of a table gets in `area` (one space between
/// columns, as the tables are drawn), so cells can be cut with an ellipsis.
pub(in crate::console) fn column_widths(constraints: impl IntoIterator<Item = Constraint>, area: Rect) -> Vec<usize> {
    Layout::horizontal(constraints).spacing(1).split(area).iter().map(|r| r.width as usize).collect()
}

/// The widest of what `rows` hold by `width`, at most `cap`: a column as
/// wide as its content, so columns give way by value, not by order.
pub(in crate::console) fn widest<T>(
    rows: impl IntoIterator<Item = T>,
    width: impl Fn(T) -> usize,
    cap: usize,
) -> usize {
    rows.into_iter().map(width).max().unwrap_or(0).min(cap)
}

/// `text` cut to `width` columns, with an ellipsis where it was cut.
pub(in crate::console) fn ellipsize(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    format!("{}…", truncate(text, width - 1))
}

/// A screen's frame: a top rule carrying its title.
pub(in crate::console) fn titled(theme: &Theme, title: String) -> Block<'static> {
    Block::default()
        .borders(Borders::TOP)
        .title(Span::styled(title, theme.style(K::Title)))
        .border_style(theme.style(K::Border))
}

/// A verdict in words, the same at every width.
pub(in crate::console) fn verdict_word(v: crate::api::Verdict) -> &'static str {
    match v {
        crate::api::Verdict::Confirmed => "CONFIRMED",
        crate::api::Verdict::Rejected => "UNRELATED",
        crate::api::Verdict::Investigate => "INVESTIGATING",
    }
}

pub(in crate::console) fn heading(theme: &Theme, text: &str) -> Line<'static> {
    Line::from(Span::styled(text.to_owned(), theme.style(K::Header)))
}

pub(in crate::console) fn evidence_text(e: &crate::api::Evidence) -> String {
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

/// "1 event", "5 events".
pub(in crate::console) fn plural(n: usize, noun: &str) -> String {
    match (n, noun.strip_suffix('y')) {
        (1, _) => format!("1 {noun}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        _ => format!("{n} {noun}s"),
    }
}

/// The keys of the screen under the overlay, one line per action with all
/// its keys; in two columns when one would not fit the height.
pub(in crate::console) fn help(
    app: &App,
    theme: &Theme,
    keymap: &Keymap,
    frame: &mut Frame,
    area: Rect,
    scroll: &Scroll,
) {
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
    lines.push(Line::from(Span::styled("Versions", theme.style(K::Header))));
    lines.push(entry("console", concat!(env!("CARGO_PKG_VERSION"), " (API v1)")));
    lines.push(entry("server", app.server_version.as_deref().unwrap_or("not heard from yet")));
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

/// The bottom line's messages again, oldest first, opened at the newest:
/// one cut short, or gone before it was read, is read here whole.
fn messages(app: &App, theme: &Theme, frame: &mut Frame, area: Rect, scroll: &Scroll) {
    let lines: Vec<Line<'static>> = if app.messages.is_empty() {
        vec![Line::from(Span::styled("no message has been shown yet", theme.style(K::Muted)))]
    } else {
        app.messages
            .iter()
            .map(|(at, m)| {
                Line::from(vec![
                    Span::styled(format!("{} ", at.format("%H:%M:%S")), theme.style(K::Muted)),
                    Span::raw(m.clone()),
                ])
            })
            .collect()
    };
    text_popup(theme, frame, area, " Messages, newest last (j/k scroll, esc closes) ", lines, scroll);
}

/// Text over the screen, in a box nearly as large, wrapped and scrolled,
/// its position on the top border.
fn text_popup(theme: &Theme, frame: &mut Frame, area: Rect, title: &str, lines: Vec<Line<'static>>, scroll: &Scroll) {
    let popup = Rect {
        x: area.x + 1.min(area.width / 20),
        y: area.y,
        width: area.width.saturating_sub(2.min(area.width / 10)),
        height: area.height,
    };
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title.to_owned(), theme.style(K::Title)))
        .border_style(theme.style(K::Border));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    pane::scrolled(scroll, theme, frame, inner, Rect { height: 1, ..popup }, lines);
}

/// The `:` commands, for help.
const COMMAND_HELP: [(&str, &str); 15] = [
    ("incidents", "the incident list"),
    ("activity", "LIVE-O5 / COMP-O5 runs"),
    ("agents", "agents: pause, resume"),
    ("audit", "the audit log"),
    ("attribution", "attribution rollout"),
    ("routing", "escalation chain, rules"),
    ("notifications", "pages sent, due, dead"),
    ("silences", "silences, maintenance windows"),
    ("approvals", "gated actions to decide"),
    ("calibration", "scores vs verdicts"),
    ("patterns", "repeat incidents, rules"),
    ("messages", "messages shown, again"),
    ("123 #123", "open incident 123"),
    ("theme NAME", "dark, light, mono, …"),
    ("q", "quit"),
];

/// What the marks on screen mean, for help.
const LEGEND: [(&str, &str); 9] = [
    ("▶", "selected"),
    ("●", "changed since you last looked"),
    ("CRIT HIGH", "severity, then MED, LOW"),
    ("[LIKELY]", "cause band and confidence:"),
    ("", "LIKELY SUSPECTED POSSIBLE"),
    ("CONFIRMED", "a person confirmed it"),
    ("DIRECT", "the analysis's direct cause"),
    ("[ORPHANED]", "owner flag; also OWNER"),
    ("", "AWAY, AMBIGUOUS, EXTERNAL"),
];

/// Whole hints only, in the keymap's order (most needed first). Help's own
/// hint goes last: `? help` when every hint fits, `? more` when some do not
/// (help lists them), never both.
pub(in crate::console) fn hint_spans(theme: &Theme, hints: &[(String, String)], width: usize) -> Vec<Span<'static>> {
    const MORE: &str = " ? more";
    let help = hints.iter().find(|(key, _)| key == "?");
    let rest: Vec<&(String, String)> = hints.iter().filter(|(key, _)| key != "?").collect();
    let tail = |fits: bool| match (help, fits) {
        (Some((key, what)), true) => {
            vec![
                Span::styled(format!(" {key}"), theme.style(K::KeyHint)),
                Span::styled(format!(" {what} "), theme.style(K::Muted)),
            ]
        }
        (_, false) => vec![Span::styled(MORE, theme.style(K::KeyHint))],
        (None, true) => vec![],
    };
    let tail_width = |fits: bool| tail(fits).iter().map(|s| s.content.width()).sum::<usize>();
    let mut spans = Vec::new();
    let mut used = 0;
    for (n, (key, what)) in rest.iter().enumerate() {
        let key = format!(" {key}");
        let what = format!(" {what} ");
        let cost = key.width() + what.width();
        let last = n + 1 == rest.len();
        let room = if last {
            width.saturating_sub(tail_width(true))
        } else {
            width.saturating_sub(MORE.width().max(tail_width(true)))
        };
        if used + cost > room {
            spans.extend(tail(false));
            return spans;
        }
        used += cost;
        spans.push(Span::styled(key, theme.style(K::KeyHint)));
        spans.push(Span::styled(what, theme.style(K::Muted)));
    }
    spans.extend(tail(true));
    spans
}

pub(in crate::console) fn bottom_line(app: &App, theme: &Theme, keymap: &Keymap, frame: &mut Frame, area: Rect) {
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
        (None, Some(m)) => {
            let width = area.width as usize;
            if m.width() <= width {
                Line::from(Span::styled(m.clone(), theme.style(K::Warning)))
            } else {
                // Cut where it must be, said, and whole in :messages.
                const MORE: &str = " :messages";
                let room = width.saturating_sub(MORE.len());
                Line::from(vec![
                    Span::styled(ellipsize(m, room), theme.style(K::Warning)),
                    Span::styled(MORE, theme.style(K::KeyHint)),
                ])
            }
        }
        (None, None) => {
            let hints = match &app.overlay {
                // Help's own keys only: every other key is listed above it.
                Some(Overlay::Help { .. } | Overlay::Messages { .. } | Overlay::Reading { .. }) => {
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

/// A muted line of text filling `area`: what a screen says while it has
/// nothing else to show.
pub(in crate::console) fn muted(theme: &Theme, frame: &mut Frame, area: Rect, text: &str) {
    frame.render_widget(Paragraph::new(Span::styled(text.to_owned(), theme.style(K::Muted))), area);
}

/// An incident screen whose incident has not arrived yet.
pub(in crate::console) fn loading(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    not_known(app, theme, frame, area, "the incident");
}

/// A list drawn as a table with the plain marker (`▶` on the selected
/// row) and its position on the heading row: see [`ListTable`].
pub(in crate::console) fn list_table<'a>(
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    columns: &[(String, Constraint)],
    (len, selected): (usize, usize),
    cells: impl FnMut(usize, bool, &[usize]) -> Vec<Cell<'a>>,
) {
    ListTable::new(columns, len, selected).draw(theme, frame, area, cells);
}
