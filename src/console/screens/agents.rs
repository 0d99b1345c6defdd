//! The agents, with the selected one.

use super::Step;
use crate::api::AgentSummary;
use crate::console::keymap::KeyAction;

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
    pub fn receive(&mut self, agents: Vec<AgentSummary>) {
        self.agents = Some(agents);
        self.selected = self.selected_agent().map(|a| a.agent_id.clone());
    }

    pub fn on_key(&mut self, action: KeyAction) -> Step {
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
