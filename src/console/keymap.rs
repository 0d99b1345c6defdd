//! Keybindings as data: one table (mode → key → action, with a description)
//! drives dispatch, the help overlay and the hint bar, so they cannot disagree.
//! Users override keys per mode in the config file:
//!
//! ```toml
//! [keys.incidents]
//! "a" = "acknowledge"
//! "ctrl-r" = "refresh"
//! ```

use crate::api::{InterventionKind, InterventionKind as IK, Verdict};
use mandate_contract::wire_enum;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;

wire_enum! {
    /// Where a binding applies. Global bindings apply everywhere unless the
    /// current mode binds the same key.
    pub enum Mode {
        Global = "global",
        Incidents = "incidents",
        Incident = "incident",
        BlastRadius = "blast_radius",
        RootCauses = "root_causes",
        Activity = "activity",
        Agents = "agents",
        Audit = "audit",
        Attribution = "attribution",
        Routing = "routing",
        Notifications = "notifications",
        Calibration = "calibration",
        Patterns = "patterns",
        Silences = "silences",
        Approvals = "approvals",
        Help = "help",
    }
}

/// Everything a key can ask for. Interventions and verdicts are one action
/// each, carrying what they ask the server for; in a config file each is
/// spelled as before (`acknowledge`, `pause_agent`, `confirm_cause`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyAction {
    Quit,
    Help,
    Command,
    Filter,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    Deeper,
    Shallower,
    ToList,
    SortNext,
    Refresh,
    Close,
    /// Leave a view for the one it was opened from.
    Back,
    BlastRadius,
    RootCauses,
    /// Open the selected tree node.
    Expand,
    /// Close the selected tree node, or go to its parent.
    Collapse,
    /// Open the selected tree node if closed, close it if open.
    Toggle,
    /// Open every node of the tree.
    ExpandAll,
    NextDimension,
    PreviousDimension,
    DimensionProvider,
    DimensionAgent,
    DimensionSource,
    DimensionRisk,
    DimensionStatus,
    /// OSC 52: the selected incident's summary to the clipboard.
    Copy,
    /// Ask the server for an intervention of this kind.
    Intervene(InterventionKind),
    /// Give a verdict on the selected root-cause candidate.
    Judge(Verdict),
    /// Send a dead notification again.
    RetryNotification,
    /// Dispute the attribution of the selected root-cause candidate.
    Dispute,
    /// The next status filter (all, violating, using override, silent, compliant).
    NextFilter,
    /// Open the attribution breach incident.
    Breach,
    /// Send the selected service's owner seed 000 §5's message.
    Outreach,
    /// Stop the run of the suspected (or selected) action.
    StopRun,
    /// Stop the agents whose names start with the selected agent's prefix.
    StopAgents,
    /// Stop every agent (admin; Ctrl-Y).
    StopFleet,
    /// Lift a stop wider than the selected agent that covers it.
    LiftStop,
    /// Silence what the incident matches, for a time.
    Silence,
    /// End the selected silence now.
    LiftSilence,
    /// Approve the selected gated action (with a reason; Ctrl-Y).
    Approve,
    /// Deny the selected gated action (with a reason; Ctrl-Y).
    Deny,
    /// Write the resolved incident's draft postmortem to a file and the clipboard.
    Postmortem,
}

