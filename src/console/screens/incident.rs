//! An incident at disclosure level 1, 2 or 3 (seed 12.4).

use super::{BlastView, CausesView, Component, Scroll, Step, View};
use crate::api::IncidentDetail;
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::Theme;
use crate::console::view;
use ratatui::Frame;
use ratatui::layout::Rect;

#[derive(Debug, Clone)]
pub struct IncidentView {
    pub id: i64,
    pub level: u8,
    pub scroll: Scroll,
}

impl IncidentView {
    pub fn new(id: i64) -> IncidentView {
        IncidentView { id, level: 1, scroll: Scroll::default() }
    }

    fn handle_key(&mut self, action: KeyAction) -> Step {
        match action {
            KeyAction::Deeper => self.level = (self.level + 1).min(3),
            KeyAction::Shallower if self.level > 1 => self.level -= 1,
            KeyAction::Shallower => return Step::Back,
            KeyAction::BlastRadius => return Step::Push(View::BlastRadius(BlastView::new(self.id))),
            KeyAction::RootCauses => return Step::Push(View::RootCauses(CausesView::new(self.id))),
            other => return self.scroll.on_key(other),
        }
        Step::Stay
    }
}

impl Component for IncidentView {
    fn screen(&self) -> Screen {
        Screen::Incident { id: self.id, level: self.level }
    }

    fn mode(&self) -> Mode {
        Mode::Incident
    }

    fn watch(&self) -> Watch {
        Watch::Incident(self.id)
    }

    fn incident(&self) -> Option<i64> {
        Some(self.id)
    }

    fn on_key(&mut self, action: KeyAction, _detail: Option<&IncidentDetail>) -> Step {
        self.handle_key(action)
    }

    fn draw(&self, app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
        view::incident(app, self, theme, frame, area)
    }
}
