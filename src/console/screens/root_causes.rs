//! The ranked root causes of an incident: the selected candidate, and the
//! scroll of the chain, pattern and suggestions beside them.

use super::{BlastView, Component, Scroll, Step, View};
use crate::api::{Candidate, IncidentDetail};
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::Theme;
use crate::console::view;
use ratatui::Frame;
use ratatui::layout::Rect;

#[derive(Debug, Clone)]
pub struct CausesView {
    pub id: i64,
    /// The selected candidate's event id; the first one when none is.
    pub selected: Option<String>,
    pub scroll: Scroll,
}

impl CausesView {
    pub fn new(id: i64) -> CausesView {
        CausesView { id, selected: None, scroll: Scroll::default() }
    }

    /// The selected candidate among `detail`'s.
    pub fn candidate<'a>(&self, detail: &'a IncidentDetail) -> Option<&'a Candidate> {
        let candidates = &detail.analysis.candidates;
        self.selected.as_ref().and_then(|e| candidates.iter().find(|c| &c.event_id == e)).or_else(|| candidates.first())
    }

    fn handle_key(&mut self, action: KeyAction, detail: Option<&IncidentDetail>) -> Step {
        match action {
            KeyAction::Up | KeyAction::Down | KeyAction::Top | KeyAction::Bottom => {
                let Some(detail) = detail else { return Step::Stay };
                let ids: Vec<&String> = detail.analysis.candidates.iter().map(|c| &c.event_id).collect();
                let at = self.candidate(detail).and_then(|c| ids.iter().position(|e| **e == c.event_id)).unwrap_or(0);
                self.selected = super::step(at, ids.len(), action).and_then(|n| ids.get(n)).map(|e| (*e).clone());
                Step::Stay
            }
            KeyAction::PageUp | KeyAction::PageDown => self.scroll.on_key(action),
            KeyAction::BlastRadius => Step::Swap(View::BlastRadius(BlastView::new(self.id))),
            _ => Step::Unhandled,
        }
    }
}

impl Component for CausesView {
    fn screen(&self) -> Screen {
        Screen::RootCauses { id: self.id }
    }

    fn mode(&self) -> Mode {
        Mode::RootCauses
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
        view::triage::root_causes(app, self, theme, frame, area)
    }
}
