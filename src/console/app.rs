//! The console's state and the one function that changes it. `update` is
//! plain code: every key press and every API answer is an [`Action`], and
//! what must happen outside (fetch, quit) comes back as [`Effect`]s.

use super::blast;
use super::intent::{self, Dialog, Intent, Plan};
use super::keymap::{KeyAction, Keymap, Mode};
pub use super::overlay::{Input, Overlay};
pub use super::screens::DIMENSIONS;
pub use super::screens::SortKey;
use super::screens::{
    ActivityView, AgentsView, ApprovalsView, AttributionView, AuditView, CalibrationView, IncidentList, IncidentView,
    NotificationsView, PatternsView, RoutingView, ScreenData, Scroll, SilencesView, Step, View,
};
use crate::api::{
    AgentSummary, Candidate, Dimension, IncidentDetail, IncidentPage, IncidentSummary, StatusCounts, WhoAmI,
};
use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::HashMap;

/// The most incidents the console holds: the newest, by start.
pub const MAX_INCIDENTS: usize = 50_000;

/// Everything that can happen to the console.
#[derive(Debug, Clone)]
pub enum Action {
    Key(KeyEvent),
    /// Text the terminal marked as pasted, or keys that arrived in a burst:
    /// never taken as commands.
    Paste(String),
    Resize,
    /// Once a second: ages and staleness may need redrawing.
    Tick(DateTime<Utc>),
    /// The whole incident list.
    Incidents(Box<IncidentPage>, DateTime<Utc>),
    /// Only the incidents that changed since the list the console has.
    IncidentChanges(Box<IncidentPage>, DateTime<Utc>),
    /// The server confirmed, at this time, that nothing changed.
    Confirmed(DateTime<Utc>),
    Detail(Box<IncidentDetail>),
    /// Who the token is, and what the server said of its version.
    Whoami(WhoAmI, Option<String>),
    /// Data for the screen shown (see [`Watch`]): it goes to that screen, if
    /// it is still the one shown.
    Data(ScreenData),
    /// How the operator judges causes: prompts for the root-cause screen.
    Reliance(Box<crate::api::Reliance>),
    /// Every stop in force, with whether each holds (agents and incident screens).
    Stops(Vec<crate::api::StopSummary>),
    /// The approval requests and the friction report (every screen: the
    /// status bar counts the waiting ones).
    Approvals(Box<crate::api::ApprovalList>),
    /// The impact of an incident, measured by the server's Prometheus.
    Impact(Box<crate::api::ImpactReport>),
    /// The server's answer to an intent: its message, or its error.
    Sent {
        key: String,
        outcome: Result<String, String>,
    },
    /// A screen's data could not be fetched; the feed may still be live.
    FetchFailed(String),
    /// The API could not be reached; the reason is shown.
    Offline(String),
    /// The API refused the token (401): retrying will not help.
    Unauthorized(String),
    /// The console now talks to this server (one of several given).
    Server(String),
    /// The server has no incident with this number (404).
    IncidentMissing(i64),
    /// A resolved incident's draft postmortem, in Markdown.
    Postmortem(i64, String),
}

/// What the poller fetches besides the incident feed: the screen's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watch {
    Nothing,
    Incident(i64),
    Activity(Dimension),
    Agents,
    Audit,
    Attribution,
    Routing,
    Notifications,
    Calibration,
    Patterns,
    Silences,
}

/// What the outside world must do after an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Quit,
    /// Fetch and keep fetching what this screen shows.
    Watch(Watch),
    Refresh,
    SetTheme(String),
    /// Send an intervention or verdict (retries reuse its Idempotency-Key).
    Send(Intent),
    /// Put text on the clipboard with OSC 52.
    Copy(String),
    /// Fetch one incident's detail once (an intervention from the list
    /// needs what the detail says).
    FetchDetail(i64),
    /// Fetch a resolved incident's draft postmortem.
    FetchPostmortem(i64),
    /// Write the draft to `incident-ID-postmortem.md` and the clipboard.
    SavePostmortem(i64, String),
}

