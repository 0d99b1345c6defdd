//! LIVE-O5 and COMP-O5 by one dimension at a time.
//!
//! LIVE-O5 and COMP-O5: runs by dimension, each panel from its own topic's
//! endpoint, with the server's buckets and total as given (seed 003: panels
//! never filter or infer). Side by side when wide, stacked when narrow.

use super::{Component, ScreenData, Scroll, Step};
use crate::api::{Dimension, Distribution, IncidentDetail, Topic};
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::{StyleKey as K, Theme};
use crate::console::view;
use crate::console::view::titled;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

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
        activity(app, self, theme, frame, area)
    }
}

/// The seed's button label for a dimension.
fn label(d: Dimension) -> &'static str {
    match d {
        Dimension::ProviderType => "Provider",
        Dimension::AgentId => "Agent",
        Dimension::Source => "Source",
        Dimension::RiskLevel => "Risk",
        Dimension::Status => "Status",
    }
}

fn activity(app: &App, view: &ActivityView, theme: &Theme, frame: &mut Frame, area: Rect) {
    let block = titled(theme, " Activity — runs by dimension ".to_owned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [buttons, panels] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    let mut spans = vec![Span::styled("By: ", theme.style(K::Muted))];
    for (n, dim) in DIMENSIONS.iter().enumerate() {
        let (key, label) = (n + 1, label(*dim));
        if *dim == view.dimension {
            spans.push(Span::styled(format!("[{key} {label}]"), theme.style(K::Selection)));
        } else {
            spans.push(Span::styled(format!(" {key} {label} "), theme.style(K::Text)));
        }
        spans.push(Span::raw(" "));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), buttons);
    let [live, completed] = if panels.width >= 100 {
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(panels)
    } else {
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(panels)
    };
    panel(app, view, theme, frame, live, "LIVE-O5", "runs in flight now", view.live.as_ref());
    panel(app, view, theme, frame, completed, "COMP-O5", "finished runs", view.completed.as_ref());
}

/// One topic's panel: its name (LIVE-O5, COMP-O5) with a plain subtitle.
#[allow(clippy::too_many_arguments)]
fn panel(
    app: &App,
    view: &ActivityView,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    id: &str,
    what: &str,
    data: Option<&Distribution>,
) {
    let total = data.map(|d| format!(" — total {}", d.total)).unwrap_or_default();
    let by = label(view.dimension).to_lowercase();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(K::Border))
        .title(Span::styled(format!(" {id} · {what} by {by}{total} "), theme.style(K::Title)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(d) = data else {
        return view::not_known(app, theme, frame, inner, what);
    };
    if d.buckets.is_empty() {
        frame.render_widget(Paragraph::new(Span::styled(format!("no {what}"), theme.style(K::Muted))), inner);
        return;
    }
    let label_width = d.buckets.iter().map(|b| b.value.chars().count()).max().unwrap_or(0).clamp(4, 24);
    let count_width = d.buckets.iter().map(|b| b.count.to_string().len()).max().unwrap_or(1);
    // "label  ████  count  100.0%"
    let bar_width = (inner.width as usize).saturating_sub(label_width + count_width + 12).max(1);
    let max = d.buckets.iter().map(|b| b.count).max().unwrap_or(1).max(1);
    let lines: Vec<Line> = d
        .buckets
        .iter()
        .map(|b| {
            let filled = ((b.count as f64 / max as f64) * bar_width as f64).round() as usize;
            let filled = if b.count > 0 { filled.max(1) } else { 0 };
            let pct = if d.total > 0 { b.count as f64 * 100.0 / d.total as f64 } else { 0.0 };
            let label = view::ellipsize(&b.value, label_width);
            Line::from(vec![
                Span::styled(format!("{label:<label_width$} "), theme.style(K::Text)),
                Span::styled("█".repeat(filled), theme.style(K::Accent)),
                Span::styled("░".repeat(bar_width - filled.min(bar_width)), theme.style(K::Muted)),
                Span::styled(format!(" {:>count_width$} {pct:>5.1}%", b.count), theme.style(K::Text)),
            ])
        })
        .collect();
    let top = view::pane::clamp(&view.scroll, lines.len().saturating_sub(inner.height as usize));
    let total = lines.len();
    frame.render_widget(Paragraph::new(lines).scroll((top as u16, 0)), inner);
    // "1–8 of 14" on the panel's top border: the rest is a j/PgDn away.
    view::pane::position(theme, frame, Rect { height: 1, ..area }, top, inner.height as usize, total);
}
