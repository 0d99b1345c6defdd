//! Agents, the audit log and the attribution figures.

use super::{age, column_widths, ellipsize, not_known, titled, verdict_word};
use crate::api::Verdict;
use crate::console::app::App;
use crate::console::screens::{AgentsView, AuditView};
use crate::console::theme::{StyleKey as K, Theme};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

fn muted(theme: &Theme, frame: &mut Frame, area: Rect, text: &str) {
    frame.render_widget(Paragraph::new(Span::styled(text.to_owned(), theme.style(K::Muted))), area);
}

pub fn agents(app: &App, view: &AgentsView, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(agents) = &view.agents else {
        let block = titled(theme, " Agents ".to_owned());
        let inner = block.inner(area);
        frame.render_widget(block, area);
        return not_known(app, theme, frame, inner, "agents");
    };
    let paused = agents.iter().filter(|a| a.status == "paused").count();
    let block = titled(theme, format!(" Agents: {} · {paused} paused ", agents.len()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if agents.is_empty() {
        return muted(theme, frame, inner, "no agent has reported yet");
    }
    let selected = view.selected_agent().map(|a| a.agent_id.clone());
    let height = inner.height.saturating_sub(1) as usize;
    let at = agents.iter().position(|a| Some(&a.agent_id) == selected.as_ref()).unwrap_or(0);
    let offset = at.saturating_sub(height.saturating_sub(1));
    let widths = [
        Constraint::Length(1),
        Constraint::Fill(2),
        Constraint::Length(16),
        Constraint::Length(9),
        Constraint::Length(5),
        Constraint::Length(7),
        Constraint::Fill(1),
    ];
    let cols = column_widths(widths, inner);
    let rows: Vec<Row> = agents
        .iter()
        .skip(offset)
        .take(height)
        .map(|a| {
            let is_selected = Some(&a.agent_id) == selected.as_ref();
            let status = if a.status == "paused" {
                let by = a.paused_by.as_deref().map(|b| format!(" by {b}")).unwrap_or_default();
                Span::styled(ellipsize(&format!("PAUSED{by}"), cols[2]), theme.style(K::Warning))
            } else {
                Span::styled("ACTIVE", theme.style(K::Success))
            };
            let failure = format!("{:.1}%", a.failure_rate * 100.0);
            let failure_style = if a.failure_rate >= 0.2 { theme.style(K::Error) } else { theme.style(K::Text) };
            let row = Row::new(vec![
                Cell::from(if is_selected { "▶" } else { " " }),
                Cell::from(ellipsize(&a.agent_id, cols[1])),
                Cell::from(status),
                Cell::from(age(a.last_seen, app.now)),
                Cell::from(a.live_runs.to_string()),
                Cell::from(Span::styled(failure, failure_style)),
                Cell::from(ellipsize(&a.disabled_tools.join(", "), cols[6])),
            ]);
            if is_selected { row.style(theme.style(K::Selection)) } else { row }
        })
        .collect();
    let names = ["", "AGENT", "STATUS", "LAST SEEN", "LIVE", "FAILURE", "DISABLED TOOLS"];
    let header = Row::new(names.iter().zip(&cols).map(|(n, w)| ellipsize(n, *w))).style(theme.style(K::Header));
    frame.render_widget(Table::new(rows, widths).header(header).column_spacing(1), inner);
}

pub fn audit(app: &App, view: &AuditView, theme: &Theme, frame: &mut Frame, area: Rect) {
    let block = titled(theme, " Audit log — newest first ".to_owned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(page) = &view.page else { return not_known(app, theme, frame, inner, "the audit log") };
    let [chain, table] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    let c = &page.chain;
    let line = if c.verified {
        Line::from(Span::styled(
            format!(
                "✓ chain verified: {}, each linked to the one before",
                super::plural(c.entries_checked as usize, "entry")
            ),
            theme.style(K::Success),
        ))
    } else {
        Line::from(Span::styled(
            format!(
                "✗ CHAIN BROKEN at entry #{}: {} — the log was altered",
                c.first_broken_seq.map_or("?".to_owned(), |s| s.to_string()),
                c.problem.as_deref().unwrap_or("unknown problem")
            ),
            theme.style(K::Error),
        ))
    };
    frame.render_widget(Paragraph::new(line), chain);
    if page.entries.is_empty() {
        return muted(theme, frame, table, "no intervention yet");
    }
    let height = table.height.saturating_sub(1) as usize;
    let top = super::pane::clamp(&view.scroll, page.entries.len().saturating_sub(height));
    super::pane::position(theme, frame, Rect { height: 1, ..area }, top, height, page.entries.len());
    let widths = [
        Constraint::Length(5),
        Constraint::Length(14),
        Constraint::Fill(2),
        Constraint::Fill(3),
        Constraint::Fill(2),
        Constraint::Fill(3),
        Constraint::Length(if table.width >= 100 { 8 } else { 0 }),
    ];
    let cols = column_widths(widths, table);
    let rows: Vec<Row> = page
        .entries
        .iter()
        .skip(top)
        .take(height)
        .map(|e| {
            let reason = e.details.get("reason").and_then(|r| r.as_str()).unwrap_or("");
            // A verdict says which; an intervention on an agent names it.
            let verdict = e.details.get("verdict").and_then(|v| v.as_str()).and_then(Verdict::parse);
            let agent = e.details.get("agent").and_then(|a| a.as_str()).filter(|_| !e.target.starts_with("agent:"));
            let action = match (verdict, agent) {
                (Some(v), _) if e.action == "verdict" => format!("verdict {}", verdict_word(v)),
                (_, Some(agent)) => format!("{} {agent}", e.action),
                _ => e.action.clone(),
            };
            Row::new(vec![
                Cell::from(format!("#{}", e.seq)),
                Cell::from(e.at.format("%m-%d %H:%M:%S").to_string()),
                Cell::from(ellipsize(&e.actor, cols[2])),
                Cell::from(Span::styled(ellipsize(&action, cols[3]), theme.style(K::Accent))),
                Cell::from(ellipsize(&e.target, cols[4])),
                Cell::from(ellipsize(reason, cols[5])),
                Cell::from(Span::styled(e.hash.chars().take(8).collect::<String>(), theme.style(K::Muted))),
            ])
        })
        .collect();
    let names = ["SEQ", "AT (UTC)", "ACTOR", "ACTION", "TARGET", "REASON", "HASH"];
    let header = Row::new(names.iter().zip(&cols).map(|(n, w)| ellipsize(n, *w))).style(theme.style(K::Header));
    frame.render_widget(Table::new(rows, widths).header(header).column_spacing(1), table);
}
