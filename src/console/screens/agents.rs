//! The agents, with the selected one.

use super::{Component, ScreenData, Selection, Step};
use crate::api::{AgentSummary, IncidentDetail};
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::{StyleKey as K, Theme};
use crate::console::view;
use crate::console::view::{age, ellipsize, not_known, titled};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::Cell;
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

fn agents(app: &App, view: &AgentsView, theme: &Theme, frame: &mut Frame, area: Rect) {
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
        return view::muted(theme, frame, inner, "no agent has reported yet");
    }
    // As wide as what they hold: the agent's name up to 40, the tools
    // turned off take what is left.
    let agent = view::widest(agents, |a| a.agent_id.width(), 40).max(5);
    let status = view::widest(
        agents,
        |a| if a.status == "paused" { 48 + a.paused_by.as_deref().map_or(0, str::width) } else { 6 },
        if inner.width >= 120 { 56 } else { 30 },
    )
    .max(6);
    let columns = [
        ("AGENT", Constraint::Length(agent as u16)),
        ("STATUS", Constraint::Length(status as u16)),
        ("SEEN", Constraint::Length(5)),
        ("LIVE", Constraint::Length(4)),
        ("FAILS", Constraint::Length(6)),
        ("TOOLS OFF", Constraint::Fill(1)),
    ]
    .map(|(n, w)| (n.to_owned(), w));
    let selected = view.selected.row(agents.iter().map(|a| &a.agent_id)).unwrap_or(0);
    view::list_table(theme, frame, inner, &columns, (agents.len(), selected), |n, _, cols| {
        let a = &agents[n];
        let status = if a.status == "paused" {
            // Whether the stop held: actions the agent recorded since it,
            // said first so no width cuts it off.
            let by = a.paused_by.as_deref().map(|b| format!(" by {b}")).unwrap_or_default();
            let at = a.paused_at.map(|t| format!(" {}", t.format("%H:%M"))).unwrap_or_default();
            let (text, style) = match a.acted_while_stopped {
                0 => (format!("PAUSED {} refused, 0 acted ·{at}{by}", a.refused_attempts), theme.style(K::Warning)),
                n => {
                    (format!("{n} ACTED WHILE PAUSED, {} refused ·{at}{by}", a.refused_attempts), theme.style(K::Error))
                }
            };
            Span::styled(ellipsize(&text, cols[2]), style)
        } else {
            Span::styled("ACTIVE", theme.style(K::Success))
        };
        let failure = format!("{:.1}%", a.failure_rate * 100.0);
        let failure_style = if a.failure_rate >= 0.2 { theme.style(K::Error) } else { theme.style(K::Text) };
        vec![
            Cell::from(ellipsize(&a.agent_id, cols[1])),
            Cell::from(status),
            Cell::from(age(a.last_seen, app.now)),
            Cell::from(a.live_runs.to_string()),
            Cell::from(Span::styled(failure, failure_style)),
            Cell::from(ellipsize(&a.disabled_tools.join(", "), cols[6])),
        ]
    });
}
