//! The attribution rollout (`:attribution`): the phase and what comes next,
//! the trends, every origin system worst first with the selected one, a
//! status filter, and the selected service's owner and latest refusal.
//!
//! `:attribution`: the rollout at a glance. The phase and what the next
//! milestone would fail, the breach, seed 000 §6's metrics with a sparkline
//! a day, then every origin system worst first; Enter opens the selected
//! one's owner and latest refusal.

use super::{Component, IncidentView, ScreenData, Selection, Step, View};
use crate::api::{ComplianceStatus, IncidentDetail, RolloutStatus, ServiceCompliance, Trend, TrendMetric};
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::{StyleKey as K, Theme};
use crate::console::view::{ellipsize, not_known, titled};
use crate::rollout::{days_until, in_days, value_text};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Wrap};

#[derive(Debug, Clone, Default)]
pub struct AttributionView {
    /// None until the first answer: "no services" and "not known" differ.
    pub rollout: Option<RolloutStatus>,
    /// The selected service, by name: it stays selected as the list moves.
    pub selected: Selection<String>,
    /// Only services in this status; None: all.
    pub filter: Option<ComplianceStatus>,
    /// The selected service's owner and latest refusal are open.
    pub detail: bool,
}

impl AttributionView {
    /// The services the filter keeps, worst first (as the server sorts them).
    pub fn visible(&self) -> Vec<&ServiceCompliance> {
        let all = self.rollout.as_ref().map(|r| r.services.as_slice()).unwrap_or_default();
        all.iter().filter(|s| self.filter.is_none_or(|f| s.status == f)).collect()
    }

    pub fn selected_service(&self) -> Option<&ServiceCompliance> {
        let visible = self.visible();
        self.selected.row(visible.iter().map(|s| &s.name)).map(|n| visible[n])
    }

    fn settle(&mut self) {
        let names: Vec<String> = self.visible().iter().map(|s| s.name.clone()).collect();
        self.selected.settle(&names);
    }

    /// A fresh answer; whether anything shown changed (the server's clock
    /// alone moving is not a change worth a redraw).
    fn keep(&mut self, rollout: RolloutStatus) -> bool {
        let changed = match &self.rollout {
            Some(old) => *old != RolloutStatus { now: old.now, ..rollout.clone() },
            None => true,
        };
        if changed {
            self.rollout = Some(rollout);
            self.settle();
        }
        changed
    }

    fn handle_key(&mut self, action: KeyAction) -> Step {
        match action {
            KeyAction::Open => {
                self.detail = !self.detail && self.selected_service().is_some();
                return Step::Stay;
            }
            KeyAction::Back if self.detail => {
                self.detail = false;
                return Step::Stay;
            }
            KeyAction::NextFilter => {
                self.filter = match self.filter {
                    None => Some(ComplianceStatus::Violating),
                    Some(ComplianceStatus::Violating) => Some(ComplianceStatus::UsingOverride),
                    Some(ComplianceStatus::UsingOverride) => Some(ComplianceStatus::Silent),
                    Some(ComplianceStatus::Silent) => Some(ComplianceStatus::Compliant),
                    Some(ComplianceStatus::Compliant) => None,
                };
                self.settle();
                return Step::Stay;
            }
            KeyAction::Breach => {
                return match self.rollout.as_ref().and_then(|r| r.breach.as_ref()) {
                    Some(b) => Step::Push(View::Incident(IncidentView::new(b.incident_id))),
                    None => Step::Stay,
                };
            }
            _ => {}
        }
        let names: Vec<String> = self.visible().iter().map(|s| s.name.clone()).collect();
        self.selected.on_key(action, &names)
    }
}

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

impl Component for AttributionView {
    fn screen(&self) -> Screen {
        Screen::Attribution
    }

    fn mode(&self) -> Mode {
        Mode::Attribution
    }

    fn watch(&self) -> Watch {
        Watch::Attribution
    }