/// Which screen is shown, without its state: for tests, the poller and
/// the views to match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Incidents,
    /// An incident at disclosure level 1, 2 or 3 (seed 12.4).
    Incident {
        id: i64,
        level: u8,
    },
    BlastRadius {
        id: i64,
    },
    RootCauses {
        id: i64,
    },
    Activity,
    Agents,
    Audit,
    Attribution,
    Routing,
    Notifications,
    Calibration,
    Patterns,
    Silences,
    Approvals,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// Nothing heard yet.
    Connecting,
    Live,
    /// The last answer was an error; data is kept and shown with its age.
    Offline {
        reason: String,
        since: DateTime<Utc>,
    },
    /// The server refused the token: nothing can be known until it changes.
    Unauthorized {
        reason: String,
    },
}

/// The `:` commands, for completion.
pub const COMMANDS: &[&str] = &[
    "incidents",
    "activity",
    "agents",
    "audit",
    "attribution",
    "routing",
    "notifications",
    "silences",
    "approvals",
    "calibration",
    "patterns",
    "messages",
    "theme",
    "q",
    "quit",
];

/// What the screens share; each screen's own state is in the stack.
#[derive(Debug, Clone)]
pub struct App {
    /// The screen stack: the list at the bottom, the shown screen on top.
    pub screens: Vec<View>,
    pub incidents: Vec<IncidentSummary>,
    pub counts: StatusCounts,
    pub version: i64,
    /// The list's selection, filter, sort and rows.
    pub list: IncidentList,
    /// Help, a text line, a dialog or the quit prompt, over the screen.
    pub overlay: Option<Overlay>,
    /// The open incident's detail, shared by its screens.
    pub detail: Option<IncidentDetail>,
    pub connection: Connection,
    pub data_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
    pub operator: Option<WhoAmI>,
    pub host: String,
    /// The server's version and API, as it said them; None: not heard yet.
    pub server_version: Option<String>,
    pub environment: Option<String>,
    pub readonly: bool,
    /// For each incident, the version the operator last looked at: on the
    /// first load, everything listed; then what they open. A row whose
    /// version is newer is marked changed.
    pub seen: HashMap<i64, i64>,
    pub message: Option<String>,
    pub loaded_once: bool,
    /// Intents sent and not yet answered: (Idempotency-Key, label).
    pub pending: Vec<(String, String)>,
    /// An incident the server said does not exist.
    pub missing: Option<i64>,
    /// What the operator is told about how they judge causes (seed 11.3).
    pub reliance: Option<crate::api::Reliance>,
    /// Every stop in force, as last fetched; None: not known.
    pub stops: Option<Vec<crate::api::StopSummary>>,
    /// The approval requests, as last fetched; None: not known.
    pub approvals: Option<crate::api::ApprovalList>,
    /// An intervention key pressed on an incident whose detail had not
    /// arrived: the detail is fetched, then the key acts as if it had.
    pub awaiting: Option<(KeyAction, i64)>,
    /// Whether the server's paging can wake anyone (from the feed).
    pub paging: Option<crate::api::PagingHealth>,
    /// Open degradations and slow-burn rules not healthy, as the list said last.
    pub watch: crate::api::DegradationList,
    /// The last impact measured of the incident on screen.
    pub impact: Option<crate::api::ImpactReport>,
    /// Every notice and outcome shown on the bottom line, oldest first, at
    /// most [`MESSAGES_KEPT`]: `:messages` reads them again.
    pub messages: std::collections::VecDeque<(DateTime<Utc>, String)>,
}

/// How many bottom-line messages `:messages` keeps.
pub const MESSAGES_KEPT: usize = 200;

impl App {
    pub fn new(host: &str, environment: Option<String>, readonly: bool, now: DateTime<Utc>) -> App {
        App {
            screens: vec![View::Incidents],
            incidents: vec![],
            counts: StatusCounts::default(),
            version: 0,
            list: IncidentList::default(),
            overlay: None,
            detail: None,
            connection: Connection::Connecting,
            data_at: None,
            now,
            operator: None,
            host: host.to_owned(),
            server_version: None,
            environment,
            readonly,
            seen: HashMap::new(),
            message: None,
            loaded_once: false,
            pending: Vec::new(),
            missing: None,
            reliance: None,
            stops: None,
            approvals: None,
            awaiting: None,
            paging: None,
            watch: Default::default(),
            impact: None,
            messages: std::collections::VecDeque::new(),
        }
    }

