//! The incident list: its selection, filter and sort, and the rows they
//! give, computed when data, filter or sort change, never while drawing.

use super::{IncidentView, Selection, Step, View};
use crate::api::{IncidentStatus, IncidentSummary, Severity, WatchState};
use crate::console::app::App;
use crate::console::keymap::KeyAction;
use crate::console::theme::{StyleKey as K, Theme};
use crate::console::view::{ListTable, age, ellipsize, not_known, severity, status, titled};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph};
use unicode_width::UnicodeWidthStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Severity,
    Newest,
    Status,
}

impl SortKey {
    pub fn label(self) -> &'static str {
        match self {
            SortKey::Severity => "severity",
            SortKey::Newest => "newest",
            SortKey::Status => "status",
        }
    }

    fn next(self) -> SortKey {
        match self {
            SortKey::Severity => SortKey::Newest,
            SortKey::Newest => SortKey::Status,
            SortKey::Status => SortKey::Severity,
        }
    }
}

#[derive(Debug, Clone)]
pub struct IncidentList {
    /// By incident number.
    selection: Selection<i64>,
    /// `!` inverts it.
    pub filter: String,
    /// The filter as it was when editing began, for Esc to restore.
    pub filter_before_edit: Option<String>,
    pub sort: SortKey,
    /// The rows: indices into the incidents, filtered and sorted.
    order: Vec<usize>,
}

impl Default for IncidentList {
    fn default() -> Self {
        IncidentList {
            selection: Selection::default(),
            filter: String::new(),
            filter_before_edit: None,
            sort: SortKey::Severity,
            order: vec![],
        }
    }
}

fn severity_rank(s: &IncidentSummary) -> u8 {
    match s.severity {
        Severity::Critical => 0,
        Severity::High => 1,
        Severity::Medium => 2,
        Severity::Low => 3,
    }
}

fn status_rank(s: &IncidentSummary) -> u8 {
    match s.status {
        IncidentStatus::Open => 0,
        IncidentStatus::Acknowledged => 1,
        IncidentStatus::Resolved => 2,
    }
}

impl IncidentList {
    /// How many rows the list shows.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Rows `skip..skip + take`, for drawing only what fits.
    pub fn rows<'a>(
        &'a self,
        incidents: &'a [IncidentSummary],
        skip: usize,
        take: usize,
    ) -> impl Iterator<Item = &'a IncidentSummary> {
        self.order.iter().skip(skip).take(take).map(|&i| &incidents[i])
    }

    /// The selected incident's number.
    pub fn selected(&self) -> Option<i64> {
        self.selection.key().copied()
    }

    /// Selects incident `id` (shown selected if it is listed).
    pub fn select(&mut self, id: i64) {
        self.selection = Selection::on(id);
    }

    /// Position of the selected incident among the rows.
    pub fn selected_row(&self, incidents: &[IncidentSummary]) -> Option<usize> {
        let id = self.selection.key()?;
        self.order.iter().position(|&i| incidents[i].id == *id)
    }

    fn ids(&self, incidents: &[IncidentSummary]) -> Vec<i64> {
        self.order.iter().map(|&i| incidents[i].id).collect()
    }

    /// Recomputes the rows; the selection stays on the same incident across
    /// refreshes, and moves to the first row if that incident is gone.
    pub fn refresh(&mut self, incidents: &[IncidentSummary]) {
        let (inverse, needle) = match self.filter.strip_prefix('!') {
            Some(rest) => (true, rest.to_lowercase()),
            None => (false, self.filter.to_lowercase()),
        };
        let mut order: Vec<usize> = (0..incidents.len())
            .filter(|&n| {
                if needle.is_empty() {
                    return true;
                }
                let i = &incidents[n];
                let hay = format!("{} #{} {} {} {}", i.title, i.id, i.status, i.severity, i.resources.join(" "))
                    .to_lowercase();
                hay.contains(&needle) != inverse
            })
            .collect();
        match self.sort {
            SortKey::Severity => order.sort_by_key(|&n| {
                let i = &incidents[n];
                (severity_rank(i), status_rank(i), std::cmp::Reverse(i.started_at), i.id)
            }),
            SortKey::Newest => order.sort_by_key(|&n| (std::cmp::Reverse(incidents[n].started_at), incidents[n].id)),
            SortKey::Status => order.sort_by_key(|&n| {
                let i = &incidents[n];
                (status_rank(i), severity_rank(i), std::cmp::Reverse(i.started_at))
            }),
        }
        self.order = order;
        self.selection.settle(&self.ids(incidents));
    }

    pub fn on_key(&mut self, action: KeyAction, incidents: &[IncidentSummary]) -> Step {
        match action {
            KeyAction::SortNext => {
                self.sort = self.sort.next();
                self.refresh(incidents);
            }
            KeyAction::Open => match self.selected() {
                Some(id) => return Step::Push(View::Incident(IncidentView::new(id))),
                None => return Step::Unhandled,
            },
            _ => return self.selection.on_key(action, &self.ids(incidents)),
        }
        Step::Stay
    }
}

