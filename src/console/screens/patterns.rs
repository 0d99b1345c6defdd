//! Recurring incidents (seed 10.1–10.4) and the rules learned from them
//! (10.5, 10.6), with the friction they cause.

use super::{Component, ScreenData, Scroll, Step};
use crate::api::{IncidentDetail, PatternList, RuleList};
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::Theme;
use crate::console::view;
use ratatui::Frame;
use ratatui::layout::Rect;

#[derive(Debug, Clone, Default)]
pub struct PatternsView {
    pub patterns: Option<PatternList>,
    pub rules: Option<RuleList>,
    pub scroll: Scroll,
}

impl Component for PatternsView {
    fn screen(&self) -> Screen {
        Screen::Patterns
    }

    fn mode(&self) -> Mode {
        Mode::Patterns
    }

    fn watch(&self) -> Watch {
        Watch::Patterns
    }

    fn on_key(&mut self, action: KeyAction, _detail: Option<&IncidentDetail>) -> Step {
        self.scroll.on_key(action)
    }

    fn receive(&mut self, data: ScreenData) -> bool {
        match data {
            ScreenData::Patterns(p) => {
                self.patterns = Some(*p);
                true
            }
            ScreenData::Rules(r) => {
                self.rules = Some(*r);
                true
            }
            _ => false,
        }
    }

    fn draw(&self, app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
        view::learning::patterns(app, self, theme, frame, area)
    }
}