    /// The confirmation dialog, when one is up.
    pub fn dialog(&self) -> Option<&Dialog> {
        match &self.overlay {
            Some(Overlay::Dialog(d)) => Some(d),
            _ => None,
        }
    }

    pub fn dialog_mut(&mut self) -> Option<&mut Dialog> {
        match &mut self.overlay {
            Some(Overlay::Dialog(d)) => Some(d),
            _ => None,
        }
    }

    /// The screen shown, with its state.
    pub fn view(&self) -> &View {
        self.screens.last().expect("there is always a screen")
    }

    pub fn screen(&self) -> Screen {
        self.view().screen()
    }

    /// The mode of the screen: whose keys apply, and whose keys help lists.
    pub fn mode(&self) -> Mode {
        self.view().mode()
    }

    /// What the poller should fetch for the screen shown.
    pub fn watch(&self) -> Watch {
        self.view().watch()
    }

    /// The incident the operator is looking at: the open one, or the
    /// list's selection.
    pub fn focused_incident(&self) -> Option<i64> {
        match self.view() {
            View::Incidents => self.list.selected(),
            view => view.incident(),
        }
    }

    /// An incident's row in the list, when the list holds it.
    pub fn summary(&self, id: i64) -> Option<&crate::api::IncidentSummary> {
        self.incidents.iter().find(|i| i.id == id)
    }

    /// The detail of the focused incident, once it has arrived.
    pub fn focused_detail(&self) -> Option<&IncidentDetail> {
        let id = self.focused_incident()?;
        self.detail.as_ref().filter(|d| d.summary.id == id)
    }

    /// The selected root-cause candidate, on the root-cause screen.
    pub fn selected_candidate(&self) -> Option<&Candidate> {
        match self.view() {
            View::RootCauses(v) => v.candidate(self.focused_detail()?),
            _ => None,
        }
    }

    /// The selected approval request, on the approvals screen.
    pub fn selected_approval(&self) -> Option<&crate::api::ApprovalRequest> {
        match self.screens.last()? {
            View::Approvals(v) => v.selected_approval(),
            _ => None,
        }
    }

    /// How many approval requests wait for a person; None: not known.
    pub fn approvals_waiting(&self) -> Option<i64> {
        self.approvals.as_ref().map(|l| l.waiting)
    }

    /// The selected silence, on the silences screen.
    pub fn selected_silence(&self) -> Option<&crate::api::Silence> {
        match self.screens.last()? {
            View::Silences(v) => v.selected_silence(),
            _ => None,
        }
    }

    /// The selected notification, on the notifications screen.
    pub fn selected_notification(&self) -> Option<&crate::api::Page> {
        match self.screens.last()? {
            View::Notifications(v) => v.selected_page(),
            _ => None,
        }
    }

    /// The selected agent, on the agents screen.
    pub fn selected_service(&self) -> Option<&crate::api::ServiceCompliance> {
        match self.view() {
            View::Attribution(v) => v.selected_service(),
            _ => None,
        }
    }

    pub fn selected_agent(&self) -> Option<&AgentSummary> {
        match self.view() {
            View::Agents(v) => v.selected_agent(),
            _ => None,
        }
    }

    /// The agents as the agents screen last listed them, if it is open.
    pub fn known_agents(&self) -> Option<Vec<String>> {
        self.screens.iter().rev().find_map(|v| match v {
            View::Agents(v) => v.agents.as_ref().map(|a| a.iter().map(|a| a.agent_id.clone()).collect()),
            _ => None,
        })
    }

    /// The blast-radius tree of the focused incident.
    pub fn blast_nodes(&self) -> Vec<blast::Node> {
        self.focused_detail().map(|d| blast::nodes(&d.blast_radius)).unwrap_or_default()
    }

    /// The rows the list shows, in order: filtered (`!` inverts), then sorted.
    pub fn visible(&self) -> Vec<&IncidentSummary> {
        self.list.rows(&self.incidents, 0, usize::MAX).collect()
    }