pub(super) fn draw(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
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
    let mut inner = block.inner(area);
    frame.render_widget(block, area);
    let watch = watch_lines(app, theme);
    if !watch.is_empty() {
        // Above the incidents, as their own kind; at most a third of the room.
        let room = (watch.len() as u16).min((inner.height / 3).max(1));
        let [top, rest] = Layout::vertical([Constraint::Length(room), Constraint::Min(0)]).areas(inner);
        frame.render_widget(Paragraph::new(watch), top);
        inner = rest;
    }
    if count == 0 {
        let text = if app.incidents.is_empty() { "no incidents" } else { "no incident matches the filter" };
        frame.render_widget(Paragraph::new(Span::styled(text, theme.style(K::Muted))), inner);
        return;
    }
    let all: Vec<&IncidentSummary> = app.rows(0, count).collect();
    let columns = list_columns(inner.width, &all);
    let marker = |n: usize, selected: bool| {
        let changed = app.changed_since_seen(all[n]);
        let text = if selected {
            "▶"
        } else if changed {
            "●"
        } else {
            " "
        };
        Cell::from(Span::styled(text, theme.style(if changed { K::NewMarker } else { K::Text })))
    };
    ListTable::new(&columns, count, app.selected_row().unwrap_or(0)).marker(2, marker).position_on(area).draw(
        theme,
        frame,
        inner,
        |n, _, widths| incident_cells(app, theme, all[n], &columns, widths),
    );
}

/// Open degradations ("DEGRADING payments-service: …") and slow-burn rules
/// whose metrics cannot be read ("METRICS UNAVAILABLE: …"): what the list
/// shows above the incidents. A rule unavailable is never shown as healthy.
fn watch_lines(app: &App, theme: &Theme) -> Vec<Line<'static>> {
    let w = &app.watch;
    let mut lines = Vec::new();
    for d in &w.degradations {
        let sign = if d.change_pct >= 0.0 { "+" } else { "" };
        let told = d.told.as_deref().map(|t| format!(", {t} told")).unwrap_or_default();
        lines.push(Line::from(vec![
            Span::styled("DEGRADING ", theme.style(K::Warning)),
            Span::raw(format!(
                "{} {sign}{:.0} % in {} vs the {} before: {}, since {}{told}",
                d.service,
                d.change_pct,
                d.window,
                d.baseline_window,
                d.rule,
                d.opened_at.format("%m-%d %H:%M")
            )),
        ]));
    }
    for c in w.checks.iter().filter(|c| c.state == WatchState::Unavailable) {
        lines.push(Line::from(vec![
            Span::styled("METRICS UNAVAILABLE ", theme.style(K::Error)),
            Span::raw(format!(
                "{}: {} (rule {}, since {})",
                c.service,
                c.error.as_deref().unwrap_or("not known why"),
                c.rule,
                c.since.format("%H:%M")
            )),
        ]));
    }
    lines
}

/// The list's columns for a width, as wide as what they hold: the title
/// takes what the others leave. RESOURCES shows from 100 columns (titles
/// name the failing resource); a column nobody's rows fill is left out.
fn list_columns(width: u16, rows: &[&IncidentSummary]) -> Vec<(String, Constraint)> {
    let widest = |f: &dyn Fn(&IncidentSummary) -> usize, cap: usize| crate::console::view::widest(rows, |i| f(i), cap);
    let id = widest(&|i| format!("#{}", i.id).len(), 8).max(2);
    let mut columns = vec![
        ("SEV", Constraint::Length(4)),
        ("ID", Constraint::Length(id as u16)),
        ("STATUS", Constraint::Length(12)),
        ("AGE", Constraint::Length(6)),
        ("TITLE", Constraint::Fill(1)),
    ];
    if width >= 100 {
        let resources = widest(&|i| i.resources.join(", ").width(), 40);
        if resources > 0 {
            columns.push(("RESOURCES", Constraint::Length(resources.max(9) as u16)));
        }
    }
    let responders = widest(&|i| i.responders.join(", ").width(), if width < 100 { 12 } else { 24 });
    if responders > 0 {
        columns.push(("RESPONDERS", Constraint::Length(responders.max(10) as u16)));
    }
    columns.into_iter().map(|(name, width)| (name.to_owned(), width)).collect()
}

/// A row's cells after the marker; `widths` are the columns' (the marker's first).
fn incident_cells<'a>(
    app: &App,
    theme: &Theme,
    i: &IncidentSummary,
    columns: &[(String, Constraint)],
    widths: &[usize],
) -> Vec<Cell<'a>> {
    let mut title = if i.auto_recovered { format!("{} (flash)", i.title) } else { i.title.clone() };
    // A silence holding its paging: said on the row, the status first.
    let silenced = i.silenced.as_ref().filter(|m| m.until > app.now && i.status != IncidentStatus::Resolved);
    if let Some(m) = silenced {
        let said = if i.status == IncidentStatus::Open { "" } else { "SILENCED " };
        title.push_str(&format!(" — {said}{} by {}: {}", super::until_words(m.until, app.now), m.owner, m.reason));
    }
    if let Some(into) = i.merged_into {
        title = format!("→ #{into} (merged) {title}");
    }
    let state = match silenced {
        _ if i.merged_into.is_some() => Span::styled("MERGED", theme.style(K::Muted)),
        Some(_) if i.status == IncidentStatus::Open => Span::styled("SILENCED", theme.style(K::Warning)),
        _ => status(theme, i.status),
    };
    let mut cells = vec![
        Cell::from(severity(theme, i.severity)),
        Cell::from(ellipsize(&format!("#{}", i.id), widths[2])),
        Cell::from(state),
        Cell::from(age(i.started_at, app.now)),
    ];
    for ((name, _), w) in columns.iter().zip(&widths[1..]).skip(4) {
        let text = match name.as_str() {
            "TITLE" => title.clone(),
            "RESOURCES" => i.resources.join(", "),
            _ => i.responders.join(", "),
        };
        cells.push(Cell::from(ellipsize(&text, *w)));
    }
    cells
}
