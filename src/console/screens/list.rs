//! The incident list: its selection, filter and sort, and the rows they
//! give, computed when data, filter or sort change, never while drawing.

use super::{IncidentView, Step, View};
use crate::api::{IncidentStatus, IncidentSummary, Severity};
use crate::console::keymap::KeyAction;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Severity,
    Newest,
    Status,
}

impl SortKey {
    pub fn label(self) -> &'static str {
        match self {
            SortKey::Severity => "severity",
            SortKey::Newest => "newest",
            SortKey::Status => "status",
        }
    }

    fn next(self) -> SortKey {
        match self {
            SortKey::Severity => SortKey::Newest,
            SortKey::Newest => SortKey::Status,
            SortKey::Status => SortKey::Severity,
        }
    }
}

#[derive(Debug, Clone)]
pub struct IncidentList {
    pub selected: Option<i64>,
    /// `!` inverts it.
    pub filter: String,
    /// The filter as it was when editing began, for Esc to restore.
    pub filter_before_edit: Option<String>,
    pub sort: SortKey,
    /// The rows: indices into the incidents, filtered and sorted.
    order: Vec<usize>,
}

impl Default for IncidentList {
    fn default() -> Self {
        IncidentList {
            selected: None,
            filter: String::new(),
            filter_before_edit: None,
            sort: SortKey::Severity,
            order: vec![],
        }
    }
}

fn severity_rank(s: &IncidentSummary) -> u8 {
    match s.severity {
        Severity::Critical => 0,
        Severity::High => 1,
        Severity::Medium => 2,
        Severity::Low => 3,
    }
}

fn status_rank(s: &IncidentSummary) -> u8 {
    match s.status {
        IncidentStatus::Open => 0,
        IncidentStatus::Acknowledged => 1,
        IncidentStatus::Resolved => 2,
    }
}

impl IncidentList {
    /// How many rows the list shows.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Rows `skip..skip + take`, for drawing only what fits.
    pub fn rows<'a>(
        &'a self,
        incidents: &'a [IncidentSummary],
        skip: usize,
        take: usize,
    ) -> impl Iterator<Item = &'a IncidentSummary> {
        self.order.iter().skip(skip).take(take).map(|&i| &incidents[i])
    }

    /// Position of the selected incident among the rows.
    pub fn selected_row(&self, incidents: &[IncidentSummary]) -> Option<usize> {
        let id = self.selected?;
        self.order.iter().position(|&i| incidents[i].id == id)
    }

    /// Recomputes the rows; the selection stays on the same incident across
    /// refreshes, and moves to the first row if that incident is gone.
    pub fn refresh(&mut self, incidents: &[IncidentSummary]) {
        let (inverse, needle) = match self.filter.strip_prefix('!') {
            Some(rest) => (true, rest.to_lowercase()),
            None => (false, self.filter.to_lowercase()),
        };
        let mut order: Vec<usize> = (0..incidents.len())
            .filter(|&n| {
                if needle.is_empty() {
                    return true;
                }
                let i = &incidents[n];
                let hay = format!("{} #{} {} {} {}", i.title, i.id, i.status, i.severity, i.resources.join(" "))
                    .to_lowercase();
                hay.contains(&needle) != inverse
            })
            .collect();
        match self.sort {
            SortKey::Severity => order.sort_by_key(|&n| {
                let i = &incidents[n];
                (severity_rank(i), status_rank(i), std::cmp::Reverse(i.started_at), i.id)
            }),
            SortKey::Newest => order.sort_by_key(|&n| (std::cmp::Reverse(incidents[n].started_at), incidents[n].id)),
            SortKey::Status => order.sort_by_key(|&n| {
                let i = &incidents[n];
                (status_rank(i), severity_rank(i), std::cmp::Reverse(i.started_at))
            }),
        }
        self.order = order;
        if self.selected_row(incidents).is_none() {
            self.selected = self.order.first().map(|&i| incidents[i].id);
        }
    }

    pub fn on_key(&mut self, action: KeyAction, incidents: &[IncidentSummary]) -> Step {
        match action {
            KeyAction::SortNext => {
                self.sort = self.sort.next();
                self.refresh(incidents);
            }
            KeyAction::Open => match self.selected {
                Some(id) => return Step::Push(View::Incident(IncidentView::new(id))),
                None => return Step::Unhandled,
            },
            _ => {
                let at = self.selected_row(incidents).unwrap_or(0);
                let Some(row) = super::step(at, self.order.len(), action) else { return Step::Unhandled };
                self.selected = self.order.get(row).map(|&i| incidents[i].id);
            }
        }
        Step::Stay
    }
}
