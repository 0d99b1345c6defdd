//! The audit log, newest first.

use super::{Component, ScreenData, Scroll, Step};
use crate::api::{AuditPage, IncidentDetail, Verdict};
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::{StyleKey as K, Theme};
use crate::console::view;
use crate::console::view::{column_widths, ellipsize, not_known, titled, verdict_word};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

#[derive(Debug, Clone, Default)]
pub struct AuditView {
    pub page: Option<AuditPage>,
    pub scroll: Scroll,
}

impl Component for AuditView {
    fn screen(&self) -> Screen {
        Screen::Audit
    }

    fn mode(&self) -> Mode {
        Mode::Audit
    }

    fn watch(&self) -> Watch {
        Watch::Audit
    }

    fn on_key(&mut self, action: KeyAction, _detail: Option<&IncidentDetail>) -> Step {
        self.scroll.on_key(action)
    }

    fn receive(&mut self, data: ScreenData) -> bool {
        match data {
            ScreenData::Audit(page) => {
                self.page = Some(*page);
                true
            }
            _ => false,
        }
    }

    fn draw(&self, app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
        audit(app, self, theme, frame, area)
    }
}

fn audit(app: &App, view: &AuditView, theme: &Theme, frame: &mut Frame, area: Rect) {
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
                view::plural(c.entries_checked as usize, "entry")
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
        return view::muted(theme, frame, table, "no intervention yet");
    }
    let height = table.height.saturating_sub(1) as usize;
    let top = view::pane::clamp(&view.scroll, page.entries.len().saturating_sub(height));
    view::pane::position(theme, frame, Rect { height: 1, ..area }, top, height, page.entries.len());
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