impl KeyAction {
    pub const ALL: &'static [KeyAction] = &[
        KeyAction::Quit,
        KeyAction::Help,
        KeyAction::Command,
        KeyAction::Filter,
        KeyAction::Up,
        KeyAction::Down,
        KeyAction::PageUp,
        KeyAction::PageDown,
        KeyAction::Top,
        KeyAction::Bottom,
        KeyAction::Open,
        KeyAction::Deeper,
        KeyAction::Shallower,
        KeyAction::ToList,
        KeyAction::SortNext,
        KeyAction::Refresh,
        KeyAction::Close,
        KeyAction::Back,
        KeyAction::BlastRadius,
        KeyAction::RootCauses,
        KeyAction::Expand,
        KeyAction::Collapse,
        KeyAction::Toggle,
        KeyAction::ExpandAll,
        KeyAction::NextDimension,
        KeyAction::PreviousDimension,
        KeyAction::DimensionProvider,
        KeyAction::DimensionAgent,
        KeyAction::DimensionSource,
        KeyAction::DimensionRisk,
        KeyAction::DimensionStatus,
        KeyAction::Copy,
        KeyAction::Intervene(InterventionKind::Acknowledge),
        KeyAction::Intervene(InterventionKind::FlagForReview),
        KeyAction::Intervene(InterventionKind::PauseAgent),
        KeyAction::Intervene(InterventionKind::ResumeAgent),
        KeyAction::Intervene(InterventionKind::Escalate),
        KeyAction::Intervene(InterventionKind::CreateIncident),
        KeyAction::Intervene(InterventionKind::TriggerRollback),
        KeyAction::Intervene(InterventionKind::DisableTool),
        KeyAction::Intervene(InterventionKind::UpdateRule),
        KeyAction::Intervene(InterventionKind::Resolve),
        KeyAction::Intervene(InterventionKind::Reopen),
        KeyAction::Intervene(InterventionKind::Note),
        KeyAction::Intervene(InterventionKind::ChangeSeverity),
        KeyAction::Intervene(InterventionKind::AddResponder),
        KeyAction::Intervene(InterventionKind::HandOver),
        KeyAction::Intervene(InterventionKind::Merge),
        KeyAction::Judge(Verdict::Confirmed),
        KeyAction::Judge(Verdict::Rejected),
        KeyAction::Judge(Verdict::Investigate),
        KeyAction::RetryNotification,
        KeyAction::Dispute,
        KeyAction::NextFilter,
        KeyAction::Breach,
        KeyAction::Outreach,
        KeyAction::StopRun,
        KeyAction::StopAgents,
        KeyAction::StopFleet,
        KeyAction::LiftStop,
        KeyAction::Silence,
        KeyAction::LiftSilence,
        KeyAction::Approve,
        KeyAction::Deny,
        KeyAction::Postmortem,
    ];

    /// The spelling in config files.
    pub fn as_str(self) -> &'static str {
        use KeyAction::*;
        match self {
            Quit => "quit",
            Help => "help",
            Command => "command",
            Filter => "filter",
            Up => "up",
            Down => "down",
            PageUp => "page_up",
            PageDown => "page_down",
            Top => "top",
            Bottom => "bottom",
            Open => "open",
            Deeper => "deeper",
            Shallower => "shallower",
            ToList => "to_list",
            SortNext => "sort",
            Refresh => "refresh",
            Close => "close",
            Back => "back",
            BlastRadius => "blast_radius",
            RootCauses => "root_causes",
            Expand => "expand",
            Collapse => "collapse",
            Toggle => "toggle",
            ExpandAll => "expand_all",
            NextDimension => "next_dimension",
            PreviousDimension => "previous_dimension",
            DimensionProvider => "dimension_provider",
            DimensionAgent => "dimension_agent",
            DimensionSource => "dimension_source",
            DimensionRisk => "dimension_risk",
            DimensionStatus => "dimension_status",
            Copy => "copy",
            Intervene(kind) => kind.as_str(),
            Judge(Verdict::Confirmed) => "confirm_cause",
            Judge(Verdict::Rejected) => "mark_unrelated",
            Judge(Verdict::Investigate) => "investigate",
            RetryNotification => "retry_notification",
            Dispute => "dispute",
            NextFilter => "next_filter",
            Breach => "open_breach",
            Outreach => "outreach",
            StopRun => "stop_run",
            StopAgents => "stop_agents",
            StopFleet => "stop_fleet",
            LiftStop => "lift_stop",
            Silence => "silence",
            LiftSilence => "lift_silence",
            Approve => "approve",
            Deny => "deny",
            Postmortem => "postmortem",
        }
    }

    /// Case-insensitive, like every other spelling the console reads.
    pub fn parse(raw: &str) -> Option<KeyAction> {
        Self::ALL.iter().copied().find(|a| a.as_str().eq_ignore_ascii_case(raw))
    }

    /// The allowed spellings, for error messages: `"a, b, c"`.
    pub fn allowed() -> String {
        Self::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// Whether the key asks the server to change something: every such key
    /// is refused in one place when the console is read-only.
    pub fn is_intervention(self) -> bool {
        matches!(
            self,
            KeyAction::Intervene(_)
                | KeyAction::Judge(_)
                | KeyAction::RetryNotification
                | KeyAction::Dispute
                | KeyAction::Outreach
                | KeyAction::StopRun
                | KeyAction::StopAgents
                | KeyAction::StopFleet
                | KeyAction::LiftStop
                | KeyAction::Silence
                | KeyAction::LiftSilence
                | KeyAction::Approve
                | KeyAction::Deny
        )
    }
}

