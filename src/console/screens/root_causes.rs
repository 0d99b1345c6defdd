//! The ranked root causes of an incident: the selected candidate, and the
//! scroll of the chain, pattern and suggestions beside them.

use super::{BlastRadiusView, Component, Scroll, Selection, Step, View};
use crate::api::{Candidate, DisputeState, IncidentDetail, MatchLevel};
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::{StyleKey as K, Theme};
use crate::console::view;
use crate::console::view::{age, band, evidence_text, heading, titled, verdict_word};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

#[derive(Debug, Clone)]
pub struct RootCausesView {
    pub id: i64,
    /// The selected candidate, by event id.
    pub selected: Selection<String>,
    pub scroll: Scroll,
    /// Narrow (one pane): whether the pane follows the selection (after
    /// j/k) or the operator's page keys (after PgDn, ^f, End).
    pub follow: bool,
}

impl RootCausesView {
    pub fn new(id: i64) -> RootCausesView {
        RootCausesView { id, selected: Selection::default(), scroll: Scroll::default(), follow: true }
    }

    /// The selected candidate among `detail`'s.
    pub fn candidate<'a>(&self, detail: &'a IncidentDetail) -> Option<&'a Candidate> {
        let candidates = &detail.analysis.candidates;
        self.selected.row(candidates.iter().map(|c| &c.event_id)).map(|n| &candidates[n])
    }

    fn handle_key(&mut self, action: KeyAction, detail: Option<&IncidentDetail>) -> Step {
        match action {
            KeyAction::Up | KeyAction::Down | KeyAction::Top | KeyAction::Bottom => {
                let Some(detail) = detail else { return Step::Stay };
                let ids: Vec<String> = detail.analysis.candidates.iter().map(|c| c.event_id.clone()).collect();
                self.selected.on_key(action, &ids);
                // G and End go to the end of everything: the last candidate,
                // and in one pane the last suggestion below it.
                self.follow = action != KeyAction::Bottom;
                self.scroll.top = if self.follow { 0 } else { u16::MAX };
                Step::Stay
            }
            KeyAction::PageUp | KeyAction::PageDown => {
                // From where the pane is, not where it was last paged to.
                if self.follow {
                    self.scroll.top = self.scroll.drawn.get();
                }
                self.follow = false;
                self.scroll.on_key(action)
            }
            KeyAction::BlastRadius => Step::Swap(View::BlastRadius(BlastRadiusView::new(self.id))),
            _ => Step::Unhandled,
        }
    }
}

impl Component for RootCausesView {
    fn screen(&self) -> Screen {
        Screen::RootCauses { id: self.id }
    }

    fn mode(&self) -> Mode {
        Mode::RootCauses
    }

    fn watch(&self) -> Watch {
        Watch::Incident(self.id)
    }

    fn incident(&self) -> Option<i64> {
        Some(self.id)
    }

    fn on_key(&mut self, action: KeyAction, detail: Option<&IncidentDetail>) -> Step {
        self.handle_key(action, detail)
    }

    fn draw(&self, app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
        root_causes(app, self, theme, frame, area)
    }
}

