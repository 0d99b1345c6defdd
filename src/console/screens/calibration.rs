//! How well the scores matched the verdicts (seed 11.2), and what became
//! of suggestions (2.2, 9.4), over the last 30 days.

use super::{Component, ScreenData, Scroll, Step};
use crate::api::{Calibration, IncidentDetail, SuggestionStats};
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::Theme;
use crate::console::view;
use ratatui::Frame;
use ratatui::layout::Rect;

#[derive(Debug, Clone, Default)]
pub struct CalibrationView {
    pub calibration: Option<Calibration>,
    pub suggestions: Option<SuggestionStats>,
    pub scroll: Scroll,
}

impl Component for CalibrationView {
    fn screen(&self) -> Screen {
        Screen::Calibration
    }

    fn mode(&self) -> Mode {
        Mode::Calibration
    }

    fn watch(&self) -> Watch {
        Watch::Calibration
    }

    fn on_key(&mut self, action: KeyAction, _detail: Option<&IncidentDetail>) -> Step {
        self.scroll.on_key(action)
    }

    fn receive(&mut self, data: ScreenData) -> bool {
        match data {
            ScreenData::Calibration(c) => {
                self.calibration = Some(*c);
                true
            }
            ScreenData::SuggestionStats(s) => {
                self.suggestions = Some(*s);
                true
            }
            _ => false,
        }
    }

    fn draw(&self, app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
        view::learning::calibration(app, self, theme, frame, area)
    }
}
