//! What sits over a screen and takes every key while it is up: help, the
//! filter or command line, a confirmation dialog, the quit prompt. Only one
//! is up at a time; the screen under it keeps its state. The functions here
//! change nothing of the app: they say what the overlay became and what the
//! app is asked to do ([`Outcome`]), and the app does it.

use super::app::{COMMANDS, Effect, Screen};
use super::intent::{Dialog, DialogOutcome, Plan};
use super::keymap::{KeyAction, Keymap, Mode};
use super::sanitize::clean_typed;
use super::screens::Scroll;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    /// The keys of the screen, the `:` commands and the legend, scrolled
    /// like any text screen when they do not all fit.
    Help {
        scroll: Scroll,
    },
    Input(Input),
    Dialog(Box<Dialog>),
    /// "Quit mandate?": only `y` quits, so a run of `q` never leaves.
    Quit,
    /// The bottom line's messages, again (`:messages`), newest last.
    Messages {
        scroll: Scroll,
    },
    /// One entry of a list, whole (Enter on an audit entry, a notification).
    Reading {
        reading: Box<crate::console::screens::Reading>,
        scroll: Scroll,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Filter(String),
    Command(String),
}

/// What a key or a paste on the overlay came to.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The overlay that stays up, if any.
    pub overlay: Option<Overlay>,
    /// What the app is asked to do, in this order.
    pub asks: Vec<Ask>,
}

/// Something the app is asked to do.
#[derive(Debug)]
pub enum Ask {
    /// Show this notice; None clears it.
    Notice(Option<String>),
    /// Filter the list by what is typed so far.
    Filter(String),
    /// The filter typed is kept (Enter): Esc no longer brings the old one back.
    KeepFilter(String),
    /// Editing cancelled: the filter as it was before.
    RestoreFilter,
    /// Open incident N (`:123`, `:#123`).
    OpenIncident(i64),
    /// Back to the incident list (`:incidents`).
    List,
    /// Open a screen (`:agents`, …).
    Open(Screen),
    /// Show the messages shown so far (`:messages`).
    Messages,
    /// Send the intervention confirmed in a dialog.
    Send(Box<Plan>),
    /// Confirm this plan in a dialog (`:stop …`, `:lift …`).
    Plan(Box<Plan>),
    Effect(Effect),
}

impl Overlay {
    /// The scroll of an overlay that is text to read.
    fn text_scroll(&mut self) -> Option<&mut Scroll> {
        match self {
            Overlay::Help { scroll } | Overlay::Messages { scroll } | Overlay::Reading { scroll, .. } => Some(scroll),
            Overlay::Input(_) | Overlay::Dialog(_) | Overlay::Quit => None,
        }
    }
}

impl Outcome {
    fn up(overlay: Overlay) -> Outcome {
        Outcome { overlay: Some(overlay), asks: vec![] }
    }

    fn closed(asks: Vec<Ask>) -> Outcome {
        Outcome { overlay: None, asks }
    }

    fn say(text: impl Into<String>) -> Ask {
        Ask::Notice(Some(text.into()))
    }
}

