//! Recurring incidents (seed 10.1–10.4) and the rules learned from them
//! (10.5, 10.6), with the friction they cause.

use super::{Component, ScreenData, Scroll, Step};
use crate::api::{IncidentDetail, MatchLevel, Pattern, PatternList, RuleList, Signature, Weight};
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::{StyleKey as K, Theme};
use crate::console::view;
use crate::console::view::learning::{muted, rule_line};
use crate::console::view::{age, heading, not_known, plural, titled};
use crate::learning::outcomes::describe;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

#[derive(Debug, Clone, Default)]
pub struct PatternsView {
    pub patterns: Option<PatternList>,
    pub rules: Option<RuleList>,
    pub scroll: Scroll,
}

impl Component for PatternsView {
    fn screen(&self) -> Screen {
        Screen::Patterns
    }

    fn mode(&self) -> Mode {
        Mode::Patterns
    }

    fn watch(&self) -> Watch {
        Watch::Patterns
    }

    fn on_key(&mut self, action: KeyAction, _detail: Option<&IncidentDetail>) -> Step {
        self.scroll.on_key(action)
    }

    fn receive(&mut self, data: ScreenData) -> bool {
        match data {
            ScreenData::Patterns(p) => {
                self.patterns = Some(*p);
                true
            }
            ScreenData::Rules(r) => {
                self.rules = Some(*r);
                true
            }
            _ => false,
        }
    }

    fn draw(&self, app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
        patterns(app, self, theme, frame, area)
    }
}

fn patterns(app: &App, view: &PatternsView, theme: &Theme, frame: &mut Frame, area: Rect) {
    let block = titled(theme, " Patterns — repeat incidents and the rules learned from them ".to_owned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(list) = &view.patterns else { return not_known(app, theme, frame, inner, "patterns") };
    let mut lines = Vec::new();
    match &view.rules {
        Some(r) => {
            let f = &r.friction;
            let key = if f.over_budget { K::Error } else { K::Text };
            lines.push(Line::from(Span::styled(
                format!(
                    "Rules interrupted people {} in {} days (budget {}){} · auto rules {} · idle {} days → sunset proposed",
                    plural(f.interruptions as usize, "time"),
                    f.window_days,
                    f.budget,
                    if f.over_budget { ": OVER BUDGET" } else { "" },
                    if f.auto_allowed {
                        "act by themselves"
                    } else {
                        "wait for a person (this server does not let rules act by themselves)"
                    },
                    f.idle_days
                ),
                theme.style(key),
            )));
        }
        None => lines.push(muted(theme, "Rules: not known yet")),
    }
    lines.push(Line::from(""));
    if list.patterns.is_empty() {
        lines.push(muted(theme, "No pattern yet: a pattern is stored when an incident repeats an earlier one."));
    }
    for p in &list.patterns {
        pattern_lines(app, theme, p, &mut lines);
        lines.push(Line::from(""));
    }
    if let Some(r) = &view.rules {
        lines.push(heading(theme, "Rules (newest first)"));
        if r.rules.is_empty() {
            lines.push(muted(
                theme,
                "  none proposed yet: the third occurrence of a pattern proposes one, W on an incident too",
            ));
        }
        for rule in &r.rules {
            lines.push(rule_line(app, theme, rule, "  "));
            lines.push(muted(theme, format!("      when {} · {}", match_text(&rule.matches), rule.source)));
        }
    }
    view::pane::scrolled(&view.scroll, theme, frame, inner, Rect { height: 1, ..area }, lines);
}

fn pattern_lines(app: &App, theme: &Theme, p: &Pattern, lines: &mut Vec<Line<'static>>) {
    lines.push(Line::from(vec![
        Span::styled(format!("{} ", p.name), theme.style(K::Title)),
        Span::raw(format!(
            "{} · first {} · last {} ago",
            plural(p.frequency as usize, "incident"),
            p.first_seen.format("%m-%d"),
            age(p.last_seen, app.now)
        )),
    ]));
    lines.push(Line::from(format!("  {}", signature_text(&p.signature))));
    let weights: Vec<String> = p
        .features
        .iter()
        .map(|f| {
            let w = match f.weight {
                Weight::High => "H",
                Weight::Medium => "M",
                Weight::Low => "L",
            };
            format!("{}({w})", f.name.trim_end_matches("_pattern").replace('_', " "))
        })
        .collect();
    lines.push(muted(theme, format!("  weights: {}", weights.join(" "))));
    for i in &p.incidents {
        let key = match i.level {
            MatchLevel::Exact => K::Text,
            MatchLevel::Similar => K::Text,
            MatchLevel::Possible => K::Muted,
        };
        lines.push(Line::from(Span::styled(
            format!(
                "  #{:<5} {:<8} {:>3}%  {:<12} {}{}",
                i.incident_id,
                i.level.as_str(),
                i.score,
                i.status.as_str(),
                i.title,
                if i.undetermined && i.status == crate::api::IncidentStatus::Resolved {
                    " · cause UNDETERMINED"
                } else {
                    ""
                }
            ),
            theme.style(key),
        )));
    }
    for s in &p.suggestions {
        lines.push(Line::from(Span::styled(format!("  ! {}", describe(s)), theme.style(K::Warning))));
    }
    if let Some(rule) = &p.rule {
        lines.push(rule_line(app, theme, rule, "  rule "));
    }
    if let Some(id) = p.escalated_incident {
        lines.push(Line::from(Span::styled(
            format!("  escalated: cause left undetermined repeatedly; investigation is incident #{id}"),
            theme.style(K::Warning),
        )));
    }
}

/// `deploy on payments-* after hours`.
fn match_text(m: &crate::api::RuleMatch) -> String {
    let mut text = m.action_type.clone().unwrap_or_else(|| "any action".to_owned());
    if let Some(r) = &m.resource {
        text.push_str(&format!(" on {r}"));
    }
    match m.business_hours {
        Some(true) => text.push_str(" in business hours"),
        Some(false) => text.push_str(" after hours"),
        None => {}
    }
    text
}

/// `deploy · payments-* · TIMEOUT · deployer · after hours · config_change > deploy`.
fn signature_text(s: &Signature) -> String {
    [&s.action_type, &s.resource_pattern, &s.failure_mode, &s.actor_pattern, &s.time_pattern, &s.sequence_pattern]
        .iter()
        .map(|v| match v.as_deref() {
            Some("after_hours") => "after hours".to_owned(),
            Some("business_hours") => "business hours".to_owned(),
            Some(t) => t.to_owned(),
            None => "—".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" · ")
}
