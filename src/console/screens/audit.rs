//! The audit log, newest first.

use super::{Component, ScreenData, Scroll, Step};
use crate::api::{AuditPage, IncidentDetail};
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::Theme;
use crate::console::view;
use ratatui::Frame;
use ratatui::layout::Rect;

#[derive(Debug, Clone, Default)]
pub struct AuditView {
    pub page: Option<AuditPage>,
    pub scroll: Scroll,
}

impl Component for AuditView {
    fn screen(&self) -> Screen {
        Screen::Audit
    }

    fn mode(&self) -> Mode {
        Mode::Audit
    }

    fn watch(&self) -> Watch {
        Watch::Audit
    }

    fn on_key(&mut self, action: KeyAction, _detail: Option<&IncidentDetail>) -> Step {
        self.scroll.on_key(action)
    }

    fn receive(&mut self, data: ScreenData) -> bool {
        match data {
            ScreenData::Audit(page) => {
                self.page = Some(*page);
                true
            }
            _ => false,
        }
    }

    fn draw(&self, app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
        view::operations::audit(app, self, theme, frame, area)
    }
}
