//! The agents, with the selected one.

use super::{Component, ScreenData, Selection, Step};
use crate::api::{AgentSummary, IncidentDetail, StopSummary};
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::{StyleKey as K, Theme};
use crate::console::view;
use crate::console::view::{age, ellipsize, not_known, stops, titled};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph};
use unicode_width::UnicodeWidthStr;

#[derive(Debug, Clone, Default)]
pub struct AgentsView {
    /// None until the first answer: "no agents" and "not known" differ.
    pub agents: Option<Vec<AgentSummary>>,
    /// By agent id.
    pub selected: Selection<String>,
}

impl AgentsView {
    pub fn selected_agent(&self) -> Option<&AgentSummary> {
        let agents = self.agents.as_deref().unwrap_or_default();
        self.selected.row(agents.iter().map(|a| &a.agent_id)).map(|n| &agents[n])
    }

    /// A fresh list: the selection stays on its agent while it is listed.
    fn keep(&mut self, agents: Vec<AgentSummary>) {
        self.selected.settle(agents.iter().map(|a| &a.agent_id));
        self.agents = Some(agents);
    }

    fn handle_key(&mut self, action: KeyAction) -> Step {
        let ids: Vec<String> = self.agents.iter().flatten().map(|a| a.agent_id.clone()).collect();
        self.selected.on_key(action, &ids)
    }
}

impl Component for AgentsView {
    fn screen(&self) -> Screen {
        Screen::Agents
    }

    fn mode(&self) -> Mode {
        Mode::Agents
    }

    fn watch(&self) -> Watch {
        Watch::Agents
    }

    fn on_key(&mut self, action: KeyAction, _detail: Option<&IncidentDetail>) -> Step {
        self.handle_key(action)
    }

    fn receive(&mut self, data: ScreenData) -> bool {
        match data {
            ScreenData::Agents(agents) => {
                self.keep(agents);
                true
            }
            _ => false,
        }
    }

    fn draw(&self, app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
        agents(app, self, theme, frame, area)
    }
}

/// At most this many stops are listed above the agents; the rest are counted.
const STOPS_LISTED: usize = 4;

