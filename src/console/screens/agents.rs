//! The agents, with the selected one.

use super::{Component, ScreenData, Step};
use crate::api::{AgentSummary, IncidentDetail};
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::Theme;
use crate::console::view;
use ratatui::Frame;
use ratatui::layout::Rect;

#[derive(Debug, Clone, Default)]
pub struct AgentsView {
    /// None until the first answer: "no agents" and "not known" differ.
    pub agents: Option<Vec<AgentSummary>>,
    pub selected: Option<String>,
}

impl AgentsView {
    pub fn selected_agent(&self) -> Option<&AgentSummary> {
        let agents = self.agents.as_deref().unwrap_or_default();
        self.selected.as_ref().and_then(|a| agents.iter().find(|x| &x.agent_id == a)).or_else(|| agents.first())
    }

    /// A fresh list: the selection stays on its agent while it is listed.
    fn keep(&mut self, agents: Vec<AgentSummary>) {
        self.agents = Some(agents);
        self.selected = self.selected_agent().map(|a| a.agent_id.clone());
    }

    fn handle_key(&mut self, action: KeyAction) -> Step {
        let agents = self.agents.as_deref().unwrap_or_default();
        let at = self.selected_agent().and_then(|s| agents.iter().position(|a| a.agent_id == s.agent_id));
        match super::step(at.unwrap_or(0), agents.len(), action) {
            Some(n) => {
                self.selected = agents.get(n).map(|a| a.agent_id.clone());
                Step::Stay
            }
            None => Step::Unhandled,
        }
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
        view::operations::agents(app, self, theme, frame, area)
    }
}