impl std::fmt::Display for KeyAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The defaults: (mode, key, action, what it does). Within a mode, the
/// order is the hint bar's: what matters most at 3 a.m. comes first.
pub const DEFAULTS: &[(Mode, &str, KeyAction, &str)] = &[
    (Mode::Global, "ctrl-c", KeyAction::Quit, "quit"),
    (Mode::Global, "?", KeyAction::Help, "help"),
    (Mode::Global, ":", KeyAction::Command, "command"),
    (Mode::Global, "ctrl-r", KeyAction::Refresh, "refresh now"),
    (Mode::Global, "y", KeyAction::Copy, "copy incident summary"),
    (Mode::Global, "up", KeyAction::Up, "up"),
    (Mode::Global, "k", KeyAction::Up, "up"),
    (Mode::Global, "down", KeyAction::Down, "down"),
    (Mode::Global, "j", KeyAction::Down, "down"),
    (Mode::Global, "pgup", KeyAction::PageUp, "page up"),
    (Mode::Global, "ctrl-b", KeyAction::PageUp, "page up"),
    (Mode::Global, "pgdown", KeyAction::PageDown, "page down"),
    (Mode::Global, "ctrl-f", KeyAction::PageDown, "page down"),
    (Mode::Global, "home", KeyAction::Top, "first"),
    (Mode::Global, "g", KeyAction::Top, "first"),
    (Mode::Global, "end", KeyAction::Bottom, "last"),
    (Mode::Global, "G", KeyAction::Bottom, "last"),
    (Mode::Incidents, "enter", KeyAction::Open, "open incident"),
    (Mode::Incidents, "a", KeyAction::Intervene(IK::Acknowledge), "acknowledge"),
    (Mode::Incidents, "/", KeyAction::Filter, "filter (! inverts)"),
    (Mode::Incidents, "s", KeyAction::SortNext, "next sort"),
    (Mode::Incidents, "e", KeyAction::Intervene(IK::Escalate), "escalate"),
    (Mode::Incidents, "r", KeyAction::Intervene(IK::Resolve), "resolve"),
    (Mode::Incidents, "f", KeyAction::Intervene(IK::FlagForReview), "flag for review"),
    (Mode::Incidents, "q", KeyAction::Quit, "quit (q asks first)"),
    (Mode::Incidents, "n", KeyAction::Intervene(IK::Note), "add a note"),
    (Mode::Incidents, "O", KeyAction::Intervene(IK::Reopen), "reopen"),
    (Mode::Incidents, "m", KeyAction::Silence, "silence like it"),
    (Mode::Incidents, "P", KeyAction::Postmortem, "postmortem draft (file, clipboard)"),
    (Mode::Incidents, "M", KeyAction::Intervene(IK::Merge), "merge into another"),
    (Mode::Incident, "enter", KeyAction::Deeper, "more detail"),
    (Mode::Incident, "+", KeyAction::Deeper, "more detail"),
    (Mode::Incident, "backspace", KeyAction::Shallower, "less detail"),
    (Mode::Incident, "-", KeyAction::Shallower, "less detail"),
    (Mode::Incident, "a", KeyAction::Intervene(IK::Acknowledge), "acknowledge"),
    (Mode::Incident, "b", KeyAction::BlastRadius, "blast radius"),
    (Mode::Incident, "c", KeyAction::RootCauses, "root causes"),
    (Mode::Incident, "p", KeyAction::Intervene(IK::PauseAgent), "stop suspected agent"),
    (Mode::Incident, "S", KeyAction::StopRun, "stop its run"),
    (Mode::Incident, "R", KeyAction::Intervene(IK::TriggerRollback), "request rollback"),
    (Mode::Incident, "T", KeyAction::Intervene(IK::DisableTool), "disable tool"),
    (Mode::Incident, "e", KeyAction::Intervene(IK::Escalate), "escalate"),
    (Mode::Incident, "u", KeyAction::Intervene(IK::ResumeAgent), "resume agent"),
    (Mode::Incident, "r", KeyAction::Intervene(IK::Resolve), "resolve"),
    (Mode::Incident, "n", KeyAction::Intervene(IK::Note), "add a note"),
    (Mode::Incident, "V", KeyAction::Intervene(IK::ChangeSeverity), "change severity"),
    (Mode::Incident, "O", KeyAction::Intervene(IK::Reopen), "reopen"),
    (Mode::Incident, "m", KeyAction::Silence, "silence like it"),
    (Mode::Incident, "P", KeyAction::Postmortem, "postmortem draft (file, clipboard)"),
    (Mode::Incident, "A", KeyAction::Intervene(IK::AddResponder), "page a responder now"),
    (Mode::Incident, "H", KeyAction::Intervene(IK::HandOver), "hand over"),
    (Mode::Incident, "M", KeyAction::Intervene(IK::Merge), "merge into another"),
    (Mode::Incident, "f", KeyAction::Intervene(IK::FlagForReview), "flag for review"),
    (Mode::Incident, "N", KeyAction::Intervene(IK::CreateIncident), "new formal incident"),
    (Mode::Incident, "W", KeyAction::Intervene(IK::UpdateRule), "propose rule"),
    (Mode::Incident, "esc", KeyAction::Back, "back"),
    (Mode::Incident, "q", KeyAction::Back, "back"),
    (Mode::BlastRadius, "right", KeyAction::Expand, "open"),
    (Mode::BlastRadius, "l", KeyAction::Expand, "open"),
    (Mode::BlastRadius, "left", KeyAction::Collapse, "close"),
    (Mode::BlastRadius, "h", KeyAction::Collapse, "close"),
    (Mode::BlastRadius, "enter", KeyAction::Toggle, "open or close"),
    (Mode::BlastRadius, "space", KeyAction::Toggle, "open or close"),
    (Mode::BlastRadius, "*", KeyAction::ExpandAll, "open all"),
    (Mode::BlastRadius, "a", KeyAction::Intervene(IK::Acknowledge), "acknowledge"),
    (Mode::BlastRadius, "e", KeyAction::Intervene(IK::Escalate), "escalate"),
    (Mode::BlastRadius, "c", KeyAction::RootCauses, "root causes"),
    (Mode::BlastRadius, "esc", KeyAction::Back, "back"),
    (Mode::BlastRadius, "q", KeyAction::Back, "back"),
    (Mode::RootCauses, "C", KeyAction::Judge(Verdict::Confirmed), "confirm cause"),
    (Mode::RootCauses, "X", KeyAction::Judge(Verdict::Rejected), "mark unrelated"),
    (Mode::RootCauses, "i", KeyAction::Judge(Verdict::Investigate), "investigate"),
    (Mode::RootCauses, "p", KeyAction::Intervene(IK::PauseAgent), "stop its agent"),
    (Mode::RootCauses, "S", KeyAction::StopRun, "stop its run"),
    (Mode::RootCauses, "T", KeyAction::Intervene(IK::DisableTool), "disable its tool"),
    (Mode::RootCauses, "R", KeyAction::Intervene(IK::TriggerRollback), "request rollback"),
    (Mode::RootCauses, "a", KeyAction::Intervene(IK::Acknowledge), "acknowledge"),
    (Mode::RootCauses, "D", KeyAction::Dispute, "dispute attribution"),
    (Mode::RootCauses, "b", KeyAction::BlastRadius, "blast radius"),
    (Mode::RootCauses, "esc", KeyAction::Back, "back"),
    (Mode::RootCauses, "q", KeyAction::Back, "back"),
    (Mode::Activity, "right", KeyAction::NextDimension, "next dimension"),
    (Mode::Activity, "l", KeyAction::NextDimension, "next dimension"),
    (Mode::Activity, "tab", KeyAction::NextDimension, "next dimension"),
    (Mode::Activity, "left", KeyAction::PreviousDimension, "previous dimension"),
    (Mode::Activity, "h", KeyAction::PreviousDimension, "previous dimension"),
    (Mode::Activity, "1", KeyAction::DimensionProvider, "by provider"),
    (Mode::Activity, "2", KeyAction::DimensionAgent, "by agent"),
    (Mode::Activity, "3", KeyAction::DimensionSource, "by source"),
    (Mode::Activity, "4", KeyAction::DimensionRisk, "by risk"),
    (Mode::Activity, "5", KeyAction::DimensionStatus, "by status"),
    (Mode::Activity, "esc", KeyAction::Back, "back"),
    (Mode::Activity, "q", KeyAction::Back, "back"),
    (Mode::Agents, "p", KeyAction::Intervene(IK::PauseAgent), "stop agent"),
    (Mode::Agents, "u", KeyAction::Intervene(IK::ResumeAgent), "resume agent"),
    (Mode::Agents, "S", KeyAction::StopAgents, "stop agents by prefix"),
    (Mode::Agents, "U", KeyAction::LiftStop, "lift a wider stop"),
    (Mode::Agents, "F", KeyAction::StopFleet, "stop the fleet"),
    (Mode::Agents, "T", KeyAction::Intervene(IK::DisableTool), "disable a tool"),
    (Mode::Agents, "f", KeyAction::Intervene(IK::FlagForReview), "flag for review"),
    (Mode::Agents, "N", KeyAction::Intervene(IK::CreateIncident), "new formal incident"),
    (Mode::Agents, "esc", KeyAction::Back, "back"),
    (Mode::Agents, "q", KeyAction::Back, "back"),
    (Mode::Audit, "enter", KeyAction::Open, "read the entry whole"),
    (Mode::Audit, "esc", KeyAction::Back, "back"),
    (Mode::Audit, "q", KeyAction::Back, "back"),
    (Mode::Attribution, "enter", KeyAction::Open, "owner and latest refusal"),
    (Mode::Attribution, "o", KeyAction::Outreach, "reach out to the owner"),
    (Mode::Attribution, "f", KeyAction::NextFilter, "filter by status"),
    (Mode::Attribution, "b", KeyAction::Breach, "open the breach incident"),
    (Mode::Attribution, "esc", KeyAction::Back, "back"),
    (Mode::Attribution, "q", KeyAction::Back, "back"),
    (Mode::Routing, "esc", KeyAction::Back, "back"),
    (Mode::Routing, "q", KeyAction::Back, "back"),
    (Mode::Notifications, "R", KeyAction::RetryNotification, "retry a dead one"),
    (Mode::Notifications, "enter", KeyAction::Open, "read it whole"),
    (Mode::Notifications, "f", KeyAction::NextFilter, "filter by state"),
    (Mode::Silences, "U", KeyAction::LiftSilence, "lift (end) it now"),
    (Mode::Silences, "enter", KeyAction::Open, "read it whole"),
    (Mode::Silences, "esc", KeyAction::Back, "back"),
    (Mode::Silences, "q", KeyAction::Back, "back"),
    (Mode::Approvals, "a", KeyAction::Approve, "approve it"),
    (Mode::Approvals, "d", KeyAction::Deny, "deny it"),
    (Mode::Approvals, "enter", KeyAction::Open, "read it whole"),
    (Mode::Approvals, "esc", KeyAction::Back, "back"),
    (Mode::Approvals, "q", KeyAction::Back, "back"),
    (Mode::Notifications, "esc", KeyAction::Back, "back"),
    (Mode::Notifications, "q", KeyAction::Back, "back"),
    (Mode::Calibration, "esc", KeyAction::Back, "back"),
    (Mode::Calibration, "q", KeyAction::Back, "back"),
    (Mode::Patterns, "esc", KeyAction::Back, "back"),
    (Mode::Patterns, "q", KeyAction::Back, "back"),
    (Mode::Help, "esc", KeyAction::Close, "close help"),
    (Mode::Help, "q", KeyAction::Close, "close help"),
    (Mode::Help, "?", KeyAction::Close, "close help"),
];