    fn on_key(&mut self, action: KeyAction, _detail: Option<&IncidentDetail>) -> Step {
        self.handle_key(action)
    }

    fn receive(&mut self, data: ScreenData) -> bool {
        match data {
            ScreenData::Attribution(rollout) => self.keep(*rollout),
            _ => false,
        }
    }

    fn draw(&self, app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
        attribution(app, self, theme, frame, area)
    }
}

/// One character a day, scaled to the largest day; a day nothing measured
/// is a dot, never an empty bar that would read as zero.
fn sparkline(daily: &[Option<f64>]) -> String {
    let max = daily.iter().flatten().copied().fold(0.0_f64, f64::max);
    daily
        .iter()
        .map(|d| match d {
            None => '·',
            Some(v) if max <= 0.0 => {
                if *v == 0.0 {
                    BARS[0]
                } else {
                    BARS[7]
                }
            }
            Some(v) => BARS[((v / max) * 7.0).round().clamp(0.0, 7.0) as usize],
        })
        .collect()
}

fn status_style(theme: &Theme, s: ComplianceStatus) -> Style {
    theme.style(match s {
        ComplianceStatus::Violating => K::Error,
        ComplianceStatus::UsingOverride => K::Warning,
        ComplianceStatus::Silent => K::Muted,
        ComplianceStatus::Compliant => K::Success,
    })
}

fn status_word(s: ComplianceStatus) -> &'static str {
    match s {
        ComplianceStatus::Violating => "VIOLATING",
        ComplianceStatus::UsingOverride => "OVERRIDE",
        ComplianceStatus::Silent => "silent",
        ComplianceStatus::Compliant => "compliant",
    }
}

/// "Soft fail since 11-23 · next: Override flag disabled 11-27, in 4 days",
/// then who would fail it if it began now.
fn phase_lines(theme: &Theme, r: &RolloutStatus, width: usize) -> Vec<Line<'static>> {
    let since = r.milestones.iter().rev().find(|m| m.passed).map(|m| format!(" since {}", m.at.format("%m-%d")));
    let mut first =
        vec![Span::styled(format!("{}{}", r.phase.title(), since.unwrap_or_default()), theme.style(K::Header))];
    if !r.planned {
        first.push(Span::styled(" · no rollout planned: the API refuses every violation", theme.style(K::Muted)));
        return vec![Line::from(first)];
    }
    let Some(next) = &r.next else {
        first.push(Span::styled(" · every milestone passed", theme.style(K::Muted)));
        return vec![Line::from(first)];
    };
    let m = &next.milestone;
    first.push(Span::raw(format!(" · next: {} {}, {}", m.name, m.at.format("%m-%d"), in_days(m))));
    let second = if next.would_fail.is_empty() {
        Line::from(Span::styled("  None would fail it if it began now", theme.style(K::Success)))
    } else {
        let unknown = match next.unknown.len() {
            0 => String::new(),
            n => format!(" · {n} silent, not known"),
        };
        let head = format!("  {} would fail it now: ", next.would_fail.len());
        // As many names as fit whole, then how many more (the table's NEXT
        // column has them all).
        let room = width.saturating_sub(head.chars().count() + unknown.chars().count());
        let mut names = String::new();
        for (n, name) in next.would_fail.iter().enumerate() {
            let more = next.would_fail.len() - n;
            let piece = if n == 0 { name.clone() } else { format!(", {name}") };
            let tail = if more > 1 { format!(" +{} more", more - 1).chars().count() } else { 0 };
            if names.chars().count() + piece.chars().count() + tail > room {
                names.push_str(&format!("{}+{more} more", if n == 0 { "" } else { " " }));
                break;
            }
            names.push_str(&piece);
        }
        Line::from(vec![
            Span::styled(head, theme.style(K::Error)),
            Span::raw(names),
            Span::styled(unknown, theme.style(K::Muted)),
        ])
    };
    vec![Line::from(first), second]
}