    /// How many rows the list shows.
    pub fn row_count(&self) -> usize {
        self.list.len()
    }

    /// Rows `skip..skip + take` of the list, for drawing only what fits.
    pub fn rows(&self, skip: usize, take: usize) -> impl Iterator<Item = &IncidentSummary> {
        self.list.rows(&self.incidents, skip, take)
    }

    /// Position of the selected incident in the list.
    pub fn selected_row(&self) -> Option<usize> {
        self.list.selected_row(&self.incidents)
    }

    /// A list or its changes arrived: the console is live at `version`.
    /// Incidents listed: on the first load they count as looked at; one
    /// first listed later has not been.
    fn note_listed(&mut self, listed: &[IncidentSummary]) {
        for i in listed {
            let seen = if self.loaded_once { 0 } else { i.version };
            self.seen.entry(i.id).or_insert(seen);
        }
    }

    /// The operator looks at incident `id` as it is now.
    pub fn looked_at(&mut self, id: i64) {
        let version = self.incidents.iter().find(|i| i.id == id).map(|i| i.version);
        let detail = self.detail.as_ref().filter(|d| d.summary.id == id).map(|d| d.summary.version);
        let now = version.max(detail).unwrap_or(0);
        let seen = self.seen.entry(id).or_insert(now);
        *seen = (*seen).max(now);
    }

    /// Whether the incident changed since the operator last looked at it.
    pub fn changed_since_seen(&self, i: &IncidentSummary) -> bool {
        self.seen.get(&i.id).is_some_and(|v| i.version > *v)
    }

    fn received(&mut self, version: i64, counts: StatusCounts, at: DateTime<Utc>) {
        self.loaded_once = true;
        self.counts = counts;
        self.version = version;
        self.connection = Connection::Live;
        self.data_at = Some(at);
        self.now = at;
        self.list.refresh(&self.incidents);
    }

    /// Sets the list's filter and recomputes its rows.
    pub fn set_filter(&mut self, filter: String) {
        self.list.filter = filter;
        self.list.refresh(&self.incidents);
    }

    /// Whether interventions are off: `--readonly`, or a principal whose
    /// role may not intervene (viewer, agent). The status bar and the
    /// intervention gate both read it.
    pub fn is_readonly(&self) -> bool {
        use crate::api::Role;
        self.readonly || self.operator.as_ref().is_some_and(|w| !matches!(w.role, Role::Responder | Role::Admin))
    }

    /// How old the data on screen is, in seconds.
    pub fn data_age(&self) -> Option<i64> {
        self.data_at.map(|t| (self.now - t).num_seconds().max(0))
    }
}

/// Applies the actions that arrived together (see `paste`). A dialog or the
/// quit prompt only takes keys pressed after it was drawn: keys that came
/// in the same burst as the key that opened it are dropped, and said.
pub fn update_batch(app: &mut App, batch: Vec<Action>, keymap: &Keymap) -> (bool, Vec<Effect>) {
    let asks = |a: &App| matches!(a.overlay, Some(Overlay::Dialog(_) | Overlay::Quit));
    let (mut changed, mut effects) = (false, Vec::new());
    let mut dropped = 0;
    for action in batch {
        let is_key = matches!(action, Action::Key(_));
        if is_key && dropped > 0 {
            dropped += 1;
            continue;
        }
        let before = asks(app);
        let (c, e) = update(app, action, keymap);
        changed |= c;
        effects.extend(e);
        if is_key && !before && asks(app) {
            // From here on, this burst's keys are not for the question.
            dropped = 1;
        }
    }
    if dropped > 1 {
        let n = dropped - 1;
        app.message = Some(format!(
            "{n} key{} typed with the one that opened this question were not taken as its answer",
            if n == 1 { "" } else { "s" }
        ));
        changed = true;
    }
    (changed, effects)
}

/// Applies one action. Returns whether anything visible changed, and the
/// effects to carry out.
pub fn update(app: &mut App, action: Action, keymap: &Keymap) -> (bool, Vec<Effect>) {
    let before = app.message.clone();
    let out = update_one(app, action, keymap);
    // Every message shown is kept, so one cut short or gone can be read again.
    if let Some(m) = &app.message
        && before.as_ref() != Some(m)
    {
        app.messages.push_back((app.now, m.clone()));
        if app.messages.len() > MESSAGES_KEPT {
            app.messages.pop_front();
        }
    }
    out
}

