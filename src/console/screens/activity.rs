//! LIVE-O5 and COMP-O5 by one dimension at a time.

use super::{Component, ScreenData, Scroll, Step};
use crate::api::{Dimension, Distribution, IncidentDetail, Topic};
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::Theme;
use crate::console::view;
use ratatui::Frame;
use ratatui::layout::Rect;

/// The seed's dimension buttons, in its order: provider, agent, source, risk, status.
pub const DIMENSIONS: [Dimension; 5] =
    [Dimension::ProviderType, Dimension::AgentId, Dimension::Source, Dimension::RiskLevel, Dimension::Status];

#[derive(Debug, Clone)]
pub struct ActivityView {
    pub dimension: Dimension,
    pub live: Option<Distribution>,
    pub completed: Option<Distribution>,
    pub scroll: Scroll,
}

impl Default for ActivityView {
    fn default() -> Self {
        ActivityView { dimension: Dimension::ProviderType, live: None, completed: None, scroll: Scroll::default() }
    }
}

impl ActivityView {
    /// A topic's answer: kept only if it is for the dimension shown, so bars
    /// never appear under another dimension's name. Whether it was kept.
    fn keep(&mut self, d: Distribution) -> bool {
        if d.dim != self.dimension {
            return false;
        }
        match d.topic {
            Topic::Live => self.live = Some(d),
            Topic::Completed => self.completed = Some(d),
        }
        true
    }

    fn set_dimension(&mut self, dimension: Dimension) {
        if self.dimension != dimension {
            self.dimension = dimension;
            self.live = None;
            self.completed = None;
        }
    }

    fn handle_key(&mut self, action: KeyAction) -> Step {
        let at = DIMENSIONS.iter().position(|d| *d == self.dimension).unwrap_or(0);
        let dimension = match action {
            KeyAction::NextDimension => DIMENSIONS[(at + 1) % DIMENSIONS.len()],
            KeyAction::PreviousDimension => DIMENSIONS[(at + DIMENSIONS.len() - 1) % DIMENSIONS.len()],
            KeyAction::DimensionProvider => Dimension::ProviderType,
            KeyAction::DimensionAgent => Dimension::AgentId,
            KeyAction::DimensionSource => Dimension::Source,
            KeyAction::DimensionRisk => Dimension::RiskLevel,
            KeyAction::DimensionStatus => Dimension::Status,
            other => return self.scroll.on_key(other),
        };
        self.set_dimension(dimension);
        Step::Stay
    }
}

impl Component for ActivityView {
    fn screen(&self) -> Screen {
        Screen::Activity
    }

    fn mode(&self) -> Mode {
        Mode::Activity
    }

    fn watch(&self) -> Watch {
        Watch::Activity(self.dimension)
    }

    fn on_key(&mut self, action: KeyAction, _detail: Option<&IncidentDetail>) -> Step {
        self.handle_key(action)
    }

    fn receive(&mut self, data: ScreenData) -> bool {
        match data {
            ScreenData::Distribution(d) => self.keep(*d),
            _ => false,
        }
    }

    fn draw(&self, app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
        view::activity::activity(app, self, theme, frame, area)
    }
}