/// A key for the overlay that is up. The overlay stays up unless the key
/// closed it.
pub fn on_key(mut overlay: Overlay, key: KeyEvent, keymap: &Keymap) -> Outcome {
    // Help, the messages and an entry read whole close with the keys the
    // keymap gives help, and scroll; a notice stays up while they are read.
    if let Some(scroll) = overlay.text_scroll() {
        let closed = reading_key(scroll, keymap, key);
        return closed.unwrap_or_else(|| Outcome::up(overlay));
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let mut outcome = match overlay {
        // Text to read was answered above.
        Overlay::Help { .. } | Overlay::Messages { .. } | Overlay::Reading { .. } => Outcome::up(overlay),
        Overlay::Quit => match key.code {
            KeyCode::Char('y' | 'Y') if !ctrl => Outcome::closed(vec![Ask::Effect(Effect::Quit)]),
            KeyCode::Char('c') if ctrl => Outcome::closed(vec![Ask::Effect(Effect::Quit)]),
            _ => Outcome::closed(vec![Outcome::say("still here")]),
        },
        Overlay::Input(input) => on_input(input, key),
        Overlay::Dialog(mut dialog) => match dialog.on_key(key) {
            DialogOutcome::Open => Outcome::up(Overlay::Dialog(dialog)),
            DialogOutcome::Cancelled => {
                Outcome::closed(vec![Outcome::say(format!("cancelled: {} (nothing sent)", dialog.plan.label()))])
            }
            DialogOutcome::Confirmed(plan) => Outcome::closed(vec![Ask::Send(plan)]),
        },
    };
    // Any other overlay's key clears the notice first.
    outcome.asks.insert(0, Ask::Notice(None));
    outcome
}

/// A key on text being read: closes it (Some), or scrolls it (None: it stays).
fn reading_key(scroll: &mut Scroll, keymap: &Keymap, key: KeyEvent) -> Option<Outcome> {
    match keymap.lookup(Mode::Help, &key) {
        Some(KeyAction::Close) => Some(Outcome::closed(vec![])),
        Some(KeyAction::Quit) => Some(Outcome::closed(vec![Ask::Effect(Effect::Quit)])),
        Some(action) => {
            scroll.on_key(action);
            None
        }
        None => None,
    }
}

/// Pasted text, bracketed by the terminal or a burst of keys: text goes into
/// the text field that is up; anywhere else it is dropped, never taken as
/// keys.
pub fn on_paste(overlay: Option<Overlay>, text: &str) -> Outcome {
    match overlay {
        Some(Overlay::Input(Input::Filter(mut t))) => {
            t.push_str(&clean_typed(text, false));
            Outcome { asks: vec![Ask::Filter(t.clone())], overlay: Some(Overlay::Input(Input::Filter(t))) }
        }
        Some(Overlay::Input(Input::Command(mut t))) => {
            t.push_str(&clean_typed(text, false));
            Outcome::up(Overlay::Input(Input::Command(t)))
        }
        Some(Overlay::Dialog(mut dialog)) => {
            dialog.paste(text);
            Outcome::up(Overlay::Dialog(dialog))
        }
        other => {
            let n = text.chars().count();
            let said = format!(
                "ignored pasted text ({n} character{}): a paste is never taken as keys",
                if n == 1 { "" } else { "s" }
            );
            Outcome { overlay: other, asks: vec![Outcome::say(said)] }
        }
    }
}

fn on_input(input: Input, key: KeyEvent) -> Outcome {
    let (mut text, is_filter) = match input {
        Input::Filter(t) => (t, true),
        Input::Command(t) => (t, false),
    };
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let mut asks = Vec::new();
    match key.code {
        // Esc cancels: the filter goes back to what it was before.
        KeyCode::Esc if is_filter => return Outcome::closed(vec![Ask::RestoreFilter]),
        KeyCode::Esc => return Outcome::closed(vec![]),
        KeyCode::Char('c') if ctrl => return Outcome::closed(vec![]),
        KeyCode::Enter if is_filter => return Outcome::closed(vec![Ask::KeepFilter(text)]),
        KeyCode::Enter => return Outcome::closed(run_command(text.trim())),
        KeyCode::Tab if !is_filter => {
            let typed = text.trim().to_owned();
            let matches: Vec<&&str> = COMMANDS.iter().filter(|c| c.starts_with(&typed)).collect();
            match matches.as_slice() {
                [one] => text = format!("{one} "),
                [] => asks.push(Outcome::say(format!("no command starts with {typed:?}"))),
                many => {
                    let common = common_prefix(many);
                    if common.len() > typed.len() {
                        text = common;
                    }
                    asks.push(Outcome::say(many.iter().map(|c| format!(":{c}")).collect::<Vec<_>>().join("  ")));
                }
            }
        }
        KeyCode::Char('u') if ctrl => text.clear(),
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char(c) if !ctrl => text.push(c),
        _ => {}
    }
    if is_filter {
        // The list filters as you type.
        asks.push(Ask::Filter(text.clone()));
        Outcome { overlay: Some(Overlay::Input(Input::Filter(text))), asks }
    } else {
        Outcome { overlay: Some(Overlay::Input(Input::Command(text))), asks }
    }
}

/// `:stop fleet`, `:stop agents deployer-*`, `:stop agent NAME`, `:stop run
/// RUN`, and the same with `:lift`.
fn stop_plan(verb: &str, scope: Option<&str>, target: Option<&str>) -> Result<Plan, String> {
    use crate::api::StopScope;
    let usage = format!("usage: :{verb} fleet | :{verb} agents PREFIX* | :{verb} agent NAME | :{verb} run RUN");
    let scope = scope.and_then(StopScope::parse).ok_or_else(|| usage.clone())?;
    let target = match (scope, target) {
        (StopScope::Fleet, _) => "*".to_owned(),
        (StopScope::Agents, Some(t)) if t.len() > 1 && t.ends_with('*') && !t[..t.len() - 1].contains('*') => {
            t.to_owned()
        }
        (StopScope::Agents, Some(t)) => return Err(format!("agents are named by a prefix ending in *, such as {t}*")),
        (_, Some(t)) if !t.contains('*') => t.to_owned(),
        _ => return Err(usage),
    };
    let what = if verb == "stop" { super::intent::What::Stop } else { super::intent::What::Lift };
    Ok(Plan::stop(what, scope, target))
}

fn common_prefix(words: &[&&str]) -> String {
    let first = words[0];
    let mut end = first.len();
    for w in &words[1..] {
        end = end.min(first.bytes().zip(w.bytes()).take_while(|(a, b)| a == b).count());
    }
    first[..end].to_owned()
}

/// `:incidents`, `:audit`, `:123` (or `#123`: open incident 123), `:theme NAME`, `:q`.
fn run_command(line: &str) -> Vec<Ask> {
    let mut words = line.split_whitespace();
    let first = words.next();
    if let Some(id) = first.map(|w| w.trim_start_matches('#')).and_then(|w| w.parse::<i64>().ok()) {
        return vec![Ask::OpenIncident(id)];
    }
    let open = |screen| vec![Ask::Open(screen)];
    match (first, words.next()) {
        (Some("q" | "quit"), _) => vec![Ask::Effect(Effect::Quit)],
        (Some("incidents"), _) => vec![Ask::List],
        (Some("messages" | "m"), _) => vec![Ask::Messages],
        (Some(verb @ ("stop" | "lift")), scope) => match stop_plan(verb, scope, words.next()) {
            Ok(plan) => vec![Ask::Plan(Box::new(plan))],
            Err(usage) => vec![Outcome::say(usage)],
        },
        (Some("theme"), Some(name)) => vec![Ask::Effect(Effect::SetTheme(name.to_owned()))],
        (Some("theme"), None) => {
            vec![Outcome::say(format!("usage: :theme NAME ({})", super::theme::Theme::names().join(", ")))]
        }
        (Some("activity"), _) => open(Screen::Activity),
        (Some("agents"), _) => open(Screen::Agents),
        (Some("audit"), _) => open(Screen::Audit),
        (Some("attribution"), _) => open(Screen::Attribution),
        (Some("routing"), _) => open(Screen::Routing),
        (Some("notifications"), _) => open(Screen::Notifications),
        (Some("silences"), _) => open(Screen::Silences),
        (Some("approvals"), _) => open(Screen::Approvals),
        (Some("calibration"), _) => open(Screen::Calibration),
        (Some("patterns"), _) => open(Screen::Patterns),
        (Some(other), _) => {
            vec![Outcome::say(format!("unknown command :{other} (Tab completes: {})", COMMANDS.join(", ")))]
        }
        (None, _) => vec![],
    }
}