fn breach_line(theme: &Theme, r: &RolloutStatus) -> Line<'static> {
    match &r.breach {
        Some(b) if b.status != crate::api::IncidentStatus::Resolved => Line::from(vec![
            Span::styled(
                format!(
                    "BREACH #{} {} since {}: {} legacy run{}",
                    b.incident_id,
                    b.status.as_str().to_uppercase(),
                    b.opened_at.format("%m-%d %H:%M"),
                    b.runs,
                    if b.runs == 1 { "" } else { "s" }
                ),
                theme.style(K::Error),
            ),
            Span::styled(" — b opens it", theme.style(K::Muted)),
        ]),
        Some(b) => Line::from(Span::styled(
            format!("Last breach #{} resolved — b opens it", b.incident_id),
            theme.style(K::Muted),
        )),
        None => Line::from(Span::styled("No breach: no legacy marker in hard fail", theme.style(K::Muted))),
    }
}

fn metric_line(theme: &Theme, m: &TrendMetric, label_width: usize) -> Line<'static> {
    let (arrow, style) = match (m.trend, m.improving) {
        (Trend::Up, true) => ("▲", K::Success),
        (Trend::Up, false) => ("▲", K::Error),
        (Trend::Down, true) => ("▼", K::Success),
        (Trend::Down, false) => ("▼", K::Error),
        (Trend::Stable, _) => ("=", K::Muted),
    };
    let label = match m.key.as_str() {
        "validation_success_rate" => "Success rate (7d)",
        "violations" => "Violations (7d)",
        "override_use" => "Override use (7d)",
        "legacy_bucket_growth" => "Legacy bucket growth",
        "legacy_attempts" => "Legacy attempts (7d)",
        _ => m.label.as_str(),
    };
    let value = value_text(m, m.value);
    let value_style = if m.key == "legacy_bucket_growth" && m.value.unwrap_or(0.0) > 0.0 {
        theme.style(K::Error)
    } else {
        theme.style(K::Text)
    };
    Line::from(vec![
        Span::raw(format!("{label:<label_width$} ")),
        Span::styled(format!("{value:>6} "), value_style),
        match m.previous {
            Some(_) => Span::styled(format!("{arrow} from {:<7}", value_text(m, m.previous)), theme.style(style)),
            None => Span::styled(format!("{:<14}", "(new)"), theme.style(K::Muted)),
        },
        Span::styled(sparkline(&m.daily), theme.style(K::Accent)),
    ])
}