/// A key as written in the table: `j`, `G`, `?`, `enter`, `ctrl-c`, `shift-tab`, …
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: KeyCodeSpec,
    pub ctrl: bool,
    pub alt: bool,
}

/// The subset of key codes a binding can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCodeSpec {
    Char(char),
    Enter,
    Esc,
    Backspace,
    Tab,
    BackTab,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Delete,
    F(u8),
}

impl Key {
    /// Parses a spelling; several spellings can name one key (`return` and
    /// `enter`), which is how clashes are found.
    pub fn parse(raw: &str) -> Option<Key> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = raw;
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("ctrl-").or_else(|| lower.strip_prefix("c-")) {
                ctrl = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("alt-").or_else(|| lower.strip_prefix("m-")) {
                alt = true;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" | "cr" => KeyCodeSpec::Enter,
            "esc" | "escape" => KeyCodeSpec::Esc,
            "backspace" | "bs" => KeyCodeSpec::Backspace,
            "tab" => KeyCodeSpec::Tab,
            "shift-tab" | "backtab" => KeyCodeSpec::BackTab,
            "up" => KeyCodeSpec::Up,
            "down" => KeyCodeSpec::Down,
            "left" => KeyCodeSpec::Left,
            "right" => KeyCodeSpec::Right,
            "pgup" | "pageup" | "page_up" => KeyCodeSpec::PageUp,
            "pgdown" | "pagedown" | "page_down" => KeyCodeSpec::PageDown,
            "home" => KeyCodeSpec::Home,
            "end" => KeyCodeSpec::End,
            "delete" | "del" => KeyCodeSpec::Delete,
            "space" => KeyCodeSpec::Char(' '),
            f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) => {
                KeyCodeSpec::F(f[1..].parse().ok()?)
            }
            _ => {
                let mut chars = rest.chars();
                let c = chars.next()?;
                if chars.next().is_some() {
                    return None;
                }
                KeyCodeSpec::Char(if ctrl { c.to_ascii_lowercase() } else { c })
            }
        };
        Some(Key { code, ctrl, alt })
    }

    pub fn from_event(event: &KeyEvent) -> Option<Key> {
        let code = match event.code {
            KeyCode::Char(c) => KeyCodeSpec::Char(if event.modifiers.contains(KeyModifiers::CONTROL) {
                c.to_ascii_lowercase()
            } else {
                c
            }),
            KeyCode::Enter => KeyCodeSpec::Enter,
            KeyCode::Esc => KeyCodeSpec::Esc,
            KeyCode::Backspace => KeyCodeSpec::Backspace,
            KeyCode::Tab => KeyCodeSpec::Tab,
            KeyCode::BackTab => KeyCodeSpec::BackTab,
            KeyCode::Up => KeyCodeSpec::Up,
            KeyCode::Down => KeyCodeSpec::Down,
            KeyCode::Left => KeyCodeSpec::Left,
            KeyCode::Right => KeyCodeSpec::Right,
            KeyCode::PageUp => KeyCodeSpec::PageUp,
            KeyCode::PageDown => KeyCodeSpec::PageDown,
            KeyCode::Home => KeyCodeSpec::Home,
            KeyCode::End => KeyCodeSpec::End,
            KeyCode::Delete => KeyCodeSpec::Delete,
            KeyCode::F(n) => KeyCodeSpec::F(n),
            _ => return None,
        };
        Some(Key {
            code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
            alt: event.modifiers.contains(KeyModifiers::ALT),
        })
    }

    /// The key press this key stands for.
    pub fn event(&self) -> KeyEvent {
        let code = match self.code {
            KeyCodeSpec::Char(c) => KeyCode::Char(c),
            KeyCodeSpec::Enter => KeyCode::Enter,
            KeyCodeSpec::Esc => KeyCode::Esc,
            KeyCodeSpec::Backspace => KeyCode::Backspace,
            KeyCodeSpec::Tab => KeyCode::Tab,
            KeyCodeSpec::BackTab => KeyCode::BackTab,
            KeyCodeSpec::Up => KeyCode::Up,
            KeyCodeSpec::Down => KeyCode::Down,
            KeyCodeSpec::Left => KeyCode::Left,
            KeyCodeSpec::Right => KeyCode::Right,
            KeyCodeSpec::PageUp => KeyCode::PageUp,
            KeyCodeSpec::PageDown => KeyCode::PageDown,
            KeyCodeSpec::Home => KeyCode::Home,
            KeyCodeSpec::End => KeyCode::End,
            KeyCodeSpec::Delete => KeyCode::Delete,
            KeyCodeSpec::F(n) => KeyCode::F(n),
        };
        let mut modifiers = KeyModifiers::NONE;
        if self.ctrl {
            modifiers |= KeyModifiers::CONTROL;
        }
        if self.alt {
            modifiers |= KeyModifiers::ALT;
        }
        KeyEvent::new(code, modifiers)
    }

    /// How the key is shown in help and the hint bar.
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCodeSpec::Char(' ') => "space".to_owned(),
            KeyCodeSpec::Char(c) => c.to_string(),
            KeyCodeSpec::Enter => "enter".into(),
            KeyCodeSpec::Esc => "esc".into(),
            KeyCodeSpec::Backspace => "bksp".into(),
            KeyCodeSpec::Tab => "tab".into(),
            KeyCodeSpec::BackTab => "s-tab".into(),
            KeyCodeSpec::Up => "↑".into(),
            KeyCodeSpec::Down => "↓".into(),
            KeyCodeSpec::Left => "←".into(),
            KeyCodeSpec::Right => "→".into(),
            KeyCodeSpec::PageUp => "pgup".into(),
            KeyCodeSpec::PageDown => "pgdn".into(),
            KeyCodeSpec::Home => "home".into(),
            KeyCodeSpec::End => "end".into(),
            KeyCodeSpec::Delete => "del".into(),
            KeyCodeSpec::F(n) => format!("F{n}"),
        };
        match (self.ctrl, self.alt) {
            (true, _) => format!("^{base}"),
            (_, true) => format!("M-{base}"),
            _ => base,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub mode: Mode,
    pub key: Key,
    pub action: KeyAction,
    pub description: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("keymap in {source_name}: {message}")]
