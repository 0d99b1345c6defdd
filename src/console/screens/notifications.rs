//! Every notification paging sent, is sending, retries or gave up on
//! (`:notifications`), with the selected one.

use super::{Component, ScreenData, Step};
use crate::api::{IncidentDetail, Page, PageList};
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::Theme;
use crate::console::view;
use ratatui::Frame;
use ratatui::layout::Rect;

#[derive(Debug, Clone, Default)]
pub struct NotificationsView {
    /// None until the first answer: "none" and "not known" differ.
    pub list: Option<PageList>,
    pub selected: usize,
}

impl NotificationsView {
    pub fn selected_page(&self) -> Option<&Page> {
        self.list.as_ref().and_then(|l| l.notifications.get(self.selected))
    }

    /// A fresh list: the selection stays on its notification while listed.
    fn keep(&mut self, list: PageList) {
        let was = self.selected_page().map(|p| p.id.clone());
        self.selected = was
            .and_then(|id| list.notifications.iter().position(|p| p.id == id))
            .unwrap_or(self.selected.min(list.notifications.len().saturating_sub(1)));
        self.list = Some(list);
    }

    fn handle_key(&mut self, action: KeyAction) -> Step {
        let len = self.list.as_ref().map_or(0, |l| l.notifications.len());
        match super::step(self.selected, len, action) {
            Some(n) => {
                self.selected = n;
                Step::Stay
            }
            None => Step::Unhandled,
        }
    }
}

impl Component for NotificationsView {
    fn screen(&self) -> Screen {
        Screen::Notifications
    }

    fn mode(&self) -> Mode {
        Mode::Notifications
    }

    fn watch(&self) -> Watch {
        Watch::Notifications
    }

    fn on_key(&mut self, action: KeyAction, _detail: Option<&IncidentDetail>) -> Step {
        self.handle_key(action)
    }

    fn receive(&mut self, data: ScreenData) -> bool {
        match data {
            ScreenData::Notifications(list) => {
                self.keep(*list);
                true
            }
            _ => false,
        }
    }

    fn draw(&self, app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
        view::paging::notifications(app, self, theme, frame, area)
    }
}
