//! An incident at disclosure level 1, 2 or 3 (seed 12.4).

use super::{BlastRadiusView, Component, RootCausesView, Scroll, Step, View};
use crate::api::{IncidentDetail, InterventionKind, InterventionNote, Suggestion, TimelineEntry};
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::{StyleKey as K, Theme};
use crate::console::view::{
    age, band, evidence_text, heading, not_known, paging, pane, plural, severity, status, stops, titled,
};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

#[derive(Debug, Clone)]
pub struct IncidentView {
    pub id: i64,
    pub level: u8,
    pub scroll: Scroll,
}

impl IncidentView {
    pub fn new(id: i64) -> IncidentView {
        IncidentView { id, level: 1, scroll: Scroll::default() }
    }

    fn handle_key(&mut self, action: KeyAction) -> Step {
        match action {
            KeyAction::Deeper => self.level = (self.level + 1).min(3),
            KeyAction::Shallower if self.level > 1 => self.level -= 1,
            KeyAction::Shallower => return Step::Back,
            KeyAction::BlastRadius => return Step::Push(View::BlastRadius(BlastRadiusView::new(self.id))),
            KeyAction::RootCauses => return Step::Push(View::RootCauses(RootCausesView::new(self.id))),
            other => return self.scroll.on_key(other),
        }
        Step::Stay
    }
}

impl Component for IncidentView {
    fn screen(&self) -> Screen {
        Screen::Incident { id: self.id, level: self.level }
    }

    fn mode(&self) -> Mode {
        Mode::Incident
    }

    fn watch(&self) -> Watch {
        Watch::Incident(self.id)
    }

    fn incident(&self) -> Option<i64> {
        Some(self.id)
    }

    fn on_key(&mut self, action: KeyAction, _detail: Option<&IncidentDetail>) -> Step {
        self.handle_key(action)
    }

    fn draw(&self, app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
        incident(app, self, theme, frame, area)
    }
}

/// Where the incident stands in its chain, by the level's name: "escalated
/// to secondary (2 of 4)"; "at primary (1 of 4)".
fn escalation_words(d: &crate::api::IncidentDetail) -> String {
    let at = d.summary.escalation_level;
    let Some(routing) = &d.routing else { return format!("escalation step {}", at + 1) };
    let levels: Vec<String> =
        (-1..).map_while(|n| crate::paging::next_level(routing, n)).map(|l| l.level).take(32).collect();
    match levels.get(at as usize) {
        Some(name) if at > 0 => format!("escalated to {name} ({} of {})", at + 1, levels.len()),
        Some(name) => format!("escalation at {name} (1 of {})", levels.len()),
        None => format!("escalation step {} (routing names {} levels)", at + 1, levels.len()),
    }
}