fn root_causes(app: &App, view: &RootCausesView, theme: &Theme, frame: &mut Frame, area: Rect) {
    let id = view.id;
    let Some(d) = app.focused_detail() else {
        let block = titled(theme, format!(" #{id} Root causes "));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        return view::loading(app, theme, frame, inner);
    };
    let a = &d.analysis;
    let block = titled(
        theme,
        format!(
            " #{id} Root causes — {} of {} considered ",
            view::plural(a.candidates.len(), "candidate"),
            view::plural(a.considered, "action")
        ),
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let (candidates, selected_line) = candidate_lines(app, theme, d);
    let rest = chain_lines(app, theme, d);
    if inner.width >= 120 {
        let [left, right] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(inner);
        let (top, total) = show(frame, left, candidates, selected_line, None);
        view::pane::position(
            theme,
            frame,
            Rect { height: 1, width: left.width, ..area },
            top,
            left.height as usize,
            total,
        );
        view::pane::scrolled(&view.scroll, theme, frame, right, Rect { height: 1, ..area }, rest);
    } else {
        // One pane: the candidates, then the chain and the suggestions,
        // reached by the page keys, its position on the title row.
        let mut all = candidates;
        all.push(Line::from(""));
        all.extend(rest);
        let scroll = if view.follow { None } else { Some(&view.scroll) };
        let (top, total) = show(frame, inner, all, selected_line, scroll);
        view.scroll.drawn.set(top.min(u16::MAX as usize) as u16);
        view::pane::position(theme, frame, Rect { height: 1, ..area }, top, inner.height as usize, total);
    }
}

/// Draws lines wrapped to `area`, from `scroll` when given, else so that
/// line `keep` is in sight. Where it drew from, and how many lines there are.
fn show(
    frame: &mut Frame,
    area: Rect,
    lines: Vec<Line<'static>>,
    keep: usize,
    scroll: Option<&Scroll>,
) -> (usize, usize) {
    // Wrapped to the pane, with the kept line's new position.
    let mut wrapped = Vec::with_capacity(lines.len());
    let mut kept = 0;
    for (n, line) in lines.into_iter().enumerate() {
        if n == keep {
            kept = wrapped.len();
        }
        wrapped.extend(view::pane::wrap(vec![line], area.width));
    }
    let (lines, keep) = (wrapped, kept);
    let height = area.height.max(1) as usize;
    let limit = lines.len().saturating_sub(height);
    let top = match scroll {
        Some(scroll) => view::pane::clamp(scroll, limit),
        None => keep.saturating_sub(height.saturating_sub(3)).min(limit),
    };
    let total = lines.len();
    frame.render_widget(Paragraph::new(lines).scroll((top.min(u16::MAX as usize) as u16, 0)), area);
    (top, total)
}

/// The ranked candidates with their evidence; and the line of the selected one.
fn candidate_lines(app: &App, theme: &Theme, d: &IncidentDetail) -> (Vec<Line<'static>>, usize) {
    let a = &d.analysis;
    let mut lines = Vec::new();
    // Seed 11.3: the operator is told when they lean on the scores.
    for prompt in app.reliance.iter().flat_map(|r| &r.prompts) {
        lines.push(Line::from(Span::styled(format!("⚠ {prompt}"), theme.style(K::Warning))));
    }
    if a.undetermined {
        lines.push(Line::from(Span::styled(
            "UNDETERMINED: no candidate reaches 40 % — the cause is not known",
            theme.style(K::Warning),
        )));
    }
    if a.candidates.is_empty() {
        lines.push(Line::from(Span::styled("no action before the first error to consider", theme.style(K::Muted))));
    }
    let selected = app.selected_candidate().map(|c| c.event_id.clone());
    let mut selected_line = 0;
    for c in &a.candidates {
        let is_selected = selected.as_ref() == Some(&c.event_id);
        if is_selected {
            selected_line = lines.len();
        }
        let who = match (&c.agent_id, &c.actor_type, &c.actor_id) {
            (Some(agent), Some(t), Some(actor)) => format!("{agent} ({t} {actor})"),
            (Some(agent), Some(t), None) => format!("{agent} ({t})"),
            (Some(agent), None, _) => agent.clone(),
            (None, ..) => "unknown actor".to_owned(),
        };
        let mut spans = vec![
            Span::styled(if is_selected { "▶ " } else { "  " }, theme.style(K::Text)),
            Span::styled(format!("[{} {:>3}%]", c.band.as_str().to_uppercase(), c.confidence), band(theme, c.band)),
        ];
        // A dispute and the verdict come first, so no width cuts them off.
        if let Some(d) = &c.dispute {
            let (word, kind) = match d.state {
                DisputeState::Disputed => ("DISPUTED", K::Warning),
                DisputeState::Upheld => ("attribution upheld", K::Muted),
                DisputeState::Overturned => ("ATTRIBUTION OVERTURNED", K::Warning),
            };
            spans.push(Span::styled(format!(" {word}"), theme.style(kind)));
        }
        if let Some(v) = c.verdict {
            let by = c.verdict_by.as_deref().unwrap_or("?");
            let disputed = if c.verdict_while_disputed { " (while disputed)" } else { "" };
            spans.push(Span::styled(format!(" {} by {by}{disputed}", verdict_word(v)), theme.style(K::Accent)));
        }
        spans.push(Span::raw(format!(
            " {} on {} by {who}, {} ago",
            c.action_type.as_deref().unwrap_or("action"),
            c.resource.as_deref().unwrap_or("?"),
            age(c.occurred_at, app.now)
        )));
        // Selected: one style for the whole line, so no span's colour
        // vanishes into the selection's background.
        let line = if is_selected {
            let selection = theme.style(K::Selection);
            Line::from(spans.into_iter().map(|s| Span::styled(s.content, selection)).collect::<Vec<_>>())
                .style(selection)
        } else {
            Line::from(spans)
        };
        lines.push(line);
        let tool = c.tool.as_deref().map(|t| format!(" · tool {t}")).unwrap_or_default();
        let disputed = c
            .dispute
            .as_ref()
            .map(|d| format!(" · {} by {} (#{})", d.claim.as_str().replace('_', " "), d.opened_by, d.id))
            .unwrap_or_default();
        lines.push(Line::from(Span::styled(format!("      {}{tool}{disputed}", c.event_id), theme.style(K::Muted))));
        for e in &c.evidence {
            lines.push(Line::from(Span::styled(format!("      · {}", evidence_text(e)), theme.style(K::Muted))));
        }
    }
    (lines, selected_line)
}

/// A chain role in words. The analysis finds a *direct* cause; only a
/// person confirms one (seed 11.1), so the machine never says CONFIRMED.
fn role_word(role: crate::api::ContributionRole) -> &'static str {
    use crate::api::ContributionRole as R;
    match role {
        R::Confirmed => "DIRECT",
        R::Likely => "LIKELY",
        R::Suspected => "SUSPECTED",
        R::Context => "CONTEXT",
    }
}

