//! The console's state and the one function that changes it. `update` is
//! plain code: every key press and every API answer is an [`Action`], and
//! what must happen outside (fetch, quit) comes back as [`Effect`]s.

use super::blast;
use super::intent::{self, Dialog, Intent, Plan};
use super::keymap::{KeyAction, Keymap, Mode};
pub use super::overlay::{Input, Overlay};
use crate::api::{
    AgentSummary, AttributionStats, AuditPage, Candidate, Dimension, Distribution, IncidentDetail, IncidentPage,
    IncidentStatus, IncidentSummary, StatusCounts, Topic, WhoAmI,
};
use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::{BTreeSet, HashMap, HashSet};

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
    Detail(Box<IncidentDetail>),
    Whoami(WhoAmI),
    Distribution(Box<Distribution>),
    Agents(Vec<AgentSummary>),
    Audit(Box<AuditPage>),
    Attribution(Box<AttributionStats>),
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
}

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
}

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

/// The seed's dimension buttons, in its order: provider, agent, source, risk, status.
pub const DIMENSIONS: [Dimension; 5] =
    [Dimension::ProviderType, Dimension::AgentId, Dimension::Source, Dimension::RiskLevel, Dimension::Status];

/// The `:` commands, for completion.
pub const COMMANDS: &[&str] = &["incidents", "activity", "agents", "audit", "attribution", "theme", "q", "quit"];

#[derive(Debug, Clone)]
pub struct App {
    pub screens: Vec<Screen>,
    pub incidents: Vec<IncidentSummary>,
    pub counts: StatusCounts,
    pub version: i64,
    pub selected: Option<i64>,
    pub filter: String,
    /// The filter as it was when editing began, for Esc to restore.
    pub filter_before_edit: Option<String>,
    /// Help, a text line, a dialog or the quit prompt, over the screen.
    pub overlay: Option<Overlay>,
    pub sort: SortKey,
    pub detail: Option<IncidentDetail>,
    pub connection: Connection,
    pub data_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
    pub operator: Option<WhoAmI>,
    pub host: String,
    pub environment: Option<String>,
    pub readonly: bool,
    /// Incidents that appeared after the first load.
    pub new_ids: BTreeSet<i64>,
    pub message: Option<String>,
    pub loaded_once: bool,
    /// First line shown of the incident view and the text screens.
    pub scroll: u16,
    /// The largest useful `scroll` on the screen last drawn, set by the view
    /// (which alone knows the width lines wrap to): `G` goes there, and
    /// scrolling up from past it starts from there.
    pub scroll_limit: std::cell::Cell<u16>,
    /// The blast-radius tree: open nodes and the selected one.
    pub tree_open: BTreeSet<Vec<String>>,
    pub tree_selected: Vec<String>,
    /// The selected root-cause candidate (its event id).
    pub cause_selected: Option<String>,
    pub dimension: Dimension,
    pub live: Option<Distribution>,
    pub completed: Option<Distribution>,
    /// None until the first answer: "no agents" and "not known" differ.
    pub agents: Option<Vec<AgentSummary>>,
    pub agent_selected: Option<String>,
    pub audit: Option<AuditPage>,
    pub attribution: Option<AttributionStats>,
    /// Intents sent and not yet answered: (Idempotency-Key, label).
    pub pending: Vec<(String, String)>,
    /// The list's rows (indices into `incidents`), filtered and sorted:
    /// computed when data, filter or sort change, never while drawing.
    order: Vec<usize>,
}

fn severity_rank(s: &IncidentSummary) -> u8 {
    match s.severity {
        crate::api::Severity::Critical => 0,
        crate::api::Severity::High => 1,
        crate::api::Severity::Medium => 2,
        crate::api::Severity::Low => 3,
    }
}

fn status_rank(s: &IncidentSummary) -> u8 {
    match s.status {
        IncidentStatus::Open => 0,
        IncidentStatus::Acknowledged => 1,
        IncidentStatus::Resolved => 2,
    }
}