pub struct KeymapError {
    pub source_name: String,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Vec<Binding>,
}

/// Actions that must always keep a key, or the console could not be left.
const ESSENTIAL: [(Mode, KeyAction); 2] = [(Mode::Global, KeyAction::Quit), (Mode::Global, KeyAction::Help)];

impl Default for Keymap {
    fn default() -> Self {
        let bindings = DEFAULTS
            .iter()
            .map(|&(mode, key, action, description)| Binding {
                mode,
                key: Key::parse(key).expect("default keys parse"),
                action,
                description: description.to_owned(),
            })
            .collect();
        Keymap { bindings }
    }
}

impl Keymap {
    /// Applies `[keys.MODE]` tables from the config file at `source_name`.
    pub fn with_overrides(overrides: &toml::Table, source_name: &str) -> Result<Keymap, KeymapError> {
        let err = |message: String| KeymapError { source_name: source_name.to_owned(), message };
        let mut keymap = Keymap::default();
        for (mode_name, table) in overrides {
            let mode = Mode::parse(mode_name)
                .ok_or_else(|| err(format!("[keys.{mode_name}]: unknown mode; modes: {}", Mode::allowed())))?;
            let table = table
                .as_table()
                .ok_or_else(|| err(format!("[keys.{mode_name}] must be a table of \"key\" = \"action\"")))?;
            let mut seen: BTreeMap<Key, (String, KeyAction)> = BTreeMap::new();
            for (spelling, action) in table {
                let key = Key::parse(spelling).ok_or_else(|| {
                    err(format!(
                        "keys.{mode_name}.{spelling:?}: not a key; write a character, enter, esc, ctrl-x, alt-x, f1, …"
                    ))
                })?;
                let action_name =
                    action.as_str().ok_or_else(|| err(format!("keys.{mode_name}.{spelling:?} must name an action")))?;
                let action = KeyAction::parse(action_name).ok_or_else(|| {
                    err(format!(
                        "keys.{mode_name}.{spelling:?}: unknown action {action_name:?}; actions: {}",
                        KeyAction::allowed()
                    ))
                })?;
                if let Some((other, other_action)) = seen.get(&key).filter(|(_, a)| *a != action) {
                    return Err(err(format!(
                        "keys.{mode_name}: {spelling:?} and {other:?} are the same key, bound to both {action} and {other_action}"
                    )));
                }
                seen.insert(key, (spelling.clone(), action));
                keymap.bindings.retain(|b| !(b.mode == mode && b.key == key));
                keymap.bindings.push(Binding { mode, key, action, description: action.as_str().replace('_', " ") });
            }
        }
        for (mode, action) in ESSENTIAL {
            if !keymap.bindings.iter().any(|b| b.mode == mode && b.action == action) {
                return Err(err(format!("{action} has no key left in [keys.{mode}]; bind one")));
            }
        }
        Ok(keymap)
    }

