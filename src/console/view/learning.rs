//! `:calibration` (scores against verdicts, what became of suggestions) and
//! `:patterns` (repeat incidents and the rules learned from them).

use super::{age, plural};
use crate::api::{LearnedRule, RuleDecision, RuleState};
use crate::console::app::App;
use crate::console::theme::{StyleKey as K, Theme};
use ratatui::text::{Line, Span};

pub(in crate::console) fn muted(theme: &Theme, text: impl Into<String>) -> Line<'static> {
    Line::from(Span::styled(text.into(), theme.style(K::Muted)))
}

pub(in crate::console) fn rule_line(app: &App, theme: &Theme, rule: &LearnedRule, prefix: &str) -> Line<'static> {
    let (word, key) = match rule.state {
        RuleState::Proposed => ("PROPOSED", K::Warning),
        RuleState::Approved => ("APPROVED", K::Accent),
        RuleState::Active => ("ACTIVE", K::Success),
        RuleState::Sunset => ("SUNSET", K::Muted),
        RuleState::Rejected => ("REJECTED", K::Muted),
    };
    let decision = match rule.decision {
        RuleDecision::Flagged => "flags",
        RuleDecision::Gated => "gates",
        RuleDecision::Auto => "acts by itself",
    };
    let mut tail = match rule.state {
        RuleState::Proposed => format!(" · by {} · an admin approves it", rule.proposed_by),
        RuleState::Active => format!(
            " · {decision} · fired {}{}",
            plural(rule.fired as usize, "time"),
            rule.last_fired_at.map(|t| format!(", last {} ago", age(t, app.now))).unwrap_or_default()
        ),
        _ => rule.decided_by.as_ref().map(|b| format!(" · by {b}")).unwrap_or_default(),
    };
    if rule.sunset_proposed_at.is_some() && rule.state == RuleState::Active {
        tail.push_str(" · idle: proposed for sunset");
    }
    Line::from(vec![
        Span::raw(format!("{prefix}#{} ", rule.id)),
        Span::styled(word.to_owned(), theme.style(key)),
        Span::raw(format!(" {}{tail}", rule.name)),
    ])
}
