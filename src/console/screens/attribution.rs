//! The attribution rollout (`:attribution`): the phase and what comes next,
//! the trends, every origin system worst first with the selected one, a
//! status filter, and the selected service's owner and latest refusal.

use super::{Component, IncidentView, ScreenData, Step, View};
use crate::api::{ComplianceStatus, IncidentDetail, RolloutStatus, ServiceCompliance};
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::Theme;
use crate::console::view;
use ratatui::Frame;
use ratatui::layout::Rect;

#[derive(Debug, Clone, Default)]
pub struct AttributionView {
    /// None until the first answer: "no services" and "not known" differ.
    pub rollout: Option<RolloutStatus>,
    /// The selected service, by name: it stays selected as the list moves.
    pub selected: Option<String>,
    /// Only services in this status; None: all.
    pub filter: Option<ComplianceStatus>,
    /// The selected service's owner and latest refusal are open.
    pub detail: bool,
}

impl AttributionView {
    /// The services the filter keeps, worst first (as the server sorts them).
    pub fn visible(&self) -> Vec<&ServiceCompliance> {
        let all = self.rollout.as_ref().map(|r| r.services.as_slice()).unwrap_or_default();
        all.iter().filter(|s| self.filter.is_none_or(|f| s.status == f)).collect()
    }

    pub fn selected_service(&self) -> Option<&ServiceCompliance> {
        let visible = self.visible();
        self.selected.as_ref().and_then(|n| visible.iter().find(|s| &s.name == n).copied()).or(visible.first().copied())
    }

    /// A fresh answer; whether anything shown changed (the server's clock
    /// alone moving is not a change worth a redraw).
    fn keep(&mut self, rollout: RolloutStatus) -> bool {
        let changed = match &self.rollout {
            Some(old) => *old != RolloutStatus { now: old.now, ..rollout.clone() },
            None => true,
        };
        if changed {
            self.rollout = Some(rollout);
            self.selected = self.selected_service().map(|s| s.name.clone());
        }
        changed
    }

    fn handle_key(&mut self, action: KeyAction) -> Step {
        match action {
            KeyAction::Open => {
                self.detail = !self.detail && self.selected_service().is_some();
                return Step::Stay;
            }
            KeyAction::Back if self.detail => {
                self.detail = false;
                return Step::Stay;
            }
            KeyAction::NextFilter => {
                self.filter = match self.filter {
                    None => Some(ComplianceStatus::Violating),
                    Some(ComplianceStatus::Violating) => Some(ComplianceStatus::UsingOverride),
                    Some(ComplianceStatus::UsingOverride) => Some(ComplianceStatus::Silent),
                    Some(ComplianceStatus::Silent) => Some(ComplianceStatus::Compliant),
                    Some(ComplianceStatus::Compliant) => None,
                };
                self.selected = self.selected_service().map(|s| s.name.clone());
                return Step::Stay;
            }
            KeyAction::Breach => {
                return match self.rollout.as_ref().and_then(|r| r.breach.as_ref()) {
                    Some(b) => Step::Push(View::Incident(IncidentView::new(b.incident_id))),
                    None => Step::Stay,
                };
            }
            _ => {}
        }
        let names: Vec<String> = self.visible().iter().map(|s| s.name.clone()).collect();
        let at = self.selected_service().and_then(|s| names.iter().position(|n| *n == s.name)).unwrap_or(0);
        match super::step(at, names.len(), action) {
            Some(n) => {
                self.selected = names.get(n).cloned();
                Step::Stay
            }
            None => Step::Unhandled,
        }
    }
}

impl Component for AttributionView {
    fn screen(&self) -> Screen {
        Screen::Attribution
    }

    fn mode(&self) -> Mode {
        Mode::Attribution
    }

    fn watch(&self) -> Watch {
        Watch::Attribution
    }

    fn on_key(&mut self, action: KeyAction, _detail: Option<&IncidentDetail>) -> Step {
        self.handle_key(action)
    }

    fn receive(&mut self, data: ScreenData) -> bool {
        match data {
            ScreenData::Attribution(rollout) => self.keep(*rollout),
            _ => false,
        }
    }

    fn draw(&self, app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
        view::rollout::attribution(app, self, theme, frame, area)
    }
}
