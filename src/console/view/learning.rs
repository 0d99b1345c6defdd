//! `:calibration` (scores against verdicts, what became of suggestions) and
//! `:patterns` (repeat incidents and the rules learned from them).

use super::{age, heading, not_known, plural, titled};
use crate::api::{
    CalibrationFlag, LearnedRule, MatchLevel, Pattern, RuleDecision, RuleState, Signature, SuggestionKindStats, Weight,
};
use crate::console::app::App;
use crate::console::screens::{CalibrationView, PatternsView};
use crate::console::theme::{StyleKey as K, Theme};
use crate::learning::outcomes::describe;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

fn percent(share: Option<f64>) -> String {
    share.map(|s| format!("{:.0}%", s * 100.0)).unwrap_or_else(|| "—".to_owned())
}

fn muted(theme: &Theme, text: impl Into<String>) -> Line<'static> {
    Line::from(Span::styled(text.into(), theme.style(K::Muted)))
}

pub fn calibration(app: &App, view: &CalibrationView, theme: &Theme, frame: &mut Frame, area: Rect) {
    let block = titled(theme, " Calibration — were our 80% right 80% of the time? (last 30 days) ".to_owned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(c) = &view.calibration else { return not_known(app, theme, frame, inner, "calibration figures") };
    let mut lines = Vec::new();
    let brier = match c.brier {
        Some(b) => format!("Brier score {b:.3} (0 is perfect, 0.25 a coin toss)"),
        None => "no Brier score yet".to_owned(),
    };
    lines.push(Line::from(format!(
        "{} judged, {} confirmed{} · {brier}",
        plural(c.judged as usize, "cause"),
        c.confirmed,
        if c.investigating > 0 {
            format!(" ({} left to investigate, not counted)", c.investigating)
        } else {
            String::new()
        }
    )));
    if c.judged == 0 {
        lines.push(muted(theme, "Nobody has confirmed or rejected a cause in this period: nothing to measure yet."));
    }
    lines.push(Line::from(""));
    lines.push(heading(theme, &format!("{:<12} {:>7}  {:>6}  {:>9}", "Per band", "range", "judged", "confirmed")));
    for b in &c.bands {
        let (mark, text, key) = match b.flag {
            CalibrationFlag::WithinRange => ("✓", "in range".to_owned(), K::Success),
            CalibrationFlag::Overconfident => ("✗", "OVERCONFIDENT".to_owned(), K::Error),
            CalibrationFlag::Underconfident => ("✗", "UNDERCONFIDENT".to_owned(), K::Warning),
            CalibrationFlag::TooFew => ("·", format!("too few (< {})", c.min_judged), K::Muted),
        };
        lines.push(Line::from(vec![
            Span::raw(format!(
                "  {:<10} {:>7}  {:>6}  {:>9}  ",
                b.band.as_str(),
                format!("{}–{}%", b.low, b.high),
                b.judged,
                percent(b.observed)
            )),
            Span::styled(format!("{mark} {text}"), theme.style(key)),
        ]));
    }
    lines.push(muted(
        theme,
        "  A band is flagged when the share of its causes humans confirmed falls outside its range.",
    ));
    lines.push(Line::from(""));
    lines.push(heading(
        theme,
        &format!("{:<12} {:>7}  {:>6}  {:>9}  {:>8}", "Reliability", "score", "judged", "predicted", "observed"),
    ));
    let judged_bins: Vec<_> = c.reliability.iter().filter(|r| r.judged > 0).collect();
    if judged_bins.is_empty() {
        lines.push(muted(theme, "  no verdicts yet"));
    }
    for r in judged_bins {
        let gap = r.observed.zip(r.predicted).map(|(o, p)| o - p).unwrap_or(0.0);
        let key = if gap.abs() > 0.2 { K::Warning } else { K::Text };
        lines.push(Line::from(Span::styled(
            format!(
                "  {:<10} {:>7}  {:>6}  {:>9}  {:>8}",
                "",
                format!("{}–{}%", r.from, r.to),
                r.judged,
                percent(r.predicted),
                percent(r.observed)
            ),
            theme.style(key),
        )));
    }
    lines.push(Line::from(""));
    lines.push(heading(
        theme,
        &format!("{:<16} {:>6}  {:>9}  {:>10}  Brier", "Per cause type", "judged", "confirmed", "mean score"),
    ));
    if c.cause_types.is_empty() {
        lines.push(muted(theme, "  no verdicts yet"));
    }
    for t in &c.cause_types {
        lines.push(Line::from(format!(
            "  {:<14} {:>6}  {:>9}  {:>10}  {}",
            t.cause_type.chars().take(14).collect::<String>(),
            t.judged,
            percent(t.observed),
            percent(t.mean_score),
            t.brier.map(|b| format!("{b:.3}")).unwrap_or_else(|| "—".to_owned())
        )));
    }
    lines.push(Line::from(""));
    lines.push(heading(theme, "Suggestions  shown  open  acted  ignored  superseded  accepted  to act (median)"));
    match &view.suggestions {
        None => lines.push(muted(theme, "  not known yet: waiting for the server")),
        Some(s) => s.kinds.iter().for_each(|k| lines.push(suggestion_row(k))),
    }
    super::pane::scrolled(&view.scroll, theme, frame, inner, Rect { height: 1, ..area }, lines);
}

fn suggestion_row(k: &SuggestionKindStats) -> Line<'static> {
    let wait = k.time_to_action_p50_s.map(duration).unwrap_or_else(|| "—".to_owned());
    let open = k.shown - k.acted - k.ignored - k.superseded;
    Line::from(format!(
        "  {:<11}{:>5}  {:>4}  {:>5}  {:>7}  {:>10}  {:>8}  {wait}",
        k.kind.as_str(),
        k.shown,
        open,
        k.acted,
        k.ignored,
        k.superseded,
        percent(k.acceptance)
    ))
}

fn duration(s: i64) -> String {
    match s {
        ..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        _ => format!("{}h{:02}", s / 3600, s % 3600 / 60),
    }
}

pub fn patterns(app: &App, view: &PatternsView, theme: &Theme, frame: &mut Frame, area: Rect) {
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
                    if f.auto_allowed { "act" } else { "gate (server does not allow auto)" },
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
    super::pane::scrolled(&view.scroll, theme, frame, inner, Rect { height: 1, ..area }, lines);
}

/// `deploy · payments-* · TIMEOUT · deployer · after hours · config_change > deploy`.
pub fn signature_text(s: &Signature) -> String {
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

pub fn rule_line(app: &App, theme: &Theme, rule: &LearnedRule, prefix: &str) -> Line<'static> {
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