fn attribution(app: &App, view: &AttributionView, theme: &Theme, frame: &mut Frame, area: Rect) {
    let filter = view.filter.map(|f| format!(" · showing {}", f.title().to_lowercase())).unwrap_or_default();
    let block = titled(theme, format!(" Attribution rollout{filter} "));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(r) = &view.rollout else { return not_known(app, theme, frame, inner, "the attribution rollout") };
    let narrow = inner.width < 100;
    let mut top = phase_lines(theme, r, inner.width as usize);
    top.push(breach_line(theme, r));
    // A short terminal with the detail open gives the metrics' lines to it.
    let metrics = if view.detail && inner.height < 30 { &[][..] } else { &r.metrics[..] };
    for m in metrics.iter().filter(|m| !m.key.starts_with("legacy_")) {
        top.push(metric_line(theme, m, 21));
    }
    let legacy: Vec<&TrendMetric> = metrics.iter().filter(|m| m.key.starts_with("legacy_")).collect();
    if let [bucket, attempts] = legacy.as_slice() {
        let bucket_value = bucket.value.unwrap_or(0.0);
        top.push(Line::from(vec![
            Span::raw(format!("{:<21} ", "Legacy bucket growth")),
            Span::styled(
                format!("{bucket_value:>6.0} "),
                if bucket_value > 0.0 { theme.style(K::Error) } else { theme.style(K::Success) },
            ),
            Span::styled(
                format!(
                    "(must be 0) · {} legacy attempt{} refused (7d)",
                    value_text(attempts, attempts.value),
                    if attempts.value == Some(1.0) { "" } else { "s" }
                ),
                theme.style(K::Muted),
            ),
        ]));
    }
    let visible = view.visible();
    let detail_height = match (view.detail, narrow) {
        (false, _) => 0,
        (true, true) => 11,
        (true, false) => 8,
    };
    // The detail sits right under the table's last row, not at the foot
    // of a tall terminal.
    let head_height = top.len() as u16 + 1;
    let room = inner.height.saturating_sub(head_height + detail_height);
    let table_height = (visible.len().max(1) as u16 + 1).min(room);
    let [head, table_area, detail_area, _] = Layout::vertical([
        Constraint::Length(head_height),
        Constraint::Length(table_height),
        Constraint::Length(detail_height),
        Constraint::Fill(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(top), head);
    if visible.is_empty() {
        let text = match (view.filter, r.services_total) {
            (_, 0) => "No origin system has created or attempted a run yet.".to_owned(),
            (Some(f), n) => {
                format!("None of the {n} services is {} — f shows the next status.", f.title().to_lowercase())
            }
            (None, _) => "No services.".to_owned(),
        };
        frame.render_widget(Paragraph::new(Span::styled(text, theme.style(K::Muted))), table_area);
    } else {
        services_table(view, &visible, r, theme, frame, table_area, narrow);
    }
    if view.detail
        && let Some(s) = view.selected_service()
    {
        frame.render_widget(Paragraph::new(detail_lines(theme, s, r)).wrap(Wrap { trim: false }), detail_area);
    }
}

fn services_table(
    view: &AttributionView,
    visible: &[&ServiceCompliance],
    r: &RolloutStatus,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    narrow: bool,
) {
    let shown = if visible.len() == r.services_total {
        format!("{}", r.services_total)
    } else {
        format!("{} of {}", visible.len(), r.services_total)
    };
    let mut columns = vec![
        (format!("SERVICE ({shown})"), Constraint::Fill(2)),
        ("STATUS".to_owned(), Constraint::Length(9)),
        ("SINCE".to_owned(), Constraint::Length(5)),
        ("RUNS 24H".to_owned(), Constraint::Length(8)),
        ("VIOL 24H".to_owned(), Constraint::Length(8)),
        ("VIOL 7D".to_owned(), Constraint::Length(7)),
        ("NEXT".to_owned(), Constraint::Length(4)),
    ];
    if !narrow {
        columns.extend([
            ("OVR 7D".to_owned(), Constraint::Length(6)),
            ("LEG 7D".to_owned(), Constraint::Length(6)),
            ("OWNER".to_owned(), Constraint::Fill(1)),
        ]);
    }
    let selected = view.selected.row(visible.iter().map(|s| &s.name)).unwrap_or(0);
    let count = |n: i64| if n == 0 { "·".to_owned() } else { n.to_string() };
    crate::console::view::list_table(
        theme,
        frame,
        area,
        &columns,
        (visible.len(), selected),
        |n, is_selected, cols| {
            let s = visible[n];
            let since = s.since.map(|d| d.format("%m-%d").to_string()).unwrap_or_else(|| "<35d".to_owned());
            let next = match (s.fails_next_phase, is_selected) {
                (true, false) => Span::styled("FAIL", theme.style(K::Error)),
                (true, true) => Span::raw("FAIL"),
                (false, _) => Span::raw(""),
            };
            let mut cells = vec![
                Cell::from(ellipsize(&s.name, cols[1])),
                // On the selection's background the status keeps its word, not its colour.
                Cell::from(if is_selected {
                    Span::raw(status_word(s.status))
                } else {
                    Span::styled(status_word(s.status), status_style(theme, s.status))
                }),
                Cell::from(since),
                Cell::from(count(s.runs_24h)),
                Cell::from(count(s.violations_24h)),
                Cell::from(count(s.violations_7d)),
                Cell::from(next),
            ];
            if !narrow {
                let owner = s.owners.iter().map(|o| o.who.as_str()).collect::<Vec<_>>().join(", ");
                let owner = match &s.team {
                    Some(team) => format!("{owner} ({team})"),
                    None => owner,
                };
                cells.extend([
                    Cell::from(count(s.override_use_7d)),
                    Cell::from(count(s.legacy_use_7d)),
                    Cell::from(ellipsize(&owner, cols[10])),
                ]);
            }
            cells
        },
    );
}

fn detail_lines(theme: &Theme, s: &ServiceCompliance, r: &RolloutStatus) -> Vec<Line<'static>> {
    let since = match s.since {
        Some(d) => format!("since {}", d.format("%m-%d %H:%M")),
        None => "for 35 days or more".to_owned(),
    };
    let was = s.previous_status.map(|w| format!(", was {}", w.title().to_lowercase())).unwrap_or_default();
    let state = match s.status {
        ComplianceStatus::Violating => "violating",
        ComplianceStatus::UsingOverride => "using the override",
        ComplianceStatus::Silent => "silent",
        ComplianceStatus::Compliant => "compliant",
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(s.name.clone(), theme.style(K::Header)),
            Span::styled(format!(" — {state} {since}{was}"), status_style(theme, s.status)),
        ]),
        Line::from(Span::styled(
            format!(
                "First seen {} · last seen {} · runs 24h {} · 7d {}",
                s.first_seen.format("%m-%d %H:%M"),
                s.last_seen.format("%m-%d %H:%M"),
                s.runs_24h,
                s.runs_7d
            ),
            theme.style(K::Muted),
        )),
    ];
    let owners = if s.owners.is_empty() {
        "nobody to reach: no origin system named".to_owned()
    } else {
        s.owners.iter().map(|o| format!("{} ({})", o.who, o.why)).collect::<Vec<_>>().join("; ")
    };
    lines.push(Line::from(format!("Owner: {owners}")));
    let codes = if s.violations_by_code.is_empty() {
        "no refusal in 7 days".to_owned()
    } else {
        s.violations_by_code.iter().map(|c| format!("{} {}", c.key, c.count)).collect::<Vec<_>>().join(", ")
    };
    lines.push(Line::from(format!(
        "Refused (7d): {codes} · override {} · legacy {}",
        s.override_use_7d, s.legacy_use_7d
    )));
    match &s.latest_violation {
        Some(v) => {
            let fields = v.fields.iter().map(|(k, val)| format!("{k}={val}")).collect::<Vec<_>>().join(" ");
            lines.push(Line::from(format!(
                "Latest refused {} {} ({}): {fields}",
                v.subject,
                v.at.format("%m-%d %H:%M"),
                v.codes.join(",")
            )));
        }
        None => lines.push(Line::from(Span::styled("No refused request in 35 days", theme.style(K::Muted)))),
    }
    lines.push(match &s.last_outreach {
        Some(o) => {
            let ago = match -days_until(r.now, o.at) {
                0 => "today".to_owned(),
                1 => "1 day ago".to_owned(),
                n => format!("{n} days ago"),
            };
            Line::from(format!("Reached out {} by {} to {} ({ago})", o.at.format("%m-%d %H:%M"), o.by, o.to.join(", ")))
        }
        None if s.status.is_compliant() || s.status == ComplianceStatus::Silent => {
            Line::from(Span::styled("Nothing to reach out about", theme.style(K::Muted)))
        }
        None => {
            Line::from(Span::styled("Owner not yet contacted — o sends the outreach message", theme.style(K::Warning)))
        }
    });
    lines
}

#[cfg(test)]
mod tests {
    use super::sparkline;

    #[test]
    fn a_sparkline_scales_to_its_largest_day_and_marks_unknown_days() {
        assert_eq!(sparkline(&[Some(0.0), Some(4.0), Some(8.0), None]), "▁▅█·");
        assert_eq!(sparkline(&[Some(0.0), Some(0.0)]), "▁▁");
    }
}
