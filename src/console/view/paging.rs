//! Paging as it happened, in the incident view: who was paged when and on
//! which channel, whether it got there, and who is next if nobody answers.
//! And `:notifications`, every delivery with its state.

use super::{column_widths, ellipsize, heading, not_known, titled};
use crate::api::{DeliveryState, IncidentDetail, IncidentStatus, NoticeKind, Page};
use crate::console::app::App;
use crate::console::screens::NotificationsView;
use crate::console::theme::{StyleKey as K, Theme};
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};

/// "12:06 (in 3m)" or "12:06 (4m ago)".
fn when(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let mins = (at - now).num_seconds();
    let rel = if mins >= 0 { format!("in {}m", (mins + 59) / 60) } else { format!("{}m ago", (-mins) / 60) };
    format!("{} ({rel})", at.format("%H:%M"))
}

/// What a delivery state looks like: a mark and a style.
fn mark(theme: &Theme, p: &Page) -> Span<'static> {
    match (p.state, p.attempts) {
        (DeliveryState::Sent, _) => Span::styled("✓ sent", theme.style(K::Success)),
        (DeliveryState::Dead, _) => Span::styled("✗ DEAD", theme.style(K::Error)),
        (DeliveryState::Sending, _) => Span::styled("→ sending", theme.style(K::Accent)),
        (DeliveryState::Pending, 0) => Span::styled("… due", theme.style(K::Muted)),
        (DeliveryState::Pending, _) => Span::styled("↻ retrying", theme.style(K::Warning)),
        (DeliveryState::Cancelled, _) => Span::styled("– cancelled", theme.style(K::Muted)),
    }
}

/// A channel's state in a row: ✓, ✗ DEAD, ↻, → , "in 3m", cancelled.
fn short_mark(theme: &Theme, p: &Page, now: DateTime<Utc>) -> Span<'static> {
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
pub fn summary_line(theme: &Theme, d: &IncidentDetail, now: DateTime<Utc>) -> Option<Line<'static>> {
    let pages: Vec<&Page> = d.pages.iter().filter(|p| p.kind == NoticeKind::Page && !p.digest).collect();
    if pages.is_empty() {
        return None;
    }
    let mut spans = vec![Span::raw("Paged: ")];
    let mut sent: Vec<&&Page> = pages.iter().filter(|p| p.state == DeliveryState::Sent).collect();
    sent.sort_by_key(|p| (p.level == crate::routing::BLAST_RADIUS, p.due_at));
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
fn next_page<'a>(pages: &[&'a Page], now: DateTime<Utc>) -> Option<&'a Page> {
    pages.iter().copied().filter(|p| p.state == DeliveryState::Pending && p.due_at > now).min_by_key(|p| p.due_at)
}

/// Level 2 and 3: each person paged, on which channels, how it went.
pub fn paging_lines(theme: &Theme, d: &IncidentDetail, level: u8, now: DateTime<Utc>, lines: &mut Vec<Line<'static>>) {
    let rule = d
        .routing
        .as_ref()
        .map(|r| {
            let rule =
                r.rule_matched.as_deref().map(|n| format!("rule {n}")).unwrap_or_else(|| "the defaults".to_owned());
            format!("{rule}, {}", r.decision)
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
    rows.sort_by_key(|(f, _)| (f.level == crate::routing::BLAST_RADIUS || f.kind != NoticeKind::Page, f.due_at));
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

/// `:notifications`: every delivery, newest due first, with its state and
/// the receiver's error; `R` retries a dead one.
pub fn notifications(app: &App, view: &NotificationsView, theme: &Theme, frame: &mut Frame, area: Rect) {
    let counts = view
        .list
        .as_ref()
        .map(|l| {
            let n = |s: DeliveryState| l.counts.iter().find(|c| c.state == s).map_or(0, |c| c.count);
            format!(
                " Notifications — {} pending, {} sent, {} dead ",
                n(DeliveryState::Pending) + n(DeliveryState::Sending),
                n(DeliveryState::Sent),
                n(DeliveryState::Dead)
            )
        })
        .unwrap_or_else(|| " Notifications ".to_owned());
    let block = titled(theme, counts);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(list) = &view.list else { return not_known(app, theme, frame, inner, "the notifications") };
    if list.notifications.is_empty() {
        let text = Line::from(Span::styled("No notifications: nothing has been paged yet.", theme.style(K::Muted)));
        frame.render_widget(ratatui::widgets::Paragraph::new(text), inner);
        return;
    }
    let wide = inner.width >= 110;
    let mut widths = vec![
        Constraint::Length(1),
        Constraint::Length(8),
        Constraint::Length(11),
        Constraint::Length(5),
        Constraint::Length(18),
        Constraint::Length(9),
    ];
    let mut names = vec!["", "AT", "STATE", "INC", "TARGET", "CHANNEL"];
    if wide {
        widths.extend([Constraint::Length(12), Constraint::Length(3)]);
        names.extend(["LEVEL", "TRY"]);
    }
    widths.push(Constraint::Fill(1));
    names.push("RECEIVER'S ANSWER");
    let cols = column_widths(widths.clone(), inner);
    let height = inner.height.saturating_sub(1) as usize;
    let offset = view.selected.saturating_sub(height.saturating_sub(1));
    let rows: Vec<Row> = list
        .notifications
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(n, p)| {
            let is_selected = n == view.selected;
            let error = p.last_error.clone().unwrap_or_default();
            let mut cells = vec![
                Cell::from(if is_selected { "▶" } else { " " }),
                // When it went, or is (was) due.
                Cell::from(p.sent_at.unwrap_or(p.due_at).format("%H:%M:%S").to_string()),
                Cell::from(mark(theme, p)),
                Cell::from(if p.incident_id == 0 { "—".to_owned() } else { format!("#{}", p.incident_id) }),
                Cell::from(ellipsize(
                    &match (wide, p.kind) {
                        (false, NoticeKind::Acknowledged) => format!("{} (ack)", p.target),
                        (false, NoticeKind::Resolved) => format!("{} (resolved)", p.target),
                        _ => p.target.clone(),
                    },
                    cols[4],
                )),
                Cell::from(p.channel.clone()),
            ];
            if wide {
                let what = if p.kind == NoticeKind::Page { p.level.clone() } else { p.kind.to_string() };
                cells.push(Cell::from(ellipsize(&what, cols[6])));
                cells.push(Cell::from(p.attempts.to_string()));
            }
            let style = theme.style(if p.state == DeliveryState::Dead { K::Error } else { K::Muted });
            cells.push(Cell::from(Span::styled(ellipsize(&error, *cols.last().unwrap_or(&10)), style)));
            let row = Row::new(cells);
            if is_selected { row.style(theme.style(K::Selection)) } else { row }
        })
        .collect();
    let header = Row::new(names.iter().zip(&cols).map(|(n, w)| ellipsize(n, *w))).style(theme.style(K::Header));
    frame.render_widget(Table::new(rows, widths).header(header).column_spacing(1), inner);
}
