//! Paging as it happened, in the incident view: who was paged when and on
//! which channel, whether it got there, and who is next if nobody answers.
//! And `:notifications`, every delivery with its state.

use super::heading;
use crate::api::{DeliveryState, IncidentDetail, IncidentStatus, NoticeKind, Page};
use crate::console::theme::{StyleKey as K, Theme};
use chrono::{DateTime, Utc};
use ratatui::text::{Line, Span};

/// "12:06 (in 3m)" or "12:06 (4m ago)".
pub(in crate::console) fn when(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let mins = (at - now).num_seconds();
    let rel = if mins >= 0 { format!("in {}m", (mins + 59) / 60) } else { format!("{}m ago", (-mins) / 60) };
    format!("{} ({rel})", at.format("%H:%M"))
}

/// A channel's state in a row: ✓, ✗ DEAD, ↻, → , "in 3m", cancelled.
pub(in crate::console) fn short_mark(theme: &Theme, p: &Page, now: DateTime<Utc>) -> Span<'static> {
    match (p.state, p.attempts) {
        (DeliveryState::Sent, _) => Span::styled("✓", theme.style(K::Success)),
        (DeliveryState::Dead, _) => Span::styled("✗ DEAD", theme.style(K::Error)),
        (DeliveryState::Sending, _) => Span::styled("→", theme.style(K::Accent)),
        (DeliveryState::Pending, 0) if p.due_at > now => {
            Span::styled(format!("in {}m", ((p.due_at - now).num_seconds() + 59) / 60), theme.style(K::Muted))
        }
        (DeliveryState::Pending, 0) => Span::styled("…", theme.style(K::Muted)),
        (DeliveryState::Pending, n) => Span::styled(format!("↻ try {}", n + 1), theme.style(K::Warning)),
        (DeliveryState::Cancelled, _) => Span::styled("– cancelled", theme.style(K::Muted)),
    }
}

/// The one-line answer at level 1: "Paged: @alice ✓ 12:04 · next: @payments-oncall 12:09 (in 5m)".
pub(in crate::console) fn summary_line(theme: &Theme, d: &IncidentDetail, now: DateTime<Utc>) -> Option<Line<'static>> {
    let pages: Vec<&Page> = d.pages.iter().filter(|p| p.kind == NoticeKind::Page && !p.digest).collect();
    if pages.is_empty() {
        return None;
    }
    let mut spans = vec![Span::raw("Paged: ")];
    let mut sent: Vec<&&Page> = pages.iter().filter(|p| p.state == DeliveryState::Sent).collect();
    sent.sort_by_key(|p| (p.level == crate::paging::BLAST_RADIUS, p.due_at));
    let mut paged: Vec<&str> = Vec::new();
    for p in sent {
        if !paged.contains(&p.target.as_str()) {
            paged.push(&p.target);
        }
    }
    spans.push(Span::raw(match paged.as_slice() {
        [] => "nobody yet".to_owned(),
        [one] => (*one).to_owned(),
        [first, rest @ ..] => format!("{first} +{}", rest.len()),
    }));
    let dead = pages.iter().filter(|p| p.state == DeliveryState::Dead).count();
    if dead > 0 {
        spans.push(Span::styled(format!("  ✗ {dead} not delivered"), theme.style(K::Error)));
    }
    if let Some(next) = next_page(&pages, now) {
        spans.push(Span::styled(
            format!("  next: {} at {}", next.target, when(next.due_at, now)),
            theme.style(K::Warning),
        ));
    } else if d.summary.status != IncidentStatus::Open {
        spans.push(Span::styled("  paging stopped", theme.style(K::Muted)));
    }
    Some(Line::from(spans))
}

/// The next page a timer will send, if nobody acknowledges.
pub(in crate::console) fn next_page<'a>(pages: &[&'a Page], now: DateTime<Utc>) -> Option<&'a Page> {
    pages.iter().copied().filter(|p| p.state == DeliveryState::Pending && p.due_at > now).min_by_key(|p| p.due_at)
}

