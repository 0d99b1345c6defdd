//! The routing in force and how often each rule matched (`:routing`).

use super::{Component, ScreenData, Scroll, Step};
use crate::api::{IncidentDetail, RoutingUsage};
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::Theme;
use crate::console::view;
use crate::routing::RoutingDocument;
use ratatui::Frame;
use ratatui::layout::Rect;

#[derive(Debug, Clone, Default)]
pub struct RoutingView {
    pub document: Option<Box<RoutingDocument>>,
    pub usage: Option<RoutingUsage>,
    pub scroll: Scroll,
}

impl Component for RoutingView {
    fn screen(&self) -> Screen {
        Screen::Routing
    }

    fn mode(&self) -> Mode {
        Mode::Routing
    }

    fn watch(&self) -> Watch {
        Watch::Routing
    }

    fn on_key(&mut self, action: KeyAction, _detail: Option<&IncidentDetail>) -> Step {
        self.scroll.on_key(action)
    }

    fn receive(&mut self, data: ScreenData) -> bool {
        match data {
            ScreenData::Routing(document) => {
                self.document = Some(document);
                true
            }
            ScreenData::RoutingUsage(usage) => {
                self.usage = Some(*usage);
                true
            }
            _ => false,
        }
    }

    fn draw(&self, app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
        view::routing::routing(app, self, theme, frame, area)
    }
}
