//! The console's state and the one function that changes it. `update` is
//! plain code: every key press and every API answer is an [`Action`], and
//! what must happen outside (fetch, quit) comes back as [`Effect`]s.

use super::keymap::{KeyAction, Keymap, Mode};
use crate::api::{IncidentDetail, IncidentPage, IncidentStatus, IncidentSummary, StatusCounts, WhoAmI};
use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeSet;

/// Everything that can happen to the console.
#[derive(Debug, Clone)]
pub enum Action {
    Key(KeyEvent),
    Resize,
    /// Once a second: ages and staleness may need redrawing.
    Tick(DateTime<Utc>),
    Incidents(Box<IncidentPage>, DateTime<Utc>),
    Detail(Box<IncidentDetail>),
    Whoami(WhoAmI),
    /// The API could not be reached; the reason is shown.
    Offline(String),
}

/// What the outside world must do after an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Quit,
    /// Fetch and keep fetching this incident's detail (None: stop).
    Watch(Option<i64>),
    Refresh,
    SetTheme(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Incidents,
    /// An incident at disclosure level 1, 2 or 3 (seed 12.4).
    Incident {
        id: i64,
        level: u8,
    },
    Help,
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Filter(String),
    Command(String),
}

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
    pub input: Option<Input>,
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
    /// First line shown of the incident view.
    pub scroll: u16,
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
            input: None,
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
            order: Vec::new(),
        }
    }

    pub fn screen(&self) -> Screen {
        *self.screens.last().expect("there is always a screen")
    }

    pub fn mode(&self) -> Mode {
        match self.screen() {
            Screen::Incidents => Mode::Incidents,
            Screen::Incident { .. } => Mode::Incident,
            Screen::Help => Mode::Help,
        }
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

    /// Recomputes the rows; the selection stays on the same incident across
    /// refreshes, and moves to the first row if that incident is gone.
    fn keep_selection(&mut self) {
        self.reorder();
        if self.selected_row().is_none() {
            self.selected = self.order.first().map(|&i| self.incidents[i].id);
        }
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
        Action::Key(key) => on_key(app, key, keymap),
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
            if app.loaded_once {
                for i in &page.incidents {
                    if !app.incidents.iter().any(|old| old.id == i.id) {
                        app.new_ids.insert(i.id);
                    }
                }
            }
            app.loaded_once = true;
            app.incidents = page.incidents;
            app.counts = page.counts;
            app.version = page.version;
            app.connection = Connection::Live;
            app.data_at = Some(at);
            app.now = at;
            app.keep_selection();
            (true, vec![])
        }
        Action::Detail(detail) => {
            let shown = matches!(app.screen(), Screen::Incident { id, .. } if id == detail.summary.id);
            if shown {
                app.detail = Some(*detail);
            }
            (shown, vec![])
        }
        Action::Whoami(who) => {
            app.operator = Some(who);
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
    }
}

fn minute_of(t: DateTime<Utc>) -> i64 {
    t.timestamp() / 60
}