/// `update` for one action, before its message is kept.
///
/// Long because it is the one match over every action; each arm is short
/// and screens' own data goes to the screen (`ScreenData`).
fn update_one(app: &mut App, action: Action, keymap: &Keymap) -> (bool, Vec<Effect>) {
    match action {
        Action::Key(key) => {
            let watched = app.watch();
            let (changed, mut effects) = on_key(app, key, keymap);
            if app.watch() != watched {
                effects.push(Effect::Watch(app.watch()));
            }
            (changed, effects)
        }
        Action::Paste(text) => {
            let outcome = super::overlay::on_paste(app.overlay.take(), &text);
            (true, apply(app, outcome))
        }
        Action::Resize => (true, vec![]),
        Action::Tick(now) => {
            let before = (app.data_age().map(|a| a / 5), minute_of(app.now));
            app.now = now;
            let after = (app.data_age().map(|a| a / 5), minute_of(app.now));
            // Ages on screen move by the minute, staleness by 5 s: only then redraw.
            let stale = !matches!(app.connection, Connection::Live);
            // A waiting request's time left counts down on its screen.
            let counting = app.screen() == Screen::Approvals && app.approvals_waiting().unwrap_or(0) > 0;
            (before.1 != after.1 || (stale && before.0 != after.0) || counting, vec![])
        }
        Action::Incidents(page, at) => {
            let page = *page;
            app.note_listed(&page.incidents);
            app.incidents = page.incidents;
            app.paging = page.paging;
            app.watch = page.watch;
            app.received(page.version, page.counts, at);
            (true, vec![])
        }
        Action::IncidentChanges(page, at) => {
            let page = *page;
            let at_row: HashMap<i64, usize> = app.incidents.iter().enumerate().map(|(row, i)| (i.id, row)).collect();
            let mut fresh = vec![];
            for changed in page.incidents {
                match at_row.get(&changed.id) {
                    Some(&row) => app.incidents[row] = changed,
                    None => fresh.push(changed),
                }
            }
            if !fresh.is_empty() {
                app.note_listed(&fresh);
                app.incidents.extend(fresh);
                app.incidents.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
                app.incidents.truncate(MAX_INCIDENTS);
            }
            app.paging = page.paging;
            app.watch = page.watch;
            app.received(page.version, page.counts, at);
            (true, vec![])
        }
        Action::Detail(detail) => {
            let id = detail.summary.id;
            let shown = app.view().incident() == Some(id);
            let awaited = app.awaiting.is_some_and(|(_, a)| a == id);
            if shown || awaited {
                app.detail = Some(*detail);
            }
            if shown {
                app.looked_at(id);
            }
            if !awaited {
                return (shown, vec![]);
            }
            let (action, _) = app.awaiting.take().expect("awaited");
            // "reading incident #N before …" is done with.
            app.message = None;
            // The operator moved on while it was fetched: nothing acts.
            if app.focused_incident() != Some(id) || app.overlay.is_some() {
                app.message = Some(format!("{} not opened: you moved away from incident #{id}", action.as_str()));
                return (true, vec![]);
            }
            (true, act(app, action))
        }
        Action::Confirmed(at) => {
            // Shown to the minute: redrawn only when that changes.
            let shown = (app.connection == Connection::Live, app.data_at.map(minute_of));
            app.data_at = Some(at);
            app.connection = Connection::Live;
            (shown != (true, Some(minute_of(at))), vec![])
        }
        Action::Whoami(who, server) => {
            app.operator = Some(who);
            app.server_version = server;
            (true, vec![])
        }
        // A screen's data goes to that screen, if it is the one shown.
        Action::Data(data) => deliver(app, |v| v.receive(data)),
        Action::Reliance(r) => {
            let changed = app.reliance.as_ref() != Some(&*r);
            app.reliance = Some(*r);
            (changed, vec![])
        }
        Action::Stops(stops) => {
            let changed = app.stops.as_ref() != Some(&stops);
            app.stops = Some(stops);
            (changed, vec![])
        }
        Action::Impact(report) => {
            let shown = app.view().incident() == Some(report.incident_id);
            if shown {
                app.impact = Some(*report);
            }
            (shown, vec![])
        }
        Action::Approvals(list) => {
            // The time left moves every second; drawn on the tick.
            let changed = app.approvals.as_ref() != Some(&*list);
            if changed {
                for view in app.screens.iter_mut().filter(|v| matches!(v, View::Approvals(_))) {
                    view.receive(ScreenData::Approvals(list.clone()));
                }
            }
            app.approvals = Some(*list);
            (changed, vec![])
        }
        Action::Sent { key, outcome } => {
            let label = match app.pending.iter().position(|(k, _)| *k == key) {
                Some(n) => app.pending.remove(n).1,
                None => "intervention".to_owned(),
            };
            app.message = Some(match outcome {
                Ok(message) => format!("✓ {label}: {message}"),
                Err(error) => format!("✗ {label} failed: {error}"),
            });
            (true, vec![])
        }
        Action::FetchFailed(reason) => {
            app.awaiting = None;
            app.message = Some(reason);
            (true, vec![])
        }
        Action::Offline(reason) => {
            app.awaiting = None;
            let since = match &app.connection {
                Connection::Offline { since, .. } => *since,
                _ => app.now,
            };
            let changed = !matches!(&app.connection, Connection::Offline { reason: r, .. } if *r == reason);
            app.connection = Connection::Offline { reason, since };
            (changed, vec![])
        }
        Action::IncidentMissing(id) => {
            let shown = app.view().incident() == Some(id);
            app.missing = Some(id);
            (shown, vec![])
        }
        Action::Postmortem(id, text) => (false, vec![Effect::SavePostmortem(id, text)]),
        Action::Server(host) => {
            let changed = app.host != host;
            app.host = host;
            (changed, vec![])
        }
        Action::Unauthorized(reason) => {
            let changed = !matches!(&app.connection, Connection::Unauthorized { reason: r } if *r == reason);
            app.connection = Connection::Unauthorized { reason };
            (changed, vec![])
        }
    }
}

