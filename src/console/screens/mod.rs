//! The screens, one file each, named as its `:` command or key opens it:
//! `incidents` (the list), `incident`, `blast_radius`, `root_causes`,
//! `activity`, `agents`, `audit`, `attribution`, `routing`, `notifications`,
//! `calibration`, `patterns`, `silences` and `approvals`. Each file holds the screen's state, the keys
//! it takes, the data it receives and how it is drawn, behind [`Component`].
//! The app keeps what they share (the incidents, the open incident's
//! detail, the connection, the operator) and a stack of screens; the top
//! one takes the keys that no overlay took.

mod activity;
mod agents;
mod approvals;
mod attribution;
mod audit;
mod blast_radius;
mod calibration;
mod incident;
mod incidents;
mod notifications;
mod patterns;
mod root_causes;
mod routing;
mod selection;
mod silences;

pub use activity::{ActivityView, DIMENSIONS};
pub use agents::AgentsView;
pub use approvals::{ApprovalsView, state_words as approval_state_words};
pub use attribution::AttributionView;
pub use audit::AuditView;
pub use blast_radius::BlastRadiusView;
pub use calibration::CalibrationView;
pub use incident::IncidentView;
pub use incidents::{IncidentList, SortKey};
pub use notifications::NotificationsView;
pub use patterns::PatternsView;
pub use root_causes::RootCausesView;
pub use routing::RoutingView;
pub use selection::Selection;
use selection::moved as step;
pub use silences::{SilencesView, until_words};

use super::app::{App, Screen, Watch};
use super::keymap::{KeyAction, Mode};
use super::theme::Theme;
use crate::api::{
    AgentSummary, AuditPage, Calibration, Distribution, IncidentDetail, PageList, PatternList, RolloutStatus,
    RoutingUsage, RuleList, SuggestionStats,
};
use crate::routing::RoutingDocument;
use ratatui::Frame;
use ratatui::layout::Rect;
use std::cell::Cell;

/// A console screen: its state, the keys it takes, the data it receives
/// and how it is drawn. Each screen's file implements it; [`View`] is the
/// stack's entry, dispatching to the screen it holds.
pub trait Component {
    /// Which screen this is, without its state.
    fn screen(&self) -> Screen;
    /// Whose keys apply, and whose keys help lists.
    fn mode(&self) -> Mode;
    /// What the poller fetches while this screen is shown.
    fn watch(&self) -> Watch;
    /// The incident this screen is about, if any.
    fn incident(&self) -> Option<i64> {
        None
    }
    /// A key for this screen; `detail` is the open incident's, once it has arrived.
    fn on_key(&mut self, action: KeyAction, detail: Option<&IncidentDetail>) -> Step;
    /// Data the poller fetched for it; whether it kept it (and so whether
    /// anything visible changed).
    fn receive(&mut self, _data: ScreenData) -> bool {
        false
    }
    /// Draws it in `area`, below the status bar and above the key line.
    fn draw(&self, app: &App, theme: &Theme, frame: &mut Frame, area: Rect);
}

/// What the poller fetches for the screen shown (see [`Watch`]).
#[derive(Debug, Clone)]
pub enum ScreenData {
    Distribution(Box<Distribution>),
    Agents(Vec<AgentSummary>),
    Audit(Box<AuditPage>),
    Attribution(Box<RolloutStatus>),
    Calibration(Box<Calibration>),
    SuggestionStats(Box<SuggestionStats>),
    Patterns(Box<PatternList>),
    Rules(Box<RuleList>),
    /// The routing in force, and how often its rules matched.
    Routing(Box<RoutingDocument>),
    RoutingUsage(Box<RoutingUsage>),
    /// Deliveries, for `:notifications`.
    Notifications(Box<PageList>),
    Silences(Box<crate::api::SilenceList>),
    Approvals(Box<crate::api::ApprovalList>),
}

/// One entry of the screen stack, with its state.
#[derive(Debug, Clone)]
pub enum View {
    /// The list's state lives in the app: it is always at the bottom.
    Incidents,
    Incident(IncidentView),
    BlastRadius(BlastRadiusView),
    RootCauses(RootCausesView),
    Activity(ActivityView),
    Agents(AgentsView),
    Audit(AuditView),
    Attribution(AttributionView),
    Routing(RoutingView),
    Notifications(NotificationsView),
    Calibration(CalibrationView),
    Patterns(PatternsView),
    Silences(SilencesView),
    Approvals(ApprovalsView),
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
    /// Show one entry whole, over the screen (an audit entry, a notification).
    Show(Box<Reading>),
}

/// One entry of a list, whole: what a row cuts short, read at leisure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub title: String,
    /// (label, value); a value may be long, and wraps.
    pub fields: Vec<(String, String)>,
}

/// The one dispatch over the stack's entries: `$list` for the incident
/// list (whose state the app holds), `$body` with `$s` bound to any other
/// screen.
macro_rules! each_screen {
    ($view:expr, list => $list:expr, $s:ident => $body:expr) => {
        match $view {
            View::Incidents => $list,
            View::Incident($s) => $body,
            View::BlastRadius($s) => $body,
            View::RootCauses($s) => $body,
            View::Activity($s) => $body,
            View::Agents($s) => $body,
            View::Audit($s) => $body,
            View::Attribution($s) => $body,
            View::Routing($s) => $body,
            View::Notifications($s) => $body,
            View::Calibration($s) => $body,
            View::Patterns($s) => $body,
            View::Silences($s) => $body,
            View::Approvals($s) => $body,
        }
    };
}

impl View {
    pub fn screen(&self) -> Screen {
        each_screen!(self, list => Screen::Incidents, s => s.screen())
    }

    pub fn mode(&self) -> Mode {
        each_screen!(self, list => Mode::Incidents, s => s.mode())
    }

    pub fn watch(&self) -> Watch {
        each_screen!(self, list => Watch::Nothing, s => s.watch())
    }

    pub fn incident(&self) -> Option<i64> {
        each_screen!(self, list => None, s => s.incident())
    }

    /// A key for this screen (not the list's: the app holds that state).
    pub fn on_key(&mut self, action: KeyAction, detail: Option<&IncidentDetail>) -> Step {
        each_screen!(self, list => Step::Unhandled, s => s.on_key(action, detail))
    }

    pub fn receive(&mut self, data: ScreenData) -> bool {
        each_screen!(self, list => false, s => s.receive(data))
    }

    pub fn draw(&self, app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
        each_screen!(self, list => incidents::draw(app, theme, frame, area), s => s.draw(app, theme, frame, area))
    }
}

/// The scroll of a text screen. The view sets `limit` when it draws (it alone
/// knows the width lines wrap to); `G` goes there, and scrolling up from past
/// it starts from there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scroll {
    pub top: u16,
    pub limit: Cell<u16>,
    /// Where the view last drew from, when something else (a selection kept
    /// in sight) decided it: the next page key starts there.
    pub drawn: Cell<u16>,
}

/// Lines a page key moves.
const PAGE: u16 = 10;

impl Scroll {
    /// Scrolled to the end (the view clamps it to what there is).
    pub fn at_end() -> Scroll {
        Scroll { top: u16::MAX, limit: Cell::new(0), drawn: Cell::new(0) }
    }

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