impl App {
    pub fn new(host: &str, environment: Option<String>, readonly: bool, now: DateTime<Utc>) -> App {
        App {
            screens: vec![Screen::Incidents],
            incidents: vec![],
            counts: StatusCounts::default(),
            version: 0,
            selected: None,
            filter: String::new(),
            filter_before_edit: None,
            overlay: None,
            sort: SortKey::Severity,
            detail: None,
            connection: Connection::Connecting,
            data_at: None,
            now,
            operator: None,
            host: host.to_owned(),
            environment,
            readonly,
            new_ids: BTreeSet::new(),
            message: None,
            loaded_once: false,
            scroll: 0,
            scroll_limit: std::cell::Cell::new(0),
            tree_open: BTreeSet::new(),
            tree_selected: Vec::new(),
            cause_selected: None,
            dimension: Dimension::ProviderType,
            live: None,
            completed: None,
            agents: None,
            agent_selected: None,
            audit: None,
            attribution: None,
            pending: Vec::new(),
            order: Vec::new(),
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

    pub fn screen(&self) -> Screen {
        *self.screens.last().expect("there is always a screen")
    }

    /// The mode of the screen: whose keys apply, and whose keys help lists.
    pub fn mode(&self) -> Mode {
        match self.screen() {
            Screen::Incidents => Mode::Incidents,
            Screen::Incident { .. } => Mode::Incident,
            Screen::BlastRadius { .. } => Mode::BlastRadius,
            Screen::RootCauses { .. } => Mode::RootCauses,
            Screen::Activity => Mode::Activity,
            Screen::Agents => Mode::Agents,
            Screen::Audit => Mode::Audit,
            Screen::Attribution => Mode::Attribution,
        }
    }

    /// What the poller should fetch for the screen shown.
    pub fn watch(&self) -> Watch {
        match self.screen() {
            Screen::Incident { id, .. } | Screen::BlastRadius { id } | Screen::RootCauses { id } => Watch::Incident(id),
            Screen::Activity => Watch::Activity(self.dimension),
            Screen::Agents => Watch::Agents,
            Screen::Audit => Watch::Audit,
            Screen::Attribution => Watch::Attribution,
            Screen::Incidents => Watch::Nothing,
        }
    }

    /// The incident the operator is looking at: the open one, or the
    /// list's selection.
    pub fn focused_incident(&self) -> Option<i64> {
        match self.screen() {
            Screen::Incident { id, .. } | Screen::BlastRadius { id } | Screen::RootCauses { id } => Some(id),
            Screen::Incidents => self.selected,
            _ => None,
        }
    }

    /// The detail of the focused incident, once it has arrived.
    pub fn focused_detail(&self) -> Option<&IncidentDetail> {
        let id = self.focused_incident()?;
        self.detail.as_ref().filter(|d| d.summary.id == id)
    }

    pub fn selected_candidate(&self) -> Option<&Candidate> {
        let candidates = &self.focused_detail()?.analysis.candidates;
        self.cause_selected
            .as_ref()
            .and_then(|e| candidates.iter().find(|c| &c.event_id == e))
            .or_else(|| candidates.first())
    }

    pub fn selected_agent(&self) -> Option<&AgentSummary> {
        let agents = self.agents.as_deref().unwrap_or_default();
        self.agent_selected.as_ref().and_then(|a| agents.iter().find(|x| &x.agent_id == a)).or_else(|| agents.first())
    }

    /// The blast-radius tree of the focused incident.
    pub fn blast_nodes(&self) -> Vec<blast::Node> {
        self.focused_detail().map(|d| blast::nodes(&d.blast_radius)).unwrap_or_default()
    }

    /// The rows the list shows, in order: filtered (`!` inverts), then sorted.
    pub fn visible(&self) -> Vec<&IncidentSummary> {
        self.order.iter().map(|&i| &self.incidents[i]).collect()
    }

    /// How many rows the list shows.
    pub fn row_count(&self) -> usize {
        self.order.len()
    }

    /// Rows `skip..skip + take` of the list, for drawing only what fits.
    pub fn rows(&self, skip: usize, take: usize) -> impl Iterator<Item = &IncidentSummary> {
        self.order.iter().skip(skip).take(take).map(|&i| &self.incidents[i])
    }

    /// Position of the selected incident in the list.
    pub fn selected_row(&self) -> Option<usize> {
        let id = self.selected?;
        self.order.iter().position(|&i| self.incidents[i].id == id)
    }

    fn reorder(&mut self) {
        let (inverse, needle) = match self.filter.strip_prefix('!') {
            Some(rest) => (true, rest.to_lowercase()),
            None => (false, self.filter.to_lowercase()),
        };
        let incidents = &self.incidents;
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
    }

    fn move_selection(&mut self, delta: isize) {
        if self.order.is_empty() {
            self.selected = None;
            return;
        }
        let current = self.selected_row().map_or(0, |i| i as isize);
        let next = (current + delta).clamp(0, self.order.len() as isize - 1) as usize;
        self.selected = Some(self.incidents[self.order[next]].id);
    }

    /// A list or its changes arrived: the console is live at `version`.
    fn received(&mut self, version: i64, counts: StatusCounts, at: DateTime<Utc>) {
        self.loaded_once = true;
        self.counts = counts;
        self.version = version;
        self.connection = Connection::Live;
        self.data_at = Some(at);
        self.now = at;
        self.keep_selection();
    }

    /// Sets the list's filter and recomputes its rows.
    pub fn set_filter(&mut self, filter: String) {
        self.filter = filter;
        self.keep_selection();
    }

    /// Recomputes the rows; the selection stays on the same incident across
    /// refreshes, and moves to the first row if that incident is gone.
    fn keep_selection(&mut self) {
        self.reorder();
        if self.selected_row().is_none() {
            self.selected = self.order.first().map(|&i| self.incidents[i].id);
        }
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

/// Applies one action. Returns whether anything visible changed, and the
/// effects to carry out.
pub fn update(app: &mut App, action: Action, keymap: &Keymap) -> (bool, Vec<Effect>) {
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
            super::overlay::on_paste(app, &text);
            (true, vec![])
        }
        Action::Resize => (true, vec![]),
        Action::Tick(now) => {
            let before = (app.data_age().map(|a| a / 5), minute_of(app.now));
            app.now = now;
            let after = (app.data_age().map(|a| a / 5), minute_of(app.now));
            // Ages on screen move by the minute, staleness by 5 s: only then redraw.
            let stale = !matches!(app.connection, Connection::Live);
            (before.1 != after.1 || (stale && before.0 != after.0), vec![])
        }
        Action::Incidents(page, at) => {
            let page = *page;
            if app.loaded_once {
                let known: HashSet<i64> = app.incidents.iter().map(|i| i.id).collect();
                app.new_ids.extend(page.incidents.iter().map(|i| i.id).filter(|id| !known.contains(id)));
            }
            app.incidents = page.incidents;
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
                app.new_ids.extend(fresh.iter().map(|i| i.id));
                app.incidents.extend(fresh);
                app.incidents.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
                app.incidents.truncate(MAX_INCIDENTS);
            }
            app.received(page.version, page.counts, at);
            (true, vec![])
        }
        Action::Detail(detail) => {
            let shown = app.screen() != Screen::Incidents && app.focused_incident() == Some(detail.summary.id);
            if shown {
                app.detail = Some(*detail);
            }
            (shown, vec![])
        }
        Action::Whoami(who) => {
            app.operator = Some(who);
            (true, vec![])
        }
        Action::Distribution(d) => {
            if d.dim != app.dimension {
                return (false, vec![]);
            }
            match d.topic {
                Topic::Live => app.live = Some(*d),
                Topic::Completed => app.completed = Some(*d),
            }
            (app.screen() == Screen::Activity, vec![])
        }
        Action::Agents(agents) => {
            app.agents = Some(agents);
            if app.selected_agent().map(|a| &a.agent_id) != app.agent_selected.as_ref() {
                app.agent_selected = app.selected_agent().map(|a| a.agent_id.clone());
            }
            (app.screen() == Screen::Agents, vec![])
        }
        Action::Audit(page) => {
            app.audit = Some(*page);
            (app.screen() == Screen::Audit, vec![])
        }
        Action::Attribution(stats) => {
            app.attribution = Some(*stats);
            (app.screen() == Screen::Attribution, vec![])
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
            app.message = Some(reason);
            (true, vec![])
        }
        Action::Offline(reason) => {
            let since = match &app.connection {
                Connection::Offline { since, .. } => *since,
                _ => app.now,
            };
            let changed = !matches!(&app.connection, Connection::Offline { reason: r, .. } if *r == reason);
            app.connection = Connection::Offline { reason, since };
            (changed, vec![])
        }
        Action::Unauthorized(reason) => {
            let changed = !matches!(&app.connection, Connection::Unauthorized { reason: r } if *r == reason);
            app.connection = Connection::Unauthorized { reason };
            (changed, vec![])
        }
    }
}

fn minute_of(t: DateTime<Utc>) -> i64 {
    t.timestamp() / 60
}

fn on_key(app: &mut App, key: KeyEvent, keymap: &Keymap) -> (bool, Vec<Effect>) {
    if let Some(overlay) = app.overlay.take() {
        if let Overlay::Help { scroll } = overlay {
            // Help closes with the keys the keymap gives it, and scrolls.
            let scroll = match keymap.lookup(Mode::Help, &key) {
                Some(KeyAction::Close) => return (true, vec![]),
                Some(KeyAction::Quit) => return (true, vec![Effect::Quit]),
                Some(KeyAction::Down) => scroll.saturating_add(1),
                Some(KeyAction::Up) => scroll.saturating_sub(1),
                Some(KeyAction::PageDown) => scroll.saturating_add(10),
                Some(KeyAction::PageUp) => scroll.saturating_sub(10),
                Some(KeyAction::Top) => 0,
                Some(KeyAction::Bottom) => u16::MAX,
                _ => scroll,
            };
            app.overlay = Some(Overlay::Help { scroll });
            return (true, vec![]);
        }
        app.message = None;
        return (true, super::overlay::on_key(app, overlay, key));
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
    let effects = match navigate(app, action) {
        Some(effects) => effects,
        None => return (false, vec![]),
    };
    (true, effects)
}

/// Every intervention key comes through here: read-only is refused first,
/// then the target is worked out, then the dialog opens or the intent goes.
fn act(app: &mut App, action: KeyAction) -> Vec<Effect> {
    if let Some(why) = intent::readonly_reason(app) {
        app.message = Some(format!("{why}: {} not sent", action.as_str().replace('_', " ")));
        return vec![];
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

/// Moving about: screens, selection, scrolling. None: the key does nothing here.
fn navigate(app: &mut App, action: KeyAction) -> Option<Vec<Effect>> {
    let page = 10;
    let none = Some(vec![]);
    match (app.screen(), action) {
        (_, KeyAction::Help) => {
            app.overlay = Some(Overlay::Help { scroll: 0 });
            none
        }
        (_, KeyAction::Command) => {
            app.overlay = Some(Overlay::Input(Input::Command(String::new())));
            none
        }
        (_, KeyAction::Refresh) => Some(vec![Effect::Refresh]),
        (_, KeyAction::Copy) => Some(copy(app)),
        (Screen::Incidents, KeyAction::Filter) => {
            app.filter_before_edit = Some(app.filter.clone());
            app.overlay = Some(Overlay::Input(Input::Filter(app.filter.clone())));
            none
        }
        (Screen::Incidents, KeyAction::Up) => move_list(app, -1),
        (Screen::Incidents, KeyAction::Down) => move_list(app, 1),
        (Screen::Incidents, KeyAction::PageUp) => move_list(app, -page),
        (Screen::Incidents, KeyAction::PageDown) => move_list(app, page),
        (Screen::Incidents, KeyAction::Top) => move_list(app, isize::MIN / 2),
        (Screen::Incidents, KeyAction::Bottom) => move_list(app, isize::MAX / 2),
        (Screen::Incidents, KeyAction::SortNext) => {
            app.sort = match app.sort {
                SortKey::Severity => SortKey::Newest,
                SortKey::Newest => SortKey::Status,
                SortKey::Status => SortKey::Severity,
            };
            app.keep_selection();
            none
        }
        (Screen::Incidents, KeyAction::Open) => {
            let id = app.selected?;
            app.new_ids.remove(&id);
            app.detail = None;
            app.scroll = 0;
            app.screens.push(Screen::Incident { id, level: 1 });
            none
        }
        (Screen::Incident { id, level }, KeyAction::Deeper) => {
            *app.screens.last_mut().expect("screen") = Screen::Incident { id, level: (level + 1).min(3) };
            none
        }
        (Screen::Incident { id, level }, KeyAction::Shallower) if level > 1 => {
            *app.screens.last_mut().expect("screen") = Screen::Incident { id, level: level - 1 };
            none
        }
        (Screen::Incident { .. }, KeyAction::ToList) => {
            to_list(app);
            none
        }
        (Screen::Incident { id, .. } | Screen::RootCauses { id }, KeyAction::BlastRadius) => {
            app.tree_open = [vec![blast::BANDS[0].to_owned()], vec![blast::BANDS[1].to_owned()]].into();
            app.tree_selected = vec![blast::BANDS[0].to_owned()];
            replace_view(app, Screen::BlastRadius { id });
            none
        }
        (Screen::Incident { id, .. } | Screen::BlastRadius { id }, KeyAction::RootCauses) => {
            app.cause_selected = None;
            replace_view(app, Screen::RootCauses { id });
            none
        }
        (Screen::BlastRadius { .. }, KeyAction::Up | KeyAction::Down | KeyAction::Top | KeyAction::Bottom) => {
            let paths = blast::visible_paths(&app.blast_nodes(), &app.tree_open);
            let at = paths.iter().position(|p| *p == app.tree_selected).unwrap_or(0) as isize;
            let to = match action {
                KeyAction::Up => at - 1,
                KeyAction::Down => at + 1,
                KeyAction::Top => 0,
                _ => paths.len() as isize - 1,
            };
            app.tree_selected = paths.get(to.clamp(0, paths.len().max(1) as isize - 1) as usize)?.clone();
            none
        }
        (Screen::BlastRadius { .. }, KeyAction::Expand) => {
            if blast::has_children(&app.blast_nodes(), &app.tree_selected) {
                app.tree_open.insert(app.tree_selected.clone());
            }
            none
        }
        (Screen::BlastRadius { .. }, KeyAction::Toggle) => {
            if !app.tree_open.remove(&app.tree_selected) && blast::has_children(&app.blast_nodes(), &app.tree_selected)
            {
                app.tree_open.insert(app.tree_selected.clone());
            }
            none
        }
        (Screen::BlastRadius { .. }, KeyAction::ExpandAll) => {
            app.tree_open = blast::parents(&app.blast_nodes());
            none
        }
        (Screen::BlastRadius { .. }, KeyAction::Collapse) => {
            if !app.tree_open.remove(&app.tree_selected) && app.tree_selected.len() > 1 {
                app.tree_selected.pop();
            }
            none
        }
        (Screen::RootCauses { .. }, KeyAction::Up | KeyAction::Down | KeyAction::Top | KeyAction::Bottom) => {
            let ids: Vec<String> =
                app.focused_detail()?.analysis.candidates.iter().map(|c| c.event_id.clone()).collect();
            let at = app.selected_candidate().and_then(|c| ids.iter().position(|e| *e == c.event_id)).unwrap_or(0);
            app.cause_selected = ids.get(step(at, ids.len(), action)).cloned();
            none
        }
        (Screen::Agents, KeyAction::Up | KeyAction::Down | KeyAction::Top | KeyAction::Bottom) => {
            let agents = app.agents.as_deref().unwrap_or_default();
            let at = app.selected_agent().and_then(|s| agents.iter().position(|a| a.agent_id == s.agent_id));
            let next = step(at.unwrap_or(0), agents.len(), action);
            app.agent_selected = agents.get(next).map(|a| a.agent_id.clone());
            none
        }
        (Screen::Activity, KeyAction::NextDimension | KeyAction::PreviousDimension) => {
            let all = DIMENSIONS;
            let at = all.iter().position(|d| *d == app.dimension).unwrap_or(0);
            let delta = if action == KeyAction::NextDimension { 1 } else { all.len() - 1 };
            set_dimension(app, all[(at + delta) % all.len()]);
            none
        }
        (Screen::Activity, KeyAction::DimensionProvider) => set_dimension(app, Dimension::ProviderType),
        (Screen::Activity, KeyAction::DimensionAgent) => set_dimension(app, Dimension::AgentId),
        (Screen::Activity, KeyAction::DimensionSource) => set_dimension(app, Dimension::Source),
        (Screen::Activity, KeyAction::DimensionRisk) => set_dimension(app, Dimension::RiskLevel),
        (Screen::Activity, KeyAction::DimensionStatus) => set_dimension(app, Dimension::Status),
        (
            Screen::Incident { .. } | Screen::Audit | Screen::Attribution | Screen::Activity,
            KeyAction::Up
            | KeyAction::Down
            | KeyAction::PageUp
            | KeyAction::PageDown
            | KeyAction::Top
            | KeyAction::Bottom,
        )
        | (Screen::RootCauses { .. }, KeyAction::PageUp | KeyAction::PageDown) => {
            let limit = app.scroll_limit.get();
            let at = app.scroll.min(limit);
            app.scroll = match action {
                KeyAction::Up => at.saturating_sub(1),
                KeyAction::Down => at.saturating_add(1).min(limit),
                KeyAction::PageUp => at.saturating_sub(page as u16),
                KeyAction::PageDown => at.saturating_add(page as u16).min(limit),
                KeyAction::Bottom => limit,
                _ => 0,
            };
            none
        }
        (_, KeyAction::Back | KeyAction::Shallower) => {
            if app.screens.len() > 1 {
                app.screens.pop();
            }
            app.scroll = 0;
            if app.screen() == Screen::Incidents {
                app.detail = None;
            }
            none
        }
        _ => None,
    }
}

fn step(at: usize, len: usize, action: KeyAction) -> usize {
    let last = len.saturating_sub(1);
    match action {
        KeyAction::Up => at.saturating_sub(1),
        KeyAction::Down => (at + 1).min(last),
        KeyAction::Top => 0,
        _ => last,
    }
}

fn move_list(app: &mut App, delta: isize) -> Option<Vec<Effect>> {
    app.move_selection(delta);
    Some(vec![])
}

fn set_dimension(app: &mut App, dimension: Dimension) -> Option<Vec<Effect>> {
    if app.dimension != dimension {
        app.dimension = dimension;
        // Never show one dimension's bars under another's name.
        app.live = None;
        app.completed = None;
    }
    Some(vec![])
}

/// Blast radius and root causes replace each other above the incident, so
/// Back always returns to the incident.
fn replace_view(app: &mut App, screen: Screen) {
    if matches!(app.screen(), Screen::BlastRadius { .. } | Screen::RootCauses { .. }) {
        app.screens.pop();
    }
    app.screens.push(screen);
}

pub(crate) fn to_list(app: &mut App) {
    app.screens.truncate(1);
    app.detail = None;
    app.scroll = 0;
}

/// A screen reached by a `:` command sits directly above the list.
pub(crate) fn open_screen(app: &mut App, screen: Screen) -> Vec<Effect> {
    to_list(app);
    app.screens.push(screen);
    vec![]
}

/// `:123` or `#123`: the incident opens above the screen it was asked from,
/// so Esc returns there.
pub(crate) fn jump_to_incident(app: &mut App, id: i64) -> Vec<Effect> {
    if app.focused_incident() != Some(id) || app.screen() == Screen::Incidents {
        app.detail = None;
        app.scroll = 0;
        app.new_ids.remove(&id);
        if app.incidents.iter().any(|i| i.id == id) {
            app.selected = Some(id);
        }
        app.screens.push(Screen::Incident { id, level: 1 });
    }
    vec![]
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
    let mut text = format!(
        "Incident #{} [{} {}] {}\nStarted {} UTC · resources: {} · responders: {}",
        s.id,
        s.severity.as_str().to_uppercase(),
        s.status.as_str().to_uppercase(),
        s.title,
        s.started_at.format("%Y-%m-%d %H:%M:%S"),
        if s.resources.is_empty() { "unknown".to_owned() } else { s.resources.join(", ") },
        if s.responders.is_empty() { "nobody yet".to_owned() } else { s.responders.join(", ") },
    );
    if let Some(d) = app.focused_detail() {
        match d.analysis.candidates.first() {
            Some(c) if !d.analysis.undetermined => text.push_str(&format!(
                "\nTop cause: {} {} on {} by {} ({} {}%)",
                c.action_type.as_deref().unwrap_or("action"),
                c.event_id,
                c.resource.as_deref().unwrap_or("?"),
                c.agent_id.as_deref().unwrap_or("unknown actor"),
                c.band,
                c.confidence
            )),
            _ => text.push_str("\nCause: UNDETERMINED"),
        }
    }
    app.message = Some(format!("copied incident #{id} to the clipboard (OSC 52)"));
    vec![Effect::Copy(text)]
}