/// Does what an overlay's key or paste came to, in order.
fn apply(app: &mut App, outcome: super::overlay::Outcome) -> Vec<Effect> {
    use super::overlay::Ask;
    app.overlay = outcome.overlay;
    let mut effects = Vec::new();
    for ask in outcome.asks {
        match ask {
            Ask::Notice(notice) => app.message = notice,
            Ask::Filter(text) => app.set_filter(text),
            Ask::KeepFilter(text) => {
                app.list.filter_before_edit = None;
                app.set_filter(text);
            }
            Ask::RestoreFilter => {
                let before = app.list.filter_before_edit.take().unwrap_or_default();
                app.set_filter(before);
            }
            Ask::OpenIncident(id) => effects.extend(jump_to_incident(app, id)),
            Ask::List => to_list(app),
            Ask::Open(screen) => effects.extend(open_screen(app, screen)),
            Ask::Messages => app.overlay = Some(Overlay::Messages { scroll: Scroll::at_end() }),
            Ask::Send(plan) => effects.extend(send(app, *plan)),
            Ask::Plan(plan) => effects.extend(propose(app, *plan)),
            Ask::Effect(effect) => effects.push(effect),
        }
    }
    effects
}

/// Gives data to the screen shown; `take` says whether it kept it (and so
/// whether anything visible changed).
fn deliver(app: &mut App, take: impl FnOnce(&mut View) -> bool) -> (bool, Vec<Effect>) {
    (app.screens.last_mut().is_some_and(take), vec![])
}

fn minute_of(t: DateTime<Utc>) -> i64 {
    t.timestamp() / 60
}