/// Level 2 and 3: each person paged, on which channels, how it went.
pub(in crate::console) fn paging_lines(
    theme: &Theme,
    d: &IncidentDetail,
    level: u8,
    now: DateTime<Utc>,
    lines: &mut Vec<Line<'static>>,
) {
    let rule = d
        .routing
        .as_ref()
        .map(|r| {
            let rule = r
                .rule_matched
                .as_deref()
                .map(|n| format!("routing rule \"{n}\""))
                .unwrap_or_else(|| "routing's defaults".to_owned());
            let decision = match r.decision {
                crate::api::RoutingVerdict::Monitored => "watched, nobody paged",
                crate::api::RoutingVerdict::Flagged => "people told",
                crate::api::RoutingVerdict::Gated => "people told, a person decides",
                crate::api::RoutingVerdict::Auto => "people told, its automation ran",
            };
            format!("{rule}: {decision}")
        })
        .unwrap_or_else(|| "routing not known".to_owned());
    lines.push(heading(theme, &format!("Paging ({rule})")));
    let pages: Vec<&Page> = d.pages.iter().filter(|p| level >= 3 || p.state != DeliveryState::Cancelled).collect();
    if pages.is_empty() {
        let why = match d.routing.as_ref().map(|r| r.decision) {
            Some(crate::api::RoutingVerdict::Monitored) => "monitored: nobody is paged",
            _ => "nobody paged yet",
        };
        lines.push(Line::from(Span::styled(format!("  {why}"), theme.style(K::Muted))));
        lines.push(Line::from(""));
        return;
    }
    // One row per person, level and kind, with each channel's state:
    // "11:27 @alice (primary): pagerduty ✓  slack ✗ HTTP 404".
    let mut rows: Vec<(&Page, Vec<&Page>)> = Vec::new();
    for p in &pages {
        match rows.iter_mut().find(|(f, _)| f.target == p.target && f.level == p.level && f.kind == p.kind) {
            Some((_, all)) => all.push(p),
            None => rows.push((p, vec![p])),
        }
    }
    // The escalation levels first, in their order; then everyone else.
    rows.sort_by_key(|(f, _)| (f.level == crate::paging::BLAST_RADIUS || f.kind != NoticeKind::Page, f.due_at));
    let shown = if level >= 3 { rows.len() } else { 5 };
    for (first, all) in rows.iter().take(shown) {
        let at = all.iter().filter_map(|p| p.sent_at).min().unwrap_or(first.due_at);
        let what = match first.kind {
            NoticeKind::Page if first.digest => "digest".to_owned(),
            NoticeKind::Page => first.level.clone(),
            kind => kind.to_string(),
        };
        let mut spans = vec![Span::raw(format!("  {} {} ({what}):", at.format("%H:%M"), first.target))];
        // Channels in the same state together: "pagerduty, slack ✓  email ✗ DEAD".
        let mut states: Vec<(Span<'static>, Vec<&str>)> = Vec::new();
        for p in all {
            let m = short_mark(theme, p, now);
            match states.iter_mut().find(|(s, _)| s.content == m.content) {
                Some((_, channels)) => channels.push(&p.channel),
                None => states.push((m, vec![&p.channel])),
            }
        }
        for (m, channels) in states {
            spans.push(Span::raw(format!(" {} ", channels.join(", "))));
            spans.push(m);
        }
        lines.push(Line::from(spans));
        for p in all {
            if let (Some(e), DeliveryState::Dead | DeliveryState::Pending) = (&p.last_error, p.state)
                && (p.attempts > 0 || p.state == DeliveryState::Dead)
            {
                lines.push(Line::from(Span::styled(format!("        {}: {e}", p.channel), theme.style(K::Error))));
            }
        }
        if level >= 3 && first.kind == NoticeKind::Page {
            lines.push(Line::from(Span::styled(format!("        why: {}", first.reason), theme.style(K::Muted))));
        }
    }
    if rows.len() > shown {
        lines.push(Line::from(Span::styled(
            format!("  … {} more at level 3", rows.len() - shown),
            theme.style(K::Muted),
        )));
    }
    let all: Vec<&Page> = d.pages.iter().filter(|p| p.kind == NoticeKind::Page && !p.digest).collect();
    match next_page(&all, now) {
        Some(next) if d.summary.status == IncidentStatus::Open => lines.push(Line::from(Span::styled(
            format!("  next: {} at {} unless acknowledged", next.target, when(next.due_at, now)),
            theme.style(K::Warning),
        ))),
        _ if d.summary.status != IncidentStatus::Open => lines
            .push(Line::from(Span::styled(format!("  {}: paging stopped", d.summary.status), theme.style(K::Muted)))),
        _ => {}
    }
    lines.push(Line::from(""));
}