/// The multi-actor chain, concurrent modifications, the pattern and the
/// suggested actions.
fn chain_lines(app: &App, theme: &Theme, d: &IncidentDetail) -> Vec<Line<'static>> {
    let a = &d.analysis;
    let mut lines = Vec::new();
    if !a.contributing.is_empty() {
        lines.push(heading(theme, "Contributing actions"));
        for c in &a.contributing {
            let who = c.actor_id.as_deref().or(c.agent_id.as_deref()).unwrap_or("unknown actor");
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<9} ", role_word(c.role)), theme.style(K::Accent)),
                Span::raw(format!(
                    "{} {} by {who}: {}",
                    c.occurred_at.format("%H:%M:%S"),
                    c.action_type.as_deref().unwrap_or("action"),
                    c.note
                )),
            ]));
        }
        lines.push(Line::from(""));
    }
    for (x, y) in &a.concurrent_modifications {
        lines.push(Line::from(Span::styled(
            format!("⚠ CONCURRENT MODIFICATION: {x} and {y} changed the same resource within 5 s"),
            theme.style(K::Warning),
        )));
    }
    if let Some(shared) = &d.shared_cause {
        let others: Vec<String> = shared.incidents.iter().map(|i| format!("#{i}")).collect();
        lines.push(Line::from(Span::styled(
            format!(
                "⚠ SHARED CAUSE: {} is also the first cause of {} — these incidents may share one root cause",
                shared.event_id,
                others.join(", ")
            ),
            theme.style(K::Warning),
        )));
        lines.push(Line::from(""));
    }
    if let Some(p) = &d.pattern {
        let name = p.pattern_id.map(crate::incident::patterns::pattern_name);
        lines.push(heading(theme, &format!("Pattern{}", name.map(|n| format!(" {n}")).unwrap_or_default())));
        let level = match p.level {
            MatchLevel::Exact => "EXACT match".to_owned(),
            MatchLevel::Similar => format!("SIMILAR ({}% of the weighted features)", p.score),
            MatchLevel::Possible => format!("POSSIBLE ({}% of the weighted features)", p.score),
        };
        lines.push(Line::from(format!("  {level}, occurrence {}", p.occurrence)));
        for s in &p.suggestions {
            lines.push(Line::from(Span::styled(
                format!("  ! {}", crate::learning::outcomes::describe(s)),
                theme.style(K::Warning),
            )));
        }
        for prev in &p.previous {
            lines.push(Line::from(Span::styled(
                format!(
                    "  previously #{} on {} ({})",
                    prev.incident_id,
                    prev.started_at.format("%Y-%m-%d %H:%M"),
                    prev.level
                ),
                theme.style(K::Muted),
            )));
        }
        match (&p.rule, &p.suggested_rule) {
            (Some(rule), _) => lines.push(view::learning::rule_line(app, theme, rule, "  rule ")),
            (None, Some(rule)) => {
                lines.push(Line::from(Span::styled("  rule to consider (W):", theme.style(K::Accent))));
                for row in rule.lines() {
                    lines.push(Line::from(Span::styled(format!("    {row}"), theme.style(K::Accent))));
                }
            }
            (None, None) => {}
        }
        lines.push(Line::from(""));
    }
    lines.push(heading(theme, "Suggested actions"));
    if d.suggestions.is_empty() {
        lines.push(Line::from(Span::styled("  none yet", theme.style(K::Muted))));
    }
    for s in &d.suggestions {
        let alt = s.alternative.as_deref().map(|a| format!("Option {a} (alternative): ")).unwrap_or_default();
        let key = s.intervention.map(|i| format!(" [{i}]")).unwrap_or_default();
        lines.push(Line::from(vec![
            Span::styled(format!("  {}: ", s.kind.as_str().to_uppercase()), theme.style(K::Accent)),
            Span::raw(format!("{alt}{}{key}", s.title)),
        ]));
        lines.push(Line::from(Span::styled(
            format!("    risk {}, confidence {}% — {}", s.risk, s.confidence, s.reason),
            theme.style(K::Muted),
        )));
        if let Some(cmd) = &s.command {
            lines.push(Line::from(Span::styled(format!("    $ {cmd}"), theme.style(K::Text))));
        }
        for w in &s.warnings {
            lines.push(Line::from(Span::styled(format!("    ! {w}"), theme.style(K::Warning))));
        }
    }
    lines
}