fn on_key(app: &mut App, key: KeyEvent, keymap: &Keymap) -> (bool, Vec<Effect>) {
    if let Some(overlay) = app.overlay.take() {
        return (true, apply(app, super::overlay::on_key(overlay, key, keymap)));
    }
    let Some(action) = keymap.lookup(app.mode(), &key) else { return (false, vec![]) };
    app.message = None;
    if action == KeyAction::Quit {
        // Ctrl-C leaves at once; any other quit key asks first.
        let interrupt = key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if interrupt {
            return (true, vec![Effect::Quit]);
        }
        app.overlay = Some(Overlay::Quit);
        return (true, vec![]);
    }
    if action.is_intervention() {
        return (true, act(app, action));
    }
    match navigate(app, action) {
        Some(effects) => (true, effects),
        None => (false, vec![]),
    }
}

/// Every intervention key comes through here: read-only is refused first,
/// then the target is worked out, then the dialog opens or the intent goes.
fn act(app: &mut App, action: KeyAction) -> Vec<Effect> {
    if let Some(why) = intent::refusal(app, action) {
        app.message = Some(format!("{why}: {} not sent", action.as_str().replace('_', " ")));
        return vec![];
    }
    if let Some(id) = intent::needs_detail(app, action) {
        app.awaiting = Some((action, id));
        app.message = Some(format!("reading incident #{id} before {}…", action.as_str().replace('_', " ")));
        return vec![Effect::FetchDetail(id)];
    }
    match intent::plan(app, action) {
        Err(why) => {
            app.message = Some(why);
            vec![]
        }
        Ok(plan) if plan.needs_confirmation() => {
            app.overlay = Some(Overlay::Dialog(Box::new(Dialog::new(plan))));
            vec![]
        }
        Ok(plan) => send(app, plan),
    }
}

/// A plan typed as a command (`:stop agents deployer-*`): refused when the
/// console may not intervene, otherwise confirmed in a dialog.
fn propose(app: &mut App, mut plan: Plan) -> Vec<Effect> {
    if let Some(why) = intent::readonly_reason(app) {
        app.message = Some(format!("{why}: {} not sent", plan.label()));
        return vec![];
    }
    plan.known_agents = app.known_agents();
    app.overlay = Some(Overlay::Dialog(Box::new(Dialog::new(plan))));
    vec![]
}

pub(crate) fn send(app: &mut App, plan: Plan) -> Vec<Effect> {
    let label = plan.label();
    if app.pending.iter().any(|(_, l)| *l == label) {
        app.message = Some(format!("already sending: {label}"));
        return vec![];
    }
    let Some(operator) = app.operator.clone() else {
        app.message = Some("not yet known who you are (waiting for the server)".to_owned());
        return vec![];
    };
    match intent::intent(&plan, &operator) {
        Ok(intent) => {
            app.pending.push((intent.key.clone(), label.clone()));
            app.message = Some(format!("sending: {label}…"));
            vec![Effect::Send(intent)]
        }
        Err(why) => {
            app.message = Some(why);
            vec![]
        }
    }
}

/// Keys every screen shares, then the screen's own. None: the key does
/// nothing here.
fn navigate(app: &mut App, action: KeyAction) -> Option<Vec<Effect>> {
    match action {
        KeyAction::Help => {
            app.overlay = Some(Overlay::Help { scroll: Scroll::default() });
            return Some(vec![]);
        }
        KeyAction::Command => {
            app.overlay = Some(Overlay::Input(Input::Command(String::new())));
            return Some(vec![]);
        }
        KeyAction::Refresh => return Some(vec![Effect::Refresh]),
        KeyAction::Copy => return Some(copy(app)),
        KeyAction::Postmortem => return Some(postmortem(app)),
        KeyAction::Filter if app.screen() == Screen::Incidents => {
            app.list.filter_before_edit = Some(app.list.filter.clone());
            app.overlay = Some(Overlay::Input(Input::Filter(app.list.filter.clone())));
            return Some(vec![]);
        }
        KeyAction::ToList => {
            to_list(app);
            return Some(vec![]);
        }
        _ => {}
    }
    let step = match app.screens.last_mut().expect("there is always a screen") {
        View::Incidents => app.list.on_key(action, &app.incidents),
        view => {
            let id = view.incident();
            let detail = app.detail.as_ref().filter(|d| Some(d.summary.id) == id);
            view.on_key(action, detail)
        }
    };
    match step {
        Step::Stay => {}
        Step::Unhandled if action == KeyAction::Back => back(app),
        Step::Unhandled => return None,
        Step::Back => back(app),
        Step::Push(view) => {
            if let View::Incident(v) = &view {
                app.looked_at(v.id);
                app.detail = None;
            }
            app.screens.push(view);
        }
        Step::Swap(view) => {
            app.screens.pop();
            app.screens.push(view);
        }
        Step::Show(reading) => app.overlay = Some(Overlay::Reading { reading, scroll: Scroll::default() }),
    }
    Some(vec![])
}

