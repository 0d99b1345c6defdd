//! An incident at disclosure level 1, 2 or 3 (seed 12.4).

use super::{BlastView, CausesView, Scroll, Step, View};
use crate::console::keymap::KeyAction;

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

    pub fn on_key(&mut self, action: KeyAction) -> Step {
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