fn agents(app: &App, view: &AgentsView, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(agents) = &view.agents else {
        let block = titled(theme, " Agents ".to_owned());
        let inner = block.inner(area);
        frame.render_widget(block, area);
        return not_known(app, theme, frame, inner, "agents");
    };
    let stops = app.stops.as_deref();
    let stopped = agents
        .iter()
        .filter(|a| a.status == "paused" || stops.is_some_and(|s| stops::wider_on(s, &a.agent_id).next().is_some()))
        .count();
    let unheard = agents.iter().filter(|a| stops::out_of_contact(a, app.now).is_some()).count();
    let unheard = if unheard > 0 { format!(" · {unheard} out of contact") } else { String::new() };
    let block = titled(theme, format!(" Agents: {} · {stopped} stopped{unheard} ", agents.len()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    // Every stop in force first, with whether it holds.
    let stop_lines: Vec<Line<'static>> = match stops {
        None => vec![Line::from(Span::styled("stops in force: not known yet", theme.style(K::Muted)))],
        Some([]) => vec![Line::from(Span::styled("no stops in force", theme.style(K::Muted)))],
        Some(all) => {
            let mut lines: Vec<Line<'static>> = all
                .iter()
                .take(STOPS_LISTED)
                .map(|s| {
                    let (text, style) = stops::stop_line(s, inner.width < 100);
                    Line::from(Span::styled(ellipsize(&format!("■ {text}"), inner.width as usize), theme.style(style)))
                })
                .collect();
            if all.len() > STOPS_LISTED {
                let more = format!("and {} more stops in force (GET /api/v1/stops)", all.len() - STOPS_LISTED);
                lines.push(Line::from(Span::styled(more, theme.style(K::Muted))));
            }
            lines
        }
    };
    let [top, table] =
        Layout::vertical([Constraint::Length(stop_lines.len() as u16), Constraint::Fill(1)]).areas(inner);
    frame.render_widget(Paragraph::new(stop_lines), top);
    if agents.is_empty() {
        return view::muted(theme, frame, table, "no agent has reported yet");
    }
    // As wide as what they hold: the agent's name up to 40, the tools
    // turned off take what is left.
    let agent = view::widest(agents, |a| a.agent_id.width(), 40).max(5);
    let status =
        view::widest(agents, |a| status_of(a, stops, app.now).0.width(), if table.width >= 120 { 72 } else { 30 })
            .max(6);
    // Which SDK each agent's control polls came from ("—": none said); at
    // 100 columns and more, so a narrow screen keeps the tools turned off.
    let sdk = match table.width {
        w if w >= 100 => view::widest(agents, |a| a.sdk.as_deref().map_or(1, |s| s.width()), 16).max(3),
        _ => 0,
    };
    let mut columns = vec![
        ("AGENT", Constraint::Length(agent as u16)),
        ("STATUS", Constraint::Length(status as u16)),
        ("SEEN", Constraint::Length(5)),
        ("LIVE", Constraint::Length(4)),
        ("FAILS", Constraint::Length(6)),
    ];
    if sdk > 0 {
        columns.push(("SDK", Constraint::Length(sdk as u16)));
    }
    columns.push(("TOOLS OFF", Constraint::Fill(1)));
    let columns: Vec<(String, Constraint)> = columns.into_iter().map(|(n, w)| (n.to_owned(), w)).collect();
    let selected = view.selected.row(agents.iter().map(|a| &a.agent_id)).unwrap_or(0);
    view::list_table(theme, frame, table, &columns, (agents.len(), selected), |n, _, cols| {
        let a = &agents[n];
        let (text, style) = status_of(a, stops, app.now);
        let failure = format!("{:.1}%", a.failure_rate * 100.0);
        let failure_style = if a.failure_rate >= 0.2 { theme.style(K::Error) } else { theme.style(K::Text) };
        let mut cells = vec![
            Cell::from(ellipsize(&a.agent_id, cols[1])),
            Cell::from(Span::styled(ellipsize(&text, cols[2]), theme.style(style))),
            Cell::from(age(a.last_seen, app.now)),
            Cell::from(a.live_runs.to_string()),
            Cell::from(Span::styled(failure, failure_style)),
        ];
        if sdk > 0 {
            cells.push(Cell::from(ellipsize(a.sdk.as_deref().unwrap_or("—"), cols[6])));
        }
        cells.push(Cell::from(ellipsize(&a.disabled_tools.join(", "), *cols.last().unwrap_or(&10))));
        cells
    });
}

/// An agent's status, what matters first so no width cuts it off: whether
/// its own stop held, which wider stop covers it, whether its SDK is heard.
fn status_of(a: &AgentSummary, stops: Option<&[StopSummary]>, now: chrono::DateTime<chrono::Utc>) -> (String, K) {
    let unheard = stops::out_of_contact(a, now).map(|d| format!("OUT OF CONTACT {}", age(now - d, now)));
    if a.status == "paused" {
        let by = a.paused_by.as_deref().map(|b| format!(" by {b}")).unwrap_or_default();
        let at = a.paused_at.map(|t| format!(" {}", t.format("%H:%M:%S"))).unwrap_or_default();
        let until = a.paused_until.map(|t| format!(" until {}", t.format("%H:%M"))).unwrap_or_default();
        let contact = unheard.map(|u| format!(", {u}")).unwrap_or_default();
        return match a.acted_while_stopped {
            0 => (
                format!("STOPPED{contact} · {} refused, 0 acted ·{at}{by}{until}", a.refused_attempts),
                if contact.is_empty() { K::Warning } else { K::Error },
            ),
            n => (format!("{n} ACTED WHILE STOPPED, {} refused{contact} ·{at}{by}", a.refused_attempts), K::Error),
        };
    }
    if let Some(wider) = stops.and_then(|s| stops::wider_on(s, &a.agent_id).next()) {
        let contact = unheard.map(|u| format!(", {u}")).unwrap_or_default();
        return (format!("STOPPED ({}){contact} · by {}", wider.stop.scope_label(), wider.stop.by), K::Warning);
    }
    match unheard {
        Some(u) => (u, K::Warning),
        None => ("ACTIVE".to_owned(), K::Success),
    }
}