fn incident(app: &App, view: &IncidentView, theme: &Theme, frame: &mut Frame, area: Rect) {
    let (id, level) = (view.id, view.level);
    let summary = app.incidents.iter().find(|i| i.id == id);
    let title = match summary {
        Some(s) => format!(" #{id} {} — detail {level}/3 ", s.title),
        None => format!(" #{id} — detail {level}/3 "),
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

/// The incident's lines at disclosure level 1, 2 or 3 (design rule 12.4).
/// Long because it is the page read top to bottom: each section follows
/// the one above it, as the operator reads them.
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
    if let Some(line) = silence_line(theme, s, app.now) {
        lines.push(line);
    }
    if let Some(into) = s.merged_into {
        lines.push(Line::from(Span::styled(
            format!("MERGED into #{into}: its events, interventions and pages are there (:{into} opens it)"),
            theme.style(K::Warning),
        )));
    }
    if !d.merged_from.is_empty() {
        let ids: Vec<String> = d.merged_from.iter().map(|i| format!("#{i}")).collect();
        lines.push(Line::from(format!("Merged into it: {} (their events and pages are listed here)", ids.join(", "))));
    }
    if let Some(r) = &d.resolution {
        let how = match (&r.kind, &r.event_id) {
            (crate::api::ResolutionKind::CauseConfirmed, Some(event)) => format!("cause confirmed ({event})"),
            (kind, _) => kind.as_str().replace('_', " "),
        };
        lines.push(Line::from(Span::styled(
            format!("Resolved by {} at {}: {how} — {}", r.by, r.at.format("%H:%M"), r.reason),
            theme.style(K::Success),
        )));
    }
    let br = &d.blast_radius;
    lines.push(Line::from(format!(
        "Impact: {} — {} definitely, {} likely, {} possibly affected",
        if s.resources.is_empty() { "unknown resource".to_owned() } else { s.resources.join(", ") },
        br.definitely.len(),
        br.likely.len(),
        br.possibly.len()
    )));
    if let Some(impact) = app.impact.as_ref().filter(|i| i.incident_id == s.id) {
        impact_lines(theme, impact, level, &mut lines);
    }
    alert_lines(theme, d, level, &mut lines);
    let responding = if s.responders.is_empty() { "nobody yet".to_owned() } else { s.responders.join(", ") };
    let coordinator = s.coordinator.as_deref().map(|c| format!(" (coordinator {c})")).unwrap_or_default();
    lines.push(Line::from(format!("Responding: {responding}{coordinator}; {}", escalation_words(d))));
    if let Some(paged) = paging::summary_line(theme, d, app.now) {
        lines.push(paged);
    }
    // The stops made from this incident, or on its suspects, and whether they hold.
    let suspects: Vec<(&str, Option<&str>)> = d
        .analysis
        .candidates
        .iter()
        .filter(|c| c.confidence > 0)
        .filter_map(|c| Some((c.agent_id.as_deref()?, c.run_id.as_deref())))
        .collect();
    for stop in app.stops.iter().flatten().filter(|st| {
        st.stop.incident_id == Some(s.id) || suspects.iter().any(|(agent, run)| st.stop.covers(agent, *run))
    }) {
        let (text, style) = stops::stop_line(stop, false);
        lines.push(Line::from(Span::styled(format!("STOP {text}"), theme.style(style))));
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

/// "SILENCED until 14:00 by alice (payments-db migration)" while a silence
/// holds the incident's paging; once it has ended, when it did.
pub(crate) fn silence_line(
    theme: &Theme,
    s: &crate::api::IncidentSummary,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<Line<'static>> {
    let mark = s.silenced.as_ref()?;
    let (text, style) = if mark.until > now && s.status != crate::api::IncidentStatus::Resolved {
        (
            format!(
                "SILENCED {} by {} ({}): paging waits; it is recorded and analysed",
                super::until_words(mark.until, now),
                mark.owner,
                mark.reason
            ),
            K::Warning,
        )
    } else if mark.until > now {
        (format!("its paging was held by {}'s silence ({}) while it was open", mark.owner, mark.reason), K::Muted)
    } else {
        (format!("was silenced by {} ({}) until {}", mark.owner, mark.reason, mark.until.format("%H:%M")), K::Muted)
    };
    Some(Line::from(Span::styled(text, theme.style(style))))
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
        InterventionKind::Resolve => "resolved it".to_owned(),
        InterventionKind::Reopen => "reopened it".to_owned(),
        InterventionKind::Note => "noted:".to_owned(),
        InterventionKind::ChangeSeverity => "changed the severity".to_owned(),
        InterventionKind::AddResponder => "paged a responder:".to_owned(),
        InterventionKind::HandOver => "handed it over to".to_owned(),
        InterventionKind::Merge => "merged".to_owned(),
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
    if i.via.as_deref() == Some("slack") {
        text.push_str(" from Slack");
    }
    match &i.reason {
        Some(note) if i.kind == InterventionKind::Note => text.push_str(&format!(" {note}")),
        Some(reason) => text.push_str(&format!(" — {reason}")),
        None => {}
    }
    text
}

/// The incident's services as the server's Prometheus measured them:
/// "payments-service: errors 5.0 % · latency 812 ms · 200 req/s · ~600
/// failed". A figure Prometheus could not give is said unavailable.
fn impact_lines(theme: &Theme, r: &crate::api::ImpactReport, level: u8, lines: &mut Vec<Line<'static>>) {
    if r.services.is_empty() {
        // Nothing to measure with: said once, briefly, never as "no impact".
        let names: Vec<&str> = r.unmeasured.iter().take(3).map(String::as_str).collect();
        let more = r.unmeasured.len().saturating_sub(names.len());
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        lines.push(Line::from(Span::styled(
            format!("  not measured: no impact queries for {}{more}", names.join(", ")),
            theme.style(K::Muted),
        )));
        return;
    }
    let shown = if level >= 2 { r.services.len() } else { 3 };
    for s in r.services.iter().take(shown) {
        let mut figures = Vec::new();
        if let Some(e) = s.error_rate {
            figures.push(format!("errors {:.1} %", e * 100.0));
        }
        if let Some(l) = s.latency_seconds {
            figures.push(if l < 1.0 { format!("latency {:.0} ms", l * 1000.0) } else { format!("latency {l:.2} s") });
        }
        if let Some(q) = s.requests_per_second {
            figures.push(format!("{q:.0} req/s"));
        }
        if let Some(f) = s.estimated_failed {
            figures.push(format!("~{f:.0} failed"));
        }
        let mut spans = vec![Span::raw(format!("  {}: {}", s.service, figures.join(" · ")))];
        if let Some(why) = &s.unavailable {
            spans.push(Span::styled(format!(" metrics unavailable: {why}"), theme.style(K::Warning)));
        }
        lines.push(Line::from(spans));
    }
    let mut tail = format!("  measured {}", r.at.format("%H:%M:%S"));
    if let Some(f) = r.estimated_failed.filter(|_| r.services.len() > 1) {
        tail.push_str(&format!(", ~{f:.0} requests failed in all"));
    }
    if level >= 2 && !r.unmeasured.is_empty() {
        tail.push_str(&format!("; not measured: {}", r.unmeasured.join(", ")));
    }
    lines.push(Line::from(Span::styled(tail, theme.style(K::Muted))));
}

/// What the team's monitors said about the incident, one line per alert
/// (its latest word): "alert: PaymentsLatencyHigh firing since 12:02, from
/// alertmanager". Three at level 1, all below.
fn alert_lines(theme: &Theme, d: &IncidentDetail, level: u8, lines: &mut Vec<Line<'static>>) {
    let mut alerts: Vec<crate::api::AlertNote> = Vec::new();
    for entry in &d.timeline {
        let TimelineEntry::Event { event, .. } = entry else { continue };
        let Some(note) = event.alert() else { continue };
        match alerts.iter_mut().find(|a| a.fingerprint == note.fingerprint && a.source == note.source) {
            Some(known) if note.status == crate::api::AlertStatus::Resolved || known.starts_at < note.starts_at => {
                *known = note
            }
            Some(_) => {}
            None => alerts.push(note),
        }
    }
    let shown = if level >= 2 { alerts.len() } else { 3 };
    for a in alerts.iter().take(shown) {
        let (state, style) = match (a.status, a.ends_at) {
            (crate::api::AlertStatus::Resolved, Some(end)) => {
                (format!("resolved at {}", end.format("%H:%M")), K::Success)
            }
            _ => (format!("firing since {}", a.starts_at.format("%H:%M")), K::Error),
        };
        let unmatched = if a.matched_by.is_none() { " (names no catalog service)" } else { "" };
        let mut spans = vec![
            Span::styled(format!("alert: {} {state}", a.name), theme.style(style)),
            Span::raw(format!(", from {}{unmatched}", a.source)),
        ];
        if let Some(summary) = a.summary() {
            spans.push(Span::styled(format!(" — {summary}"), theme.style(K::Muted)));
        }
        lines.push(Line::from(spans));
    }
    if alerts.len() > shown {
        lines.push(Line::from(Span::styled(
            format!("  … {} more (level 2 shows all)", plural(alerts.len() - shown, "alert")),
            theme.style(K::Muted),
        )));
    }
}

/// Whether a suggestion has been acted on: its intervention was done, on the
/// same agent where it names one.
fn done_by<'a>(s: &Suggestion, done: &'a [InterventionNote]) -> Option<&'a InterventionNote> {
    let kind = s.intervention?;
    done.iter().rev().find(|i| i.kind == kind && (s.agent_id.is_none() || s.agent_id == i.agent_id))
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
            if let Some(alert) = event.alert() {
                return Line::from(Span::styled(
                    format!(
                        "  {} {mark} {} alert {} {} on {} from {}",
                        event.occurred_at.format("%H:%M:%S"),
                        age(event.occurred_at, app.now),
                        alert.name,
                        alert.status.as_str(),
                        event.resource.as_deref().unwrap_or("?"),
                        alert.source
                    ),
                    style,
                ));
            }
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