/// Back to the screen below; on the list, the open incident is let go.
fn back(app: &mut App) {
    if app.screens.len() > 1 {
        app.screens.pop();
    }
    if app.screen() == Screen::Incidents {
        app.detail = None;
    }
}

pub(crate) fn to_list(app: &mut App) {
    app.screens.truncate(1);
    app.detail = None;
}

/// A screen reached by a `:` command sits directly above the list.
pub(crate) fn open_screen(app: &mut App, screen: Screen) -> Vec<Effect> {
    to_list(app);
    app.screens.push(match screen {
        Screen::Activity => View::Activity(ActivityView::default()),
        Screen::Agents => View::Agents(AgentsView::default()),
        Screen::Audit => View::Audit(AuditView::default()),
        Screen::Attribution => View::Attribution(AttributionView::default()),
        Screen::Routing => View::Routing(RoutingView::default()),
        Screen::Notifications => View::Notifications(NotificationsView::default()),
        Screen::Calibration => View::Calibration(CalibrationView::default()),
        Screen::Patterns => View::Patterns(PatternsView::default()),
        Screen::Silences => View::Silences(SilencesView::default()),
        Screen::Approvals => {
            let mut view = View::Approvals(ApprovalsView::default());
            if let Some(list) = app.approvals.clone() {
                view.receive(ScreenData::Approvals(Box::new(list)));
            }
            view
        }
        Screen::Incident { id, .. } | Screen::BlastRadius { id } | Screen::RootCauses { id } => {
            View::Incident(IncidentView::new(id))
        }
        Screen::Incidents => return vec![],
    });
    vec![]
}

/// `:123` or `#123`: the incident opens above the screen it was asked from,
/// so Esc returns there.
pub fn jump_to_incident(app: &mut App, id: i64) -> Vec<Effect> {
    if app.focused_incident() != Some(id) || app.screen() == Screen::Incidents {
        app.detail = None;
        app.looked_at(id);
        if app.incidents.iter().any(|i| i.id == id) {
            app.list.select(id);
        }
        app.screens.push(View::Incident(IncidentView::new(id)));
    }
    vec![]
}

/// The focused incident's draft postmortem, once it is resolved.
fn postmortem(app: &mut App) -> Vec<Effect> {
    let Some(id) = app.focused_incident() else {
        app.message = Some("no incident selected".to_owned());
        return vec![];
    };
    let status = app.focused_detail().map(|d| d.summary.status).or_else(|| app.summary(id).map(|s| s.status));
    match status {
        Some(crate::api::IncidentStatus::Resolved) => {
            app.message = Some(format!("drafting the postmortem of incident #{id}…"));
            vec![Effect::FetchPostmortem(id)]
        }
        Some(status) => {
            app.message = Some(format!("incident #{id} is {status}: a postmortem is drafted once it is resolved (r)"));
            vec![]
        }
        None => {
            app.message = Some(format!("incident #{id} is not loaded yet"));
            vec![]
        }
    }
}

/// The focused incident in a few lines, for a chat or a ticket.
fn copy(app: &mut App) -> Vec<Effect> {
    let Some(id) = app.focused_incident() else {
        app.message = Some("no incident selected to copy".to_owned());
        return vec![];
    };
    let Some(s) = app.incidents.iter().find(|i| i.id == id).or(app.focused_detail().map(|d| &d.summary)) else {
        app.message = Some(format!("incident #{id} is not loaded yet"));
        return vec![];
    };
    let text = super::clipboard::incident_summary(s, app.focused_detail());
    app.message = Some(format!("copied incident #{id} to the clipboard (OSC 52)"));
    vec![Effect::Copy(text)]
}
