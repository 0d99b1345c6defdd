//! The routing in force and how often each rule matched (`:routing`).
//!
//! `:routing`: the escalation chain, the rules in the order they are tried
//! with what they match and do, and how often each matched (seed 004 5.2).

use super::{Component, ScreenData, Scroll, Step};
use crate::api::{IncidentDetail, RoutingUsage};
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::{StyleKey as K, Theme};
use crate::console::view;
use crate::console::view::{heading, not_known, plural, titled};
use crate::routing::{Match, RoutingDocument, Rule};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

#[derive(Debug, Clone, Default)]
pub struct RoutingView {
    pub document: Option<Box<RoutingDocument>>,
    pub usage: Option<RoutingUsage>,
    pub scroll: Scroll,
}

impl Component for RoutingView {
    fn screen(&self) -> Screen {
        Screen::Routing
    }

    fn mode(&self) -> Mode {
        Mode::Routing
    }

    fn watch(&self) -> Watch {
        Watch::Routing
    }

    fn on_key(&mut self, action: KeyAction, _detail: Option<&IncidentDetail>) -> Step {
        self.scroll.on_key(action)
    }

    fn receive(&mut self, data: ScreenData) -> bool {
        match data {
            ScreenData::Routing(document) => {
                self.document = Some(document);
                true
            }
            ScreenData::RoutingUsage(usage) => {
                self.usage = Some(*usage);
                true
            }
            _ => false,
        }
    }

    fn draw(&self, app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
        routing(app, self, theme, frame, area)
    }
}

fn routing(app: &App, view: &RoutingView, theme: &Theme, frame: &mut Frame, area: Rect) {
    let block = titled(theme, " Routing — who is paged, and by which rule ".to_owned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(doc) = &view.document else { return not_known(app, theme, frame, inner, "the routing") };
    let mut channels = vec![Span::raw("Channels: ")];
    for c in crate::paging::CHANNELS {
        let (text, style) = if doc.receivers.has(c) {
            (format!("{c} ✓  "), K::Success)
        } else {
            (format!("{c} ✗ no receiver  "), K::Warning)
        };
        channels.push(Span::styled(text, theme.style(style)));
    }
    let mut lines = vec![
        Line::from(channels),
        Line::from(Span::styled(
            "  what goes to a channel without a receiver is marked dead (see :notifications)",
            theme.style(K::Muted),
        )),
        Line::from(""),
        heading(theme, "Escalation chain"),
    ];
    for level in &doc.levels {
        let after = level.timeout.as_deref().map(|t| format!("next after {t}")).unwrap_or_else(|| "last".to_owned());
        lines.push(Line::from(format!("  {:<12} {} ({after})", level.name, level.targets.join(", "))));
    }
    if let Some(fallback) = &doc.fallback {
        lines.push(Line::from(Span::styled(format!("  nobody named: {fallback}"), theme.style(K::Muted))));
    }
    lines.push(Line::from(""));
    let days = view.usage.as_ref().map_or(30, |u| u.days);
    lines.push(heading(theme, &format!("Rules, tried in order (matches in the last {days} days)")));
    if doc.rules.is_empty() {
        lines.push(Line::from(Span::styled("  none: the defaults apply to everything", theme.style(K::Muted))));
    }
    for rule in &doc.rules {
        let used = view.usage.as_ref().and_then(|u| u.rules.iter().find(|r| r.rule.as_deref() == Some(&rule.name)));
        let count = match (&view.usage, used) {
            (None, _) => Span::styled("usage not known yet".to_owned(), theme.style(K::Muted)),
            (Some(_), Some(u)) if !u.never_matched => Span::raw(plural(u.incidents as usize, "incident")),
            (Some(_), _) => Span::styled("NEVER MATCHED: a candidate for removal".to_owned(), theme.style(K::Warning)),
        };
        lines.push(Line::from(vec![Span::styled(format!("  {} ", rule.name), theme.style(K::Accent)), count]));
        lines.push(Line::from(Span::styled(format!("      {}", describe(rule)), theme.style(K::Muted))));
    }
    if let Some(defaults) = view.usage.as_ref().and_then(|u| u.rules.iter().find(|r| r.rule.is_none())) {
        lines
            .push(Line::from(format!("  (no rule: the defaults) {}", plural(defaults.incidents as usize, "incident"))));
    }
    view::pane::scrolled(&view.scroll, theme, frame, inner, Rect { height: 1, ..area }, lines);
}

/// "when severity is critical: gated, start at primary, management after 15m, pagerduty+slack".
fn describe(rule: &Rule) -> String {
    let mut does = vec![];
    if let Some(d) = rule.decision {
        does.push(d.to_string());
    }
    if let Some(a) = rule.automation {
        does.push(format!("then {} by itself", a.as_str().replace('_', " ")));
    }
    if let Some(l) = &rule.start_level {
        does.push(format!("start at {l}"));
    }
    if let Some(s) = &rule.skip_to {
        does.push(format!("{} after {}", s.level, s.after));
    }
    if let Some(l) = &rule.max_level {
        does.push(format!("no further than {l}"));
    }
    if let Some(c) = &rule.channels {
        does.push(c.join("+"));
    }
    if let Some(u) = rule.urgency {
        does.push(format!("{u} urgency"));
    }
    let extends = rule.extends.as_deref().map(|e| format!(" (extends {e})")).unwrap_or_default();
    format!(
        "when {}: {}{extends}",
        conditions(&rule.matches),
        if does.is_empty() { "the chain as it is".to_owned() } else { does.join(", ") }
    )
}

fn conditions(m: &Match) -> String {
    let mut all = vec![];
    for (name, values) in [
        ("severity", &m.severity),
        ("resource", &m.resource),
        ("sensitivity", &m.sensitivity),
        ("tags", &m.tags),
        ("action", &m.action_type),
        ("actor", &m.actor_type),
    ] {
        if !values.is_empty() {
            all.push(format!("{name} {}", values.join("|")));
        }
    }
    if let Some(b) = m.business_hours {
        all.push(if b { "in business hours" } else { "out of business hours" }.to_owned());
    }
    if let Some(f) = m.change_freeze {
        all.push(if f { "in a change freeze" } else { "outside change freezes" }.to_owned());
    }
    if let Some(n) = m.min_past_incidents {
        all.push(format!("{n}+ earlier incidents"));
    }
    if all.is_empty() { "always".to_owned() } else { all.join(", ") }
}
