//! The draft postmortem of a resolved incident, in Markdown: every line is
//! read from what Mandate recorded (the detail's timeline, pages,
//! interventions, verdicts, suggestions, pattern); nothing is inferred, and
//! what a person must write is left as a blank to fill.

use crate::api::{
    AffectedService, IncidentDetail, IncidentStatus, InterventionKind, InterventionNote, NoticeKind, ResolutionKind,
    TimelineEntry, Verdict,
};
use chrono::{DateTime, Utc};
use std::fmt::Write;

/// Text from the record is written as given, but cannot break the
/// Markdown around it: no line breaks, no table pipes.
fn inline(text: &str) -> String {
    text.replace(['\n', '\r'], " ").replace('|', "\\|")
}

fn at(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn minutes(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let s = (to - from).num_seconds().max(0);
    match s {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

fn services(list: &[AffectedService]) -> String {
    if list.is_empty() {
        return "none".to_owned();
    }
    list.iter()
        .map(|s| {
            let owner = s.owner.as_deref().map(|o| format!(", owner {o}")).unwrap_or_default();
            format!("{}{owner}", inline(&s.service))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// What a person did, as a timeline line.
fn intervention_line(i: &InterventionNote) -> String {
    let what = match i.kind {
        InterventionKind::Note => "note".to_owned(),
        kind => kind.as_str().replace('_', " "),
    };
    let agent = i.agent_id.as_deref().map(|a| format!(" agent {}", inline(a))).unwrap_or_default();
    let detail = i.detail.as_deref().map(|d| format!(" {}", inline(d))).unwrap_or_default();
    let reason = i.reason.as_deref().map(|r| format!(": {}", inline(r))).unwrap_or_default();
    format!("{} — {what}{agent}{detail}{reason}", inline(&i.actor_id))
}

/// The Markdown draft of `d`, a resolved incident.
pub fn draft(d: &IncidentDetail) -> String {
    let s = &d.summary;
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "# Postmortem draft: incident #{} — {}\n", s.id, inline(&s.title));
    let _ = writeln!(
        w,
        "> DRAFT, written by Mandate from its record of the incident. Every statement below comes from that \
         record; nothing is inferred. Check each one, answer the open questions and fill in the action items \
         before sharing it.\n"
    );

    let _ = writeln!(w, "## Summary\n");
    let _ = writeln!(w, "- Severity: {}; {}", s.severity, crate::api::IncidentStatus::as_str(s.status));
    let end = s.resolved_at.unwrap_or(s.updated_at);
    let _ = writeln!(
        w,
        "- Started {} UTC; resolved {} UTC; lasted {}",
        at(s.started_at),
        at(end),
        minutes(s.started_at, end)
    );
    let how = match (&d.resolution, s.auto_recovered) {
        (Some(r), _) => {
            let kind = match (r.kind, &r.event_id) {
                (ResolutionKind::CauseConfirmed, Some(e)) => format!("cause confirmed (event {})", inline(e)),
                (kind, _) => kind.as_str().replace('_', " "),
            };
            format!("by {} at {} UTC: {kind} — {}", inline(&r.by), at(r.at), inline(&r.reason))
        }
        (None, true) => "by itself within two minutes (a flash incident)".to_owned(),
        (None, false) if s.status == IncidentStatus::Resolved => {
            "by itself: its resource reported success again".to_owned()
        }
        (None, false) => "not yet: this draft is early".to_owned(),
    };
    let _ = writeln!(w, "- Resolved {how}");
    let resources = if s.resources.is_empty() { "none named".to_owned() } else { inline(&s.resources.join(", ")) };
    let events = if s.event_count == 1 { "1 event".to_owned() } else { format!("{} events", s.event_count) };
    let _ = writeln!(w, "- Resources: {resources}; {events} recorded");
    let responders = if s.responders.is_empty() { "nobody".to_owned() } else { inline(&s.responders.join(", ")) };
    let coordinator = s.coordinator.as_deref().map(|c| format!("; coordinator {}", inline(c))).unwrap_or_default();
    let _ = writeln!(w, "- Responders: {responders}{coordinator}");
    if let Some(m) = &s.silenced {
        let _ = writeln!(
            w,
            "- Its paging was held by silence #{} ({}, by {}) until {} UTC",
            m.id,
            inline(&m.reason),
            inline(&m.owner),
            at(m.until)
        );
    }

    let br = &d.blast_radius;
    let _ = writeln!(w, "\n## Impact and blast radius\n");
    let _ = writeln!(w, "- Definitely affected: {}", services(&br.definitely));
    let _ = writeln!(w, "- Likely affected: {}", services(&br.likely));
    let _ = writeln!(w, "- Possibly affected: {}", services(&br.possibly));
    let _ = writeln!(w, "- Customer impact: _(to fill: Mandate does not measure it)_");

    let _ = writeln!(w, "\n## Timeline (UTC)\n");
    let _ = writeln!(w, "| time | what |\n|---|---|");
    let mut lines: Vec<(DateTime<Utc>, String)> = Vec::new();
    let errors = d.timeline.iter().filter_map(|e| match e {
        TimelineEntry::Event { event, .. } if event.is_error() => Some(event),
        _ => None,
    });
    if let Some(first) = errors.min_by_key(|e| e.occurred_at) {
        let code = first.error_code.as_deref().map(|c| format!(" {}", inline(c))).unwrap_or_default();
        let on = first.resource.as_deref().map(|r| format!(" on {}", inline(r))).unwrap_or_default();
        let by = first.agent_id.as_deref().map(|a| format!(" by agent {}", inline(a))).unwrap_or_default();
        lines.push((first.occurred_at, format!("first error{code}{on}{by}")));
        lines.push((first.received_at, "detected: the first error reached Mandate and opened the incident".to_owned()));
    }
    let detected = lines.get(1).map(|(t, _)| *t).unwrap_or(s.started_at);
    for gap in d.timeline.iter().filter_map(|e| match e {
        TimelineEntry::Gap { gap } => Some(gap),
        _ => None,
    }) {
        lines.push((
            gap.after,
            format!(
                "events may be missing from agent {} (sequence {}–{}) until {}",
                inline(&gap.agent_id),
                gap.first_missing,
                gap.last_missing,
                at(gap.before)
            ),
        ));
    }
    for p in &d.pages {
        let what = match p.kind {
            NoticeKind::Page => {
                format!("paged {} via {} (level {})", inline(&p.target), inline(&p.channel), inline(&p.level))
            }
            kind => format!("told {} via {}: {}", inline(&p.target), inline(&p.channel), kind),
        };
        match p.sent_at {
            Some(sent) if p.kind == NoticeKind::Page => {
                lines.push((sent, format!("{what}, {} after detection", minutes(detected, sent))))
            }
            Some(sent) => lines.push((sent, what)),
            None => {
                let what = what.replacen("paged ", "page to ", 1);
                lines.push((p.due_at, format!("{what} was due; never sent ({})", p.state)))
            }
        }
    }
    for i in &d.interventions {
        lines.push((i.at, intervention_line(i)));
    }
    if let Some(resolved) = s.resolved_at.filter(|_| d.resolution.is_none()) {
        lines.push((resolved, "resolved: its resource reported success again".to_owned()));
    }
    lines.sort_by_key(|(t, _)| *t);
    for (t, what) in &lines {
        let _ = writeln!(w, "| {} | {what} |", at(*t));
    }

    let _ = writeln!(w, "\n## Root cause\n");
    match &d.resolution {
        Some(r) if r.kind == ResolutionKind::CauseConfirmed => {
            let _ = writeln!(
                w,
                "Confirmed by {} at resolution: event {}.",
                inline(&r.by),
                inline(r.event_id.as_deref().unwrap_or("?"))
            );
        }
        Some(r) if r.kind == ResolutionKind::NotAnIncident => {
            let _ = writeln!(w, "None: {} resolved it as not an incident.", inline(&r.by));
        }
        _ if d.analysis.undetermined || d.analysis.candidates.is_empty() => {
            let _ = writeln!(w, "Undetermined: no candidate action was confirmed.");
        }
        _ => {
            let _ = writeln!(w, "Not confirmed by a person; the candidates as ranked:");
        }
    }
    for c in d.analysis.candidates.iter().take(5) {
        let what = c.action_type.as_deref().unwrap_or("an action");
        let on = c.resource.as_deref().map(|r| format!(" on {}", inline(r))).unwrap_or_default();
        let by =
            c.agent_id.as_deref().or(c.actor_id.as_deref()).map(|a| format!(" by {}", inline(a))).unwrap_or_default();
        let verdict = match (c.verdict, &c.verdict_by) {
            (Some(v), Some(by)) => format!("; {} by {}", verdict_word(v), inline(by)),
            (Some(v), None) => format!("; {}", verdict_word(v)),
            _ => "; no verdict".to_owned(),
        };
        let dispute = c
            .dispute
            .as_ref()
            .map(|m| format!("; its attribution disputed by {} ({})", inline(&m.opened_by), m.state))
            .unwrap_or_default();
        let _ = writeln!(
            w,
            "- {} {}{on}{by} at {} UTC — {} {}%{verdict}{dispute}",
            inline(what),
            c.event_id,
            at(c.occurred_at),
            c.band,
            c.confidence
        );
    }

    let _ = writeln!(w, "\n## Suggestions shown\n");
    if d.suggestions.is_empty() {
        let _ = writeln!(w, "None were shown.");
    }
    for sg in &d.suggestions {
        let done = sg.intervention.and_then(|kind| {
            d.interventions.iter().find(|i| i.kind == kind && (sg.agent_id.is_none() || sg.agent_id == i.agent_id))
        });
        let acted = match done {
            Some(i) => format!("acted on by {} at {} UTC", inline(&i.actor_id), at(i.at)),
            None => "not acted on".to_owned(),
        };
        let _ = writeln!(w, "- {} — {acted}", inline(&sg.title));
    }

    let _ = writeln!(w, "\n## Pattern and rules\n");
    match &d.pattern {
        None => {
            let _ = writeln!(w, "No earlier incident matched this one.");
        }
        Some(p) => {
            let _ =
                writeln!(w, "- Occurrence {} of this pattern ({}, score {}).", p.occurrence, p.level.as_str(), p.score);
            for prev in &p.previous {
                let _ = writeln!(w, "- Earlier: incident #{} at {} UTC", prev.incident_id, at(prev.started_at));
            }
            if let Some(rule) = &p.suggested_rule {
                let _ = writeln!(w, "- Rule suggested: {}", inline(rule));
            }
            if let Some(rule) = &p.rule {
                let _ = writeln!(w, "- Learned rule #{} \"{}\": {}", rule.id, inline(&rule.name), rule.state.as_str());
            }
        }
    }

    let undetermined = match &d.resolution {
        Some(r) => r.kind == ResolutionKind::CauseUndetermined,
        None => d.analysis.undetermined || d.analysis.candidates.iter().all(|c| c.verdict != Some(Verdict::Confirmed)),
    };
    if undetermined {
        let _ = writeln!(w, "\n## Open questions\n");
        let _ = writeln!(w, "- What caused it? No candidate action was confirmed.");
        if d.timeline.iter().any(|e| matches!(e, TimelineEntry::Gap { .. })) {
            let _ = writeln!(w, "- What happened in the gaps in the agents' events (see the timeline)?");
        }
        let _ = writeln!(w, "- What changed that Mandate did not see (a change made outside its agents)?");
    }

    let _ = writeln!(w, "\n## Action items\n");
    let _ = writeln!(w, "- [ ] _(to fill: what, who, by when)_");
    out
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Confirmed => "confirmed as the cause",
        Verdict::Rejected => "marked unrelated",
        Verdict::Investigate => "under investigation",
    }
}