    /// The action for a key press in `mode`: the mode's own binding first,
    /// then the global one.
    pub fn lookup(&self, mode: Mode, event: &KeyEvent) -> Option<KeyAction> {
        let key = Key::from_event(event)?;
        let find = |m: Mode| self.bindings.iter().find(|b| b.mode == m && b.key == key).map(|b| b.action);
        find(mode).or_else(|| find(Mode::Global))
    }

    /// Bindings that apply in `mode`, its own first: for help and the hint bar.
    pub fn bindings_for(&self, mode: Mode) -> Vec<&Binding> {
        let own: Vec<&Binding> = self.bindings.iter().filter(|b| b.mode == mode).collect();
        let global = self.bindings.iter().filter(|b| b.mode == Mode::Global && !own.iter().any(|o| o.key == b.key));
        own.iter().copied().chain(global).collect()
    }

    /// Each action that applies in `mode` with all its keys, in table
    /// order: for the help overlay.
    pub fn actions(&self, mode: Mode) -> Vec<ActionKeys> {
        by_action(self.bindings_for(mode))
    }

    /// "key action" pairs for the hint bar, one per action, in table order.
    pub fn hints(&self, mode: Mode) -> Vec<(String, String)> {
        self.actions(mode).into_iter().map(|a| (a.keys[0].label(), a.description)).collect()
    }
}

