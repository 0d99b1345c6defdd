//! Every notification paging sent, is sending, retries or gave up on
//! (`:notifications`), with the selected one.

use super::{Component, Reading, ScreenData, Selection, Step};
use crate::api::{DeliveryState, IncidentDetail, NoticeKind, Page, PageList};
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::{StyleKey as K, Theme};
use crate::console::view::{ellipsize, not_known, titled};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Cell;

#[derive(Debug, Clone, Default)]
pub struct NotificationsView {
    /// None until the first answer: "none" and "not known" differ.
    pub list: Option<PageList>,
    /// By notification id.
    pub selected: Selection<String>,
    /// Only this state (`f` cycles); None: all.
    pub filter: Option<DeliveryState>,
}

/// The filters `f` cycles through, after "all".
const FILTERS: [DeliveryState; 4] =
    [DeliveryState::Pending, DeliveryState::Sent, DeliveryState::Dead, DeliveryState::Cancelled];

impl NotificationsView {
    /// The rows shown: the list, through the filter (a retrying one is due).
    pub fn shown(&self) -> Vec<&Page> {
        let wanted = |p: &&Page| match self.filter {
            None => true,
            Some(DeliveryState::Pending) => matches!(p.state, DeliveryState::Pending | DeliveryState::Sending),
            Some(s) => p.state == s,
        };
        self.list.iter().flat_map(|l| &l.notifications).filter(wanted).collect()
    }

    pub fn selected_page(&self) -> Option<&Page> {
        let shown = self.shown();
        self.selected.row(shown.iter().map(|p| &p.id)).map(|n| shown[n])
    }

    /// A fresh list: the selection stays on its notification while listed.
    fn keep(&mut self, list: PageList) {
        let was = self.row().unwrap_or(0);
        self.list = Some(list);
        let ids: Vec<String> = self.shown().iter().map(|p| p.id.clone()).collect();
        self.selected.settle_at(&ids, was);
    }

    /// The selected row.
    pub fn row(&self) -> Option<usize> {
        self.selected.row(self.shown().iter().map(|p| &p.id))
    }

    fn handle_key(&mut self, action: KeyAction) -> Step {
        match action {
            KeyAction::NextFilter => {
                self.filter = match self.filter {
                    None => Some(FILTERS[0]),
                    Some(f) => FILTERS.iter().skip_while(|x| **x != f).nth(1).copied(),
                };
                let ids: Vec<String> = self.shown().iter().map(|p| p.id.clone()).collect();
                self.selected.settle_at(&ids, 0);
                Step::Stay
            }
            KeyAction::Open => self.selected_page().map_or(Step::Stay, |p| Step::Show(Box::new(reading(p)))),
            _ => {
                let ids: Vec<String> = self.shown().iter().map(|p| p.id.clone()).collect();
                self.selected.on_key(action, &ids)
            }
        }
    }
}

/// One notification, whole.
fn reading(p: &Page) -> Reading {
    let at = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S").to_string();
    let mut fields = vec![
        (
            "state".to_owned(),
            format!("{} after {} attempt{}", p.state, p.attempts, if p.attempts == 1 { "" } else { "s" }),
        ),
        (
            "incident".to_owned(),
            if p.incident_id == 0 { "none (a digest or notice)".to_owned() } else { format!("#{}", p.incident_id) },
        ),
        (
            "what".to_owned(),
            if p.kind == NoticeKind::Page { format!("page, level {}", p.level) } else { p.kind.to_string() },
        ),
        ("to".to_owned(), format!("{} via {}", p.target, p.channel)),
        ("urgency".to_owned(), p.urgency.to_string()),
        ("why".to_owned(), p.reason.clone()),
        ("due".to_owned(), at(p.due_at)),
        ("next attempt".to_owned(), at(p.next_attempt_at)),
    ];
    if let Some(sent) = p.sent_at {
        fields.push(("sent".to_owned(), at(sent)));
    }
    if let Some(answer) = &p.last_error {
        fields.push(("receiver's answer".to_owned(), answer.clone()));
    }
    if let Some(delivery) = &p.delivery {
        fields.push(("delivery".to_owned(), delivery.clone()));
    }
    fields.push(("id".to_owned(), p.id.clone()));
    Reading { title: format!("Notification to {}", p.target), fields }
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
        notifications(app, self, theme, frame, area)
    }
}

