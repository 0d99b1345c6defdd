//! The blast-radius tree of an incident: which nodes are open, which is selected.

use super::{CausesView, Component, Step, View};
use crate::api::IncidentDetail;
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::Theme;
use crate::console::{blast, view};
use ratatui::Frame;
use ratatui::layout::Rect;
use std::collections::BTreeSet;

#[derive(Debug, Clone)]
pub struct BlastView {
    pub id: i64,
    pub open: BTreeSet<Vec<String>>,
    pub selected: Vec<String>,
}

impl BlastView {
    /// Definitely and likely affected start open, the first selected.
    pub fn new(id: i64) -> BlastView {
        BlastView {
            id,
            open: [vec![blast::BANDS[0].to_owned()], vec![blast::BANDS[1].to_owned()]].into(),
            selected: vec![blast::BANDS[0].to_owned()],
        }
    }

    fn handle_key(&mut self, action: KeyAction, detail: Option<&IncidentDetail>) -> Step {
        let nodes = detail.map(|d| blast::nodes(&d.blast_radius)).unwrap_or_default();
        match action {
            KeyAction::Up
            | KeyAction::Down
            | KeyAction::Top
            | KeyAction::Bottom
            | KeyAction::PageUp
            | KeyAction::PageDown => {
                let paths = blast::visible_paths(&nodes, &self.open);
                let at = paths.iter().position(|p| *p == self.selected).unwrap_or(0);
                if let Some(path) = super::step(at, paths.len(), action).and_then(|n| paths.get(n)) {
                    self.selected = path.clone();
                }
            }
            KeyAction::Expand => {
                if blast::has_children(&nodes, &self.selected) {
                    self.open.insert(self.selected.clone());
                }
            }
            KeyAction::Collapse => {
                if !self.open.remove(&self.selected) && self.selected.len() > 1 {
                    self.selected.pop();
                }
            }
            KeyAction::Toggle => {
                if !self.open.remove(&self.selected) && blast::has_children(&nodes, &self.selected) {
                    self.open.insert(self.selected.clone());
                }
            }
            KeyAction::ExpandAll => self.open = blast::parents(&nodes),
            KeyAction::RootCauses => return Step::Swap(View::RootCauses(CausesView::new(self.id))),
            _ => return Step::Unhandled,
        }
        Step::Stay
    }
}

impl Component for BlastView {
    fn screen(&self) -> Screen {
        Screen::BlastRadius { id: self.id }
    }

    fn mode(&self) -> Mode {
        Mode::BlastRadius
    }

    fn watch(&self) -> Watch {
        Watch::Incident(self.id)
    }

    fn incident(&self) -> Option<i64> {
        Some(self.id)
    }

    fn on_key(&mut self, action: KeyAction, detail: Option<&IncidentDetail>) -> Step {
        self.handle_key(action, detail)
    }

    fn draw(&self, app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
        view::triage::blast_radius(app, self, theme, frame, area)
    }
}