/// One action and every key bound to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionKeys {
    pub action: KeyAction,
    /// Never empty.
    pub keys: Vec<Key>,
    /// The first binding's description.
    pub description: String,
}

/// Groups bindings by action, keeping the order of each action's first key.
fn by_action<'a>(bindings: impl IntoIterator<Item = &'a Binding>) -> Vec<ActionKeys> {
    let mut grouped: Vec<ActionKeys> = Vec::new();
    for b in bindings {
        match grouped.iter_mut().find(|a| a.action == b.action) {
            Some(a) => a.keys.push(b.key),
            None => {
                grouped.push(ActionKeys { action: b.action, keys: vec![b.key], description: b.description.clone() })
            }
        }
    }
    grouped
}

/// The default keymap as a Markdown table, for `docs/console.md` (a test keeps
/// the two the same).
pub fn markdown() -> String {
    let keymap = Keymap::default();
    let mut out = String::from("| where | keys | does |\n|---|---|---|\n");
    for mode in Mode::ALL {
        let place = match mode {
            Mode::Global => "everywhere".to_owned(),
            other => other.as_str().replace('_', " "),
        };
        for a in by_action(keymap.bindings.iter().filter(|b| b.mode == *mode)) {
            let keys: Vec<String> = a.keys.iter().map(|k| format!("`{}`", k.label())).collect();
            out.push_str(&format!("| {place} | {} | {} |\n", keys.join(" "), a.description));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    fn overrides(text: &str) -> Result<Keymap, KeymapError> {
        let doc: toml::Table = toml::from_str(text).unwrap();
        Keymap::with_overrides(doc["keys"].as_table().unwrap(), "/home/u/.config/mandate/config.toml")
    }

    #[test]
    fn interventions_and_verdicts_keep_their_config_spelling() {
        for action in KeyAction::ALL {
            assert_eq!(KeyAction::parse(action.as_str()), Some(*action), "{action}");
        }
        assert_eq!(KeyAction::parse("pause_agent"), Some(KeyAction::Intervene(InterventionKind::PauseAgent)));
        assert_eq!(KeyAction::parse("Confirm_Cause"), Some(KeyAction::Judge(Verdict::Confirmed)));
        assert_eq!(KeyAction::parse("mark_unrelated"), Some(KeyAction::Judge(Verdict::Rejected)));
        let every_kind = InterventionKind::ALL.iter().all(|k| KeyAction::ALL.contains(&KeyAction::Intervene(*k)));
        assert!(every_kind, "every intervention has its action");
    }

    #[test]
    fn defaults_dispatch_mode_first_then_global() {
        let k = Keymap::default();
        assert_eq!(k.lookup(Mode::Incidents, &press(KeyCode::Char('j'), KeyModifiers::NONE)), Some(KeyAction::Down));
        assert_eq!(k.lookup(Mode::Incidents, &press(KeyCode::Char('q'), KeyModifiers::NONE)), Some(KeyAction::Quit));
        assert_eq!(k.lookup(Mode::Incident, &press(KeyCode::Char('q'), KeyModifiers::NONE)), Some(KeyAction::Back));
        assert_eq!(k.lookup(Mode::Help, &press(KeyCode::Char('?'), KeyModifiers::NONE)), Some(KeyAction::Close));
        assert_eq!(k.lookup(Mode::Incident, &press(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(KeyAction::Quit));
        assert_eq!(k.lookup(Mode::Incidents, &press(KeyCode::Char('G'), KeyModifiers::SHIFT)), Some(KeyAction::Bottom));
        assert_eq!(k.lookup(Mode::Incidents, &press(KeyCode::Char('z'), KeyModifiers::NONE)), None);
    }

    #[test]
    fn the_default_table_has_no_clash() {
        let k = Keymap::default();
        for (i, a) in k.bindings.iter().enumerate() {
            for b in &k.bindings[i + 1..] {
                assert!(!(a.mode == b.mode && a.key == b.key), "{a:?} and {b:?}");
            }
        }
    }

    #[test]
    fn overrides_replace_and_add() {
        let k = overrides("[keys.incidents]\n\"x\" = \"open\"\n\"enter\" = \"filter\"\n").unwrap();
        assert_eq!(k.lookup(Mode::Incidents, &press(KeyCode::Char('x'), KeyModifiers::NONE)), Some(KeyAction::Open));
        assert_eq!(k.lookup(Mode::Incidents, &press(KeyCode::Enter, KeyModifiers::NONE)), Some(KeyAction::Filter));
        assert!(k.hints(Mode::Incidents).contains(&("x".to_owned(), "open".to_owned())));
    }

    #[test]
    fn each_bad_keymap_gets_an_exact_error() {
        let file = "keymap in /home/u/.config/mandate/config.toml: ";
        let cases = [
            (
                "[keys.incidents]\n\"enter\" = \"open\"\n\"return\" = \"filter\"\n",
                "keys.incidents: \"return\" and \"enter\" are the same key, bound to both filter and open",
            ),
            (
                "[keys.incidents]\n\"x\" = \"explode\"\n",
                "keys.incidents.\"x\": unknown action \"explode\"; actions: quit, help,",
            ),
            (
                "[keys.lobby]\n\"x\" = \"quit\"\n",
                "[keys.lobby]: unknown mode; modes: global, incidents, incident, blast_radius,",
            ),
            ("[keys.incidents]\n\"ctrl-\" = \"quit\"\n", "keys.incidents.\"ctrl-\": not a key"),
            (
                "[keys.global]\n\"ctrl-c\" = \"help\"\n\"?\" = \"refresh\"\n",
                "quit has no key left in [keys.global]; bind one",
            ),
        ];
        for (text, expected) in cases {
            let err = overrides(text).unwrap_err().to_string();
            assert!(err.starts_with(file) && err.contains(expected), "{err}");
        }
    }

    #[test]
    fn keys_have_one_meaning_across_spellings() {
        assert_eq!(Key::parse("Ctrl-C"), Key::parse("c-c"));
        assert_eq!(Key::parse("return"), Key::parse("enter"));
        assert_ne!(Key::parse("g"), Key::parse("G"));
        assert_eq!(Key::parse("ctrl-c").unwrap().label(), "^c");
    }
}