/// `:notifications`: every delivery, newest due first, with its state and
/// the receiver's error; `R` retries a dead one.
fn notifications(app: &App, view: &NotificationsView, theme: &Theme, frame: &mut Frame, area: Rect) {
    // Every state's count, and the filter when one is on.
    let counts = view
        .list
        .as_ref()
        .map(|l| {
            let n = |s: DeliveryState| l.counts.iter().find(|c| c.state == s).map_or(0, |c| c.count);
            let filter = view
                .filter
                .map(|f| {
                    format!(" · showing {}", if f == DeliveryState::Pending { "due".to_owned() } else { f.to_string() })
                })
                .unwrap_or_default();
            format!(
                " Notifications — {} due, {} sent, {} dead, {} cancelled{filter} ",
                n(DeliveryState::Pending) + n(DeliveryState::Sending),
                n(DeliveryState::Sent),
                n(DeliveryState::Dead),
                n(DeliveryState::Cancelled)
            )
        })
        .unwrap_or_else(|| " Notifications ".to_owned());
    let block = titled(theme, counts);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(_) = &view.list else { return not_known(app, theme, frame, inner, "the notifications") };
    let shown = view.shown();
    if shown.is_empty() {
        let text = match view.filter {
            None => "No notifications: nothing has been paged yet.".to_owned(),
            Some(_) => "None in this state among the latest 200 (f shows the next state).".to_owned(),
        };
        let text = Line::from(Span::styled(text, theme.style(K::Muted)));
        frame.render_widget(ratatui::widgets::Paragraph::new(text), inner);
        return;
    }
    let wide = inner.width >= 110;
    let mut columns = vec![
        ("AT", Constraint::Length(8)),
        ("STATE", Constraint::Length(11)),
        ("INC", Constraint::Length(5)),
        ("TARGET", Constraint::Length(18)),
        ("CHANNEL", Constraint::Length(9)),
    ];
    if wide {
        columns.extend([("LEVEL", Constraint::Length(12)), ("TRY", Constraint::Length(3))]);
    }
    columns.push(("RECEIVER'S ANSWER", Constraint::Fill(1)));
    let columns: Vec<(String, Constraint)> = columns.into_iter().map(|(n, w)| (n.to_owned(), w)).collect();
    let selected = view.row().unwrap_or(0);
    crate::console::view::list_table(theme, frame, inner, &columns, (shown.len(), selected), |n, _, cols| {
        let p = shown[n];
        let error = p.last_error.clone().unwrap_or_default();
        let mut cells = vec![
            // When it went; when it goes next (its order here); or when it was due.
            Cell::from(
                match (p.sent_at, p.state) {
                    (Some(sent), _) => sent,
                    (None, DeliveryState::Pending | DeliveryState::Sending) => p.next_attempt_at,
                    (None, _) => p.due_at,
                }
                .format("%H:%M:%S")
                .to_string(),
            ),
            Cell::from(mark(theme, p)),
            Cell::from(if p.incident_id == 0 { "—".to_owned() } else { format!("#{}", p.incident_id) }),
            Cell::from(ellipsize(
                &match (wide, p.kind) {
                    (false, NoticeKind::Acknowledged) => format!("{} (ack)", p.target),
                    (false, NoticeKind::Resolved) => format!("{} (resolved)", p.target),
                    _ => p.target.clone(),
                },
                cols[4],
            )),
            Cell::from(p.channel.clone()),
        ];
        if wide {
            let what = if p.kind == NoticeKind::Page { p.level.clone() } else { p.kind.to_string() };
            cells.push(Cell::from(ellipsize(&what, cols[6])));
            cells.push(Cell::from(p.attempts.to_string()));
        }
        let style = theme.style(if p.state == DeliveryState::Dead { K::Error } else { K::Muted });
        cells.push(Cell::from(Span::styled(ellipsize(&error, *cols.last().unwrap_or(&10)), style)));
        cells
    });
}

/// What a delivery state looks like: a mark and a style.
fn mark(theme: &Theme, p: &Page) -> Span<'static> {
    match (p.state, p.attempts) {
        (DeliveryState::Sent, _) => Span::styled("✓ sent", theme.style(K::Success)),
        (DeliveryState::Dead, _) => Span::styled("✗ DEAD", theme.style(K::Error)),
        (DeliveryState::Sending, _) => Span::styled("→ sending", theme.style(K::Accent)),
        (DeliveryState::Pending, 0) => Span::styled("… due", theme.style(K::Muted)),
        (DeliveryState::Pending, _) => Span::styled("↻ retrying", theme.style(K::Warning)),
        (DeliveryState::Cancelled, _) => Span::styled("– cancelled", theme.style(K::Muted)),
    }
}
