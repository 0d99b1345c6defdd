//! The screens, each owning its state and its keys: the incident list, an
//! incident, its blast radius and root causes, activity, agents, the audit
//! log, attribution, routing, notifications, calibration and patterns. The app keeps what they share (the incidents, the
//! open incident's detail, the connection, the operator) and a stack of
//! screens; the top one takes the keys that no overlay took.

mod activity;
mod agents;
mod attribution;
mod audit;
mod blast_radius;
mod calibration;
mod incident;
mod list;
mod notifications;
mod patterns;
mod root_causes;
mod routing;

pub use activity::{ActivityView, DIMENSIONS};
pub use agents::AgentsView;
pub use attribution::AttributionView;
pub use audit::AuditView;
pub use blast_radius::BlastView;
pub use calibration::CalibrationView;
pub use incident::IncidentView;
pub use list::{IncidentList, SortKey};
pub use notifications::NotificationsView;
pub use patterns::PatternsView;
pub use root_causes::CausesView;
pub use routing::RoutingView;

use super::app::{Screen, Watch};
use super::keymap::{KeyAction, Mode};
use crate::api::IncidentDetail;
use std::cell::Cell;

/// One entry of the screen stack, with its state.
#[derive(Debug, Clone)]
pub enum View {
    /// The list's state lives in the app: it is always at the bottom.
    Incidents,
    Incident(IncidentView),
    BlastRadius(BlastView),
    RootCauses(CausesView),
    Activity(ActivityView),
    Agents(AgentsView),
    Audit(AuditView),
    Attribution(AttributionView),
    Routing(RoutingView),
    Notifications(NotificationsView),
    Calibration(CalibrationView),
    Patterns(PatternsView),
}

/// What a screen made of a key.
#[derive(Debug)]
pub enum Step {
    /// Handled: the screen changed itself.
    Stay,
    /// Not a key of this screen.
    Unhandled,
    /// Open a screen above this one.
    Push(View),
    /// Replace this screen (blast radius and root causes take each other's place).
    Swap(View),
    /// Back to where this screen was opened from.
    Back,
}

impl View {
    /// Which screen this is, without its state.
    pub fn screen(&self) -> Screen {
        match self {
            View::Incidents => Screen::Incidents,
            View::Incident(v) => Screen::Incident { id: v.id, level: v.level },
            View::BlastRadius(v) => Screen::BlastRadius { id: v.id },
            View::RootCauses(v) => Screen::RootCauses { id: v.id },
            View::Activity(_) => Screen::Activity,
            View::Agents(_) => Screen::Agents,
            View::Audit(_) => Screen::Audit,
            View::Attribution(_) => Screen::Attribution,
            View::Routing(_) => Screen::Routing,
            View::Notifications(_) => Screen::Notifications,
            View::Calibration(_) => Screen::Calibration,
            View::Patterns(_) => Screen::Patterns,
        }
    }

    /// Whose keys apply, and whose keys help lists.
    pub fn mode(&self) -> Mode {
        match self {
            View::Incidents => Mode::Incidents,
            View::Incident(_) => Mode::Incident,
            View::BlastRadius(_) => Mode::BlastRadius,
            View::RootCauses(_) => Mode::RootCauses,
            View::Activity(_) => Mode::Activity,
            View::Agents(_) => Mode::Agents,
            View::Audit(_) => Mode::Audit,
            View::Attribution(_) => Mode::Attribution,
            View::Routing(_) => Mode::Routing,
            View::Notifications(_) => Mode::Notifications,
            View::Calibration(_) => Mode::Calibration,
            View::Patterns(_) => Mode::Patterns,
        }
    }

    /// What the poller should fetch while this screen is shown.
    pub fn watch(&self) -> Watch {
        match self {
            View::Incidents => Watch::Nothing,
            View::Incident(IncidentView { id, .. }) | View::BlastRadius(BlastView { id, .. }) => Watch::Incident(*id),
            View::RootCauses(CausesView { id, .. }) => Watch::Incident(*id),
            View::Activity(v) => Watch::Activity(v.dimension),
            View::Agents(_) => Watch::Agents,
            View::Audit(_) => Watch::Audit,
            View::Attribution(_) => Watch::Attribution,
            View::Routing(_) => Watch::Routing,
            View::Notifications(_) => Watch::Notifications,
            View::Calibration(_) => Watch::Calibration,
            View::Patterns(_) => Watch::Patterns,
        }
    }

    /// The incident this screen is about, if any.
    pub fn incident(&self) -> Option<i64> {
        match self {
            View::Incident(IncidentView { id, .. }) | View::BlastRadius(BlastView { id, .. }) => Some(*id),
            View::RootCauses(CausesView { id, .. }) => Some(*id),
            _ => None,
        }
    }

    /// A key for this screen (not the list's: the app holds that state).
    /// `detail` is the open incident's, once it has arrived.
    pub fn on_key(&mut self, action: KeyAction, detail: Option<&IncidentDetail>) -> Step {
        match self {
            View::Incidents => Step::Unhandled,
            View::Incident(v) => v.on_key(action),
            View::BlastRadius(v) => v.on_key(action, detail),
            View::RootCauses(v) => v.on_key(action, detail),
            View::Activity(v) => v.on_key(action),
            View::Agents(v) => v.on_key(action),
            View::Audit(v) => v.scroll.on_key(action),
            View::Attribution(v) => v.on_key(action),
            View::Routing(v) => v.scroll.on_key(action),
            View::Notifications(v) => v.on_key(action),
            View::Calibration(v) => v.scroll.on_key(action),
            View::Patterns(v) => v.scroll.on_key(action),
        }
    }
}

/// The scroll of a text screen. The view sets `limit` when it draws (it alone
/// knows the width lines wrap to); `G` goes there, and scrolling up from past
/// it starts from there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scroll {
    pub top: u16,
    pub limit: Cell<u16>,
}

/// Lines a page key moves.
const PAGE: u16 = 10;

impl Scroll {
    pub fn on_key(&mut self, action: KeyAction) -> Step {
        let limit = self.limit.get();
        let at = self.top.min(limit);
        self.top = match action {
            KeyAction::Up => at.saturating_sub(1),
            KeyAction::Down => at.saturating_add(1).min(limit),
            KeyAction::PageUp => at.saturating_sub(PAGE),
            KeyAction::PageDown => at.saturating_add(PAGE).min(limit),
            KeyAction::Top => 0,
            KeyAction::Bottom => limit,
            _ => return Step::Unhandled,
        };
        Step::Stay
    }
}

/// The index `action` moves a selection at `at` in `len` items to.
pub(crate) fn step(at: usize, len: usize, action: KeyAction) -> Option<usize> {
    let last = len.saturating_sub(1);
    Some(match action {
        KeyAction::Up => at.saturating_sub(1),
        KeyAction::Down => (at + 1).min(last),
        KeyAction::PageUp => at.saturating_sub(PAGE as usize),
        KeyAction::PageDown => (at + PAGE as usize).min(last),
        KeyAction::Top => 0,
        KeyAction::Bottom => last,
        _ => return None,
    })
}
