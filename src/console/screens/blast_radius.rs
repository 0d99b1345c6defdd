//! The blast-radius tree of an incident: which nodes are open, which is selected.

use super::{Component, RootCausesView, Step, View};
use crate::api::IncidentDetail;
use crate::console::app::{App, Screen, Watch};
use crate::console::blast::{self, Node};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::{StyleKey as K, Theme};
use crate::console::view;
use crate::console::view::titled;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use std::collections::BTreeSet;
use tui_tree_widget::{Tree, TreeItem, TreeState};

#[derive(Debug, Clone)]
pub struct BlastRadiusView {
    pub id: i64,
    pub open: BTreeSet<Vec<String>>,
    pub selected: Vec<String>,
}

impl BlastRadiusView {
    /// Definitely and likely affected start open, the first selected.
    pub fn new(id: i64) -> BlastRadiusView {
        BlastRadiusView {
            id,
            open: [vec![blast::BANDS[0].to_owned()], vec![blast::BANDS[1].to_owned()]].into(),
            selected: vec![blast::BANDS[0].to_owned()],
        }
    }

    fn handle_key(&mut self, action: KeyAction, detail: Option<&IncidentDetail>) -> Step {
        let nodes = detail.map(|d| blast::nodes(&d.blast_radius)).unwrap_or_default();
        match action {
            KeyAction::Up
            | KeyAction::Down
            | KeyAction::Top
            | KeyAction::Bottom
            | KeyAction::PageUp
            | KeyAction::PageDown => {
                let paths = blast::visible_paths(&nodes, &self.open);
                let at = paths.iter().position(|p| *p == self.selected).unwrap_or(0);
                if let Some(path) = super::step(at, paths.len(), action).and_then(|n| paths.get(n)) {
                    self.selected = path.clone();
                }
            }
            KeyAction::Expand => {
                if blast::has_children(&nodes, &self.selected) {
                    self.open.insert(self.selected.clone());
                }
            }
            KeyAction::Collapse => {
                if !self.open.remove(&self.selected) && self.selected.len() > 1 {
                    self.selected.pop();
                }
            }
            KeyAction::Toggle => {
                if !self.open.remove(&self.selected) && blast::has_children(&nodes, &self.selected) {
                    self.open.insert(self.selected.clone());
                }
            }
            KeyAction::ExpandAll => self.open = blast::parents(&nodes),
            KeyAction::RootCauses => return Step::Swap(View::RootCauses(RootCausesView::new(self.id))),
            _ => return Step::Unhandled,
        }
        Step::Stay
    }
}

impl Component for BlastRadiusView {
    fn screen(&self) -> Screen {
        Screen::BlastRadius { id: self.id }
    }

    fn mode(&self) -> Mode {
        Mode::BlastRadius
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
        blast_radius(app, self, theme, frame, area)
    }
}

fn blast_radius(app: &App, view: &BlastRadiusView, theme: &Theme, frame: &mut Frame, area: Rect) {
    let id = view.id;
    let Some(d) = app.focused_detail() else {
        let block = titled(theme, format!(" #{id} Blast radius "));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        return view::loading(app, theme, frame, inner);
    };
    let br = &d.blast_radius;
    let total = br.definitely.len() + br.likely.len() + br.possibly.len();
    let block = titled(theme, format!(" #{id} Blast radius — {} ", view::plural(total, "service")));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [notify, tree_area] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    let owners = if br.owners_to_notify.is_empty() { "none found".to_owned() } else { br.owners_to_notify.join(", ") };
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("Owners to notify: ", theme.style(K::Header)),
            Span::styled(owners, theme.style(K::Accent)),
        ])),
        notify,
    );
    let items: Vec<TreeItem<String>> = blast::nodes(br).iter().map(|n| item(n, theme)).collect();
    let mut state = TreeState::default();
    for path in &view.open {
        state.open(path.clone());
    }
    state.select(view.selected.clone());
    if let Ok(tree) = Tree::new(&items) {
        let tree = tree
            .highlight_style(theme.style(K::Selection))
            .highlight_symbol("▶ ")
            .node_closed_symbol("+ ")
            .node_open_symbol("- ")
            .node_no_children_symbol("  ");
        frame.render_stateful_widget(tree, tree_area, &mut state);
        // The rows shown among the open ones, on the title row.
        let shown = state.flatten(&items).len();
        let title = Rect { height: 1, ..area };
        view::pane::position(theme, frame, title, state.get_offset(), tree_area.height as usize, shown);
    }
}

fn item(node: &Node, theme: &Theme) -> TreeItem<'static, String> {
    let text = Line::from(node.text.iter().map(|(t, k)| Span::styled(t.clone(), theme.style(*k))).collect::<Vec<_>>());
    if node.children.is_empty() {
        return TreeItem::new_leaf(node.id.clone(), text);
    }
    let children = node.children.iter().map(|c| item(c, theme)).collect();
    // Identifiers are unique among siblings by construction; a duplicate
    // from odd data still shows, as a leaf.
    TreeItem::new(node.id.clone(), text.clone(), children).unwrap_or_else(|_| TreeItem::new_leaf(node.id.clone(), text))
}