fn on_key(app: &mut App, key: KeyEvent, keymap: &Keymap) -> (bool, Vec<Effect>) {
    if let Some(input) = app.input.take() {
        return on_input(app, input, key);
    }
    let Some(action) = keymap.lookup(app.mode(), &key) else { return (false, vec![]) };
    app.message = None;
    let page = 10;
    let effects = match (app.screen(), action) {
        (_, KeyAction::Quit) => vec![Effect::Quit],
        (Screen::Help, KeyAction::Close) => {
            app.screens.pop();
            vec![]
        }
        (Screen::Help, _) => vec![],
        (_, KeyAction::Help) => {
            app.screens.push(Screen::Help);
            vec![]
        }
        (_, KeyAction::Command) => {
            app.input = Some(Input::Command(String::new()));
            vec![]
        }
        (_, KeyAction::Refresh) => vec![Effect::Refresh],
        (Screen::Incidents, KeyAction::Filter) => {
            app.input = Some(Input::Filter(app.filter.clone()));
            vec![]
        }
        (Screen::Incidents, KeyAction::Up) => {
            app.move_selection(-1);
            vec![]
        }
        (Screen::Incidents, KeyAction::Down) => {
            app.move_selection(1);
            vec![]
        }
        (Screen::Incidents, KeyAction::PageUp) => {
            app.move_selection(-page);
            vec![]
        }
        (Screen::Incidents, KeyAction::PageDown) => {
            app.move_selection(page);
            vec![]
        }
        (Screen::Incidents, KeyAction::Top) => {
            app.move_selection(isize::MIN / 2);
            vec![]
        }
        (Screen::Incidents, KeyAction::Bottom) => {
            app.move_selection(isize::MAX / 2);
            vec![]
        }
        (Screen::Incidents, KeyAction::SortNext) => {
            app.sort = match app.sort {
                SortKey::Severity => SortKey::Newest,
                SortKey::Newest => SortKey::Status,
                SortKey::Status => SortKey::Severity,
            };
            app.keep_selection();
            vec![]
        }
        (Screen::Incidents, KeyAction::Open) => match app.selected {
            Some(id) => {
                app.new_ids.remove(&id);
                app.detail = None;
                app.scroll = 0;
                app.screens.push(Screen::Incident { id, level: 1 });
                vec![Effect::Watch(Some(id))]
            }
            None => vec![],
        },
        (Screen::Incident { .. }, KeyAction::Up) => {
            app.scroll = app.scroll.saturating_sub(1);
            vec![]
        }
        (Screen::Incident { .. }, KeyAction::Down) => {
            app.scroll = app.scroll.saturating_add(1);
            vec![]
        }
        (Screen::Incident { .. }, KeyAction::PageUp) => {
            app.scroll = app.scroll.saturating_sub(page as u16);
            vec![]
        }
        (Screen::Incident { .. }, KeyAction::PageDown) => {
            app.scroll = app.scroll.saturating_add(page as u16);
            vec![]
        }
        (Screen::Incident { .. }, KeyAction::Top) => {
            app.scroll = 0;
            vec![]
        }
        (Screen::Incident { id, level }, KeyAction::Deeper) => {
            *app.screens.last_mut().expect("screen") = Screen::Incident { id, level: (level + 1).min(3) };
            vec![]
        }
        (Screen::Incident { id, level }, KeyAction::Shallower) if level > 1 => {
            *app.screens.last_mut().expect("screen") = Screen::Incident { id, level: level - 1 };
            vec![]
        }
        (Screen::Incident { .. }, KeyAction::Shallower | KeyAction::ToList) => {
            app.screens.truncate(1);
            app.detail = None;
            vec![Effect::Watch(None)]
        }
        _ => return (false, vec![]),
    };
    (true, effects)
}

fn on_input(app: &mut App, input: Input, key: KeyEvent) -> (bool, Vec<Effect>) {
    let (mut text, is_filter) = match input {
        Input::Filter(t) => (t, true),
        Input::Command(t) => (t, false),
    };
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc => return (true, vec![]),
        KeyCode::Char('c') if ctrl => return (true, vec![]),
        KeyCode::Enter if is_filter => {
            app.filter = text;
            app.keep_selection();
            return (true, vec![]);
        }
        KeyCode::Enter => return (true, run_command(app, text.trim())),
        KeyCode::Tab if !is_filter => {
            let matches: Vec<&&str> = COMMANDS.iter().filter(|c| c.starts_with(text.trim())).collect();
            if matches.len() == 1 {
                text = format!("{} ", matches[0]);
            } else if matches.len() > 1 {
                app.message = Some(matches.iter().map(|c| format!(":{c}")).collect::<Vec<_>>().join("  "));
            }
        }
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char(c) if !ctrl => text.push(c),
        _ => {}
    }
    if is_filter {
        // The list filters as you type.
        app.filter = text.clone();
        app.keep_selection();
        app.input = Some(Input::Filter(text));
    } else {
        app.input = Some(Input::Command(text));
    }
    (true, vec![])
}

fn run_command(app: &mut App, line: &str) -> Vec<Effect> {
    let mut words = line.split_whitespace();
    match (words.next(), words.next()) {
        (Some("q" | "quit"), _) => vec![Effect::Quit],
        (Some("incidents"), _) => {
            app.screens.truncate(1);
            app.detail = None;
            vec![Effect::Watch(None)]
        }
        (Some("theme"), Some(name)) => vec![Effect::SetTheme(name.to_owned())],
        (Some("theme"), None) => {
            app.message = Some(format!("usage: :theme NAME ({})", super::theme::Theme::names().join(", ")));
            vec![]
        }
        (Some(screen @ ("activity" | "agents" | "audit" | "attribution")), _) => {
            app.message = Some(format!(":{screen} is not in this version of the console yet"));
            vec![]
        }
        (Some(other), _) => {
            app.message = Some(format!("unknown command :{other} (Tab completes: {})", COMMANDS.join(", ")));
            vec![]
        }
        (None, _) => vec![],
    }
}
